package exchange_test

import (
	"net/url"
	"strings"
	"testing"

	"civitas/internal/exchange"
	"civitas/internal/registry"
)

// TestDesk: an official at a level-2 desk looks a person up across the
// registries their agency is granted, naming purpose and case; without a
// purpose nothing is asked. The person sees the official's post.
func TestDesk(t *testing.T) {
	e := newEnv(t)
	police := e.agency(registry.Police, true)
	ps := e.persons(func(registry.Person) bool { return true })
	officer, subject := ps[0], ps[1]
	e.accounts.citizens["acct-officer"] = officer.CitizenID
	e.officials["acct-officer"] = []exchange.Post{{Agency: police, Role: registry.PoliceOfficer}}
	e.accounts.citizens["acct-subject"] = subject.CitizenID
	e.grant(exchange.DeskConsumer(police.Code), "population.person", "full_name", "birth_date")
	e.grant(exchange.DeskConsumer(police.Code), "vehicle.of_owner", "plate", "make")

	if st, loc := e.browser("acct-officer", true).get("/officer/lookup"); st != 303 || !strings.HasPrefix(loc, "/login?acr=level2") {
		t.Fatalf("a level-1 session: %d %s", st, loc)
	}
	if st, loc := e.browser("", false).get("/officer/lookup"); st != 303 || !strings.HasPrefix(loc, "/login?next=") {
		t.Fatalf("anonymous: %d %s", st, loc)
	}
	if st, _ := e.browser("acct-subject", false).get("/officer/lookup"); st != 403 {
		t.Fatalf("a citizen without a post: %d", st)
	}
	b := e.browser("acct-officer", false)
	st, page := b.get("/officer/lookup")
	if st != 200 || !strings.Contains(page, `name="purpose" id="purpose" required`) || !strings.Contains(page, `value="vehicle.of_owner"`) {
		t.Fatalf("the desk: %d %.600s", st, page)
	}
	form := func(purpose, caseRef string, services ...string) url.Values {
		v := url.Values{"agency": {police.Code}, "citizen_id": {subject.CitizenID}, "case_ref": {caseRef}, "service": services}
		if purpose != "" {
			v.Set("purpose", purpose)
		}
		return v
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"fail/no purpose", form("", "VV-1", "population.person"), 400, `id="desk-error"`},
		{"fail/an unknown purpose", form("gossip", "VV-1", "population.person"), 400, `id="desk-error"`},
		{"fail/no case", form("law_enforcement", "", "population.person"), 400, `id="desk-error"`},
		{"fail/no service", form("law_enforcement", "VV-1"), 400, `id="desk-error"`},
		{"ok/a look-up", form("law_enforcement", "VV-1", "population.person", "vehicle.of_owner"), 200, subject.FullName},
		{"ok/an ungranted service is refused alone", form("law_enforcement", "VV-2", "insurance.card", "population.person"), 200, `class="alert result-error"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, page := b.post("/officer/lookup", "/officer/lookup", tc.form)
			if st != tc.status || !strings.Contains(page, tc.want) {
				t.Fatalf("%d %.2000s", st, page)
			}
		})
	}
	uses := e.uses(subject.CitizenID)
	if len(uses) != 3 {
		t.Fatalf("%d reads: %+v", len(uses), uses)
	}
	for _, u := range uses {
		if u.Channel != exchange.ChannelDesk || u.Post != string(registry.PoliceOfficer) || u.ReaderName != police.Name ||
			u.Consumer != exchange.DeskConsumer(police.Code) || u.Purpose != "law_enforcement" {
			t.Fatalf("%+v", u)
		}
	}
	// The person sees the post, in their language.
	_, page = e.browser("acct-subject", false).get("/account/data-use?lang=en")
	if !strings.Contains(page, "(Police officer)") || !strings.Contains(page, "VV-2") {
		t.Fatalf("the person's page: %.3000s", page)
	}
	// A level-1 session's form is refused.
	if st, _ := e.browser("acct-officer", true).post("/test/csrf", "/officer/lookup", form("law_enforcement", "VV-3", "population.person")); st != 403 {
		t.Fatalf("a form from a level-1 session: %d", st)
	}
}
