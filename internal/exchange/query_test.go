package exchange_test

import (
	"crypto/x509"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/exchange"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// TestQueryRules is the API's contract: no answer without a purpose, a
// case and a grant; no field outside the grant; 404 only for a subject the
// registry does not know; clear problems, never a 500, for bad input.
func TestQueryRules(t *testing.T) {
	e := newEnv(t)
	hcc := e.agency(registry.ServiceCentre, true)
	tok := e.client("hcc-sys", hcc.Code)
	e.grant("hcc-sys", "population.person", "citizen_id", "full_name", "birth_date")
	e.grant("hcc-sys", "insurance.card", "card_number", "valid_to")
	withPhone := e.persons(func(p registry.Person) bool { return p.Phone != "" })[0]
	cards := map[string]bool{}
	rows, err := e.d.Query(e.ctx, "SELECT citizen_id FROM insurance_cards")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		cards[id] = true
	}
	rows.Close()
	noCard := e.persons(func(p registry.Person) bool { return !cards[p.CitizenID] })[0]
	unknown := registry.FormatCitizenID("099", registry.Male, 1990, 999_999)

	for _, tc := range []struct {
		name, token, body string
		status            int
		want, never       string
	}{
		{"ok/the granted fields", tok, body("population.person", withPhone.CitizenID, "administrative_procedure", "HS-1"), 200,
			`"full_name":"` + withPhone.FullName + `"`, `"phone"`},
		{"ok/a known person without a card gets empty data", tok, body("insurance.card", noCard.CitizenID, "health_care", "HS-2"), 200, `"data":{}`, "card_number"},
		{"fail/no purpose", tok, body("population.person", withPhone.CitizenID, "", "HS-1"), 400, `"code":"invalid"`, "full_name"},
		{"fail/an unknown purpose", tok, body("population.person", withPhone.CitizenID, "curiosity", "HS-1"), 400, `"code":"invalid"`, "full_name"},
		{"fail/no case", tok, body("population.person", withPhone.CitizenID, "tax", " "), 400, `"code":"invalid"`, "full_name"},
		{"fail/no grant of the service", tok, body("vehicle.of_owner", withPhone.CitizenID, "tax", "HS-1"), 403, `"code":"forbidden"`, "plate"},
		{"fail/an unknown subject", tok, body("population.person", unknown, "tax", "HS-1"), 404, `"code":"not_found"`, ""},
		{"fail/an unknown service", tok, body("population.nothing", withPhone.CitizenID, "tax", "HS-1"), 400, `"code":"invalid"`, ""},
		{"fail/a remote service of no peer", tok, body("population.person@nowhere", withPhone.CitizenID, "tax", "HS-1"), 400, `"code":"invalid"`, ""},
		{"fail/bad JSON", tok, `{"service": "population.person", `, 400, `"code":"invalid"`, ""},
		{"fail/an unknown member", tok, `{"service":"population.person","subject":{"citizen_id":"` + withPhone.CitizenID + `"},"purpose":"tax","case_ref":"x","fields":["phone"]}`, 400, `"code":"invalid"`, "phone"},
		{"fail/a number for a subject", tok, `{"service":"population.person","subject":{"citizen_id":99},"purpose":"tax","case_ref":"x"}`, 400, `"code":"invalid"`, ""},
		{"fail/an oversized subject", tok, body("population.person", strings.Repeat("1", 5000), "tax", "HS-1"), 400, `"code":"invalid"`, ""},
		{"fail/two subjects", tok, `{"service":"population.person","subject":{"citizen_id":"` + withPhone.CitizenID + `","reg_number":"0100000001"},"purpose":"tax","case_ref":"x"}`, 400, `"code":"invalid"`, ""},
		{"fail/an enterprise for a person's service", tok, `{"service":"population.person","subject":{"reg_number":"0100000001"},"purpose":"tax","case_ref":"x"}`, 400, `"code":"invalid"`, ""},
		{"fail/a body too large", tok, `{"service":"` + strings.Repeat("a", 20000) + `"}`, 413, `"code":"body_too_large"`, ""},
		{"fail/no token", "", body("population.person", withPhone.CitizenID, "tax", "HS-1"), 401, `"code":"unauthenticated"`, "full_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.query(tc.token, tc.body)
			if a.status != tc.status || !strings.Contains(a.body, tc.want) || tc.never != "" && strings.Contains(a.body, tc.never) {
				t.Fatalf("%d %s", a.status, a.body)
			}
		})
	}
	// Only the granted fields were read, and only the answered queries logged.
	uses := e.uses(withPhone.CitizenID)
	if len(uses) != 1 || !slices.Equal(uses[0].Fields, []string{"citizen_id", "full_name", "birth_date"}) || uses[0].Purpose != "administrative_procedure" {
		t.Fatalf("the log of %s: %+v", withPhone.CitizenID, uses)
	}
	if uses := e.uses(noCard.CitizenID); len(uses) != 1 || len(uses[0].Fields) != 0 || uses[0].Service != "insurance.card" {
		t.Fatalf("the empty answer is a read too: %+v", uses)
	}
}

// TestNoFieldOutsideTheGrant asks every service with a grant of one field:
// the data holds that field alone, whatever the registry holds.
func TestNoFieldOutsideTheGrant(t *testing.T) {
	e := newEnv(t)
	tok := e.client("min", e.agency(registry.ServiceCentre, true).Code)
	owner := ""
	if err := e.d.QueryRow(e.ctx, "SELECT owner_citizen_id FROM vehicles LIMIT 1").Scan(&owner); err != nil {
		t.Fatal(err)
	}
	for _, sp := range e.x.Catalogue().Specs() {
		if sp.Subject != exchange.SubjectPerson {
			continue
		}
		for _, f := range sp.FieldNames() {
			e.grant("min", sp.Code, f)
			a := e.query(tok, body(sp.Code, owner, "inspection", "T-"+f))
			if a.status != 200 {
				t.Fatalf("%s %s: %d %s", sp.Code, f, a.status, a.body)
			}
			var data map[string]any
			if err := json.Unmarshal(a.data, &data); err != nil {
				t.Fatal(err)
			}
			check := func(rec map[string]any) {
				for k := range rec {
					if k != f {
						t.Errorf("%s granted %s answered %s: %s", sp.Code, f, k, a.data)
					}
				}
			}
			if items, ok := data["items"].([]any); ok && sp.List {
				for _, it := range items {
					check(it.(map[string]any))
				}
			} else {
				check(data)
			}
		}
	}
}

// TestAnotherAgencysGrant: a grant is its consumer's alone; a client of
// another agency, an official of another agency at the desk, a client
// named like a peer's consumer get nothing.
func TestAnotherAgencysGrant(t *testing.T) {
	e := newEnv(t)
	p := e.persons(func(registry.Person) bool { return true })[0]
	police := e.agency(registry.Police, true)
	tax := e.agency(registry.Tax, true)
	mine := e.client("police-sys", police.Code)
	theirs := e.client("tax-sys", tax.Code)
	lookalike := e.client("peer1:police-sys", tax.Code)
	e.grant("police-sys", "population.person", "full_name")
	e.grant("peer1:police-sys", "population.person", "full_name")
	e.grant(exchange.DeskConsumer(police.Code), "population.person", "full_name")
	q := body("population.person", p.CitizenID, "law_enforcement", "V-1")
	if a := e.query(mine, q); a.status != 200 {
		t.Fatalf("the grantee: %d %s", a.status, a.body)
	}
	for name, tok := range map[string]string{"another agency's client": theirs, "a client named like a peer's consumer": lookalike} {
		if a := e.query(tok, q); a.status != 403 {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	// At the desk: an official of the tax office cannot ask as the police.
	e.accounts.citizens["tax-officer"] = p.CitizenID
	e.officials["tax-officer"] = []exchange.Post{{Agency: tax, Role: registry.Officer}}
	b := e.browser("tax-officer", false)
	if st, page := b.get("/officer/lookup?agency=" + police.Code); st != 403 {
		t.Fatalf("another agency's desk: %d %.200s", st, page)
	}
	st, page := b.get("/officer/lookup")
	if st != 200 || !strings.Contains(page, `id="no-grants"`) {
		t.Fatalf("the tax office's own desk has no grant: %d %.300s", st, page)
	}
	if uses := e.uses(p.CitizenID); len(uses) != 1 || uses[0].Consumer != "police-sys" {
		t.Fatalf("only the grantee's read is logged: %+v", uses)
	}
}

// TestRevokedGrantStopsAtOnce: a revocation (or the end of a grant) made
// by another process on the same database holds at the next query.
func TestRevokedGrantStopsAtOnce(t *testing.T) {
	e := newEnv(t)
	p := e.persons(func(registry.Person) bool { return true })[0]
	tok := e.client("bhxh-sys", e.agency(registry.SocialInsurance, true).Code)
	e.grant("bhxh-sys", "population.person", "full_name")
	q := body("population.person", p.CitizenID, "social_insurance", "BH-1")
	if a := e.query(tok, q); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if err := e.exchangeAt().Revoke(e.ctx, "bhxh-sys", "population.person"); err != nil {
		t.Fatal(err)
	}
	if a := e.query(tok, q); a.status != 403 {
		t.Fatalf("after the revocation: %d %s", a.status, a.body)
	}
	if err := e.exchangeAt().Revoke(e.ctx, "bhxh-sys", "population.person"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("revoking twice: %v", err)
	}
	// A grant until a day holds through that day and not after.
	day := e.clock.Now().In(kernel.Zone()).Format(time.DateOnly)
	if _, err := e.exchangeAt().Grant(e.ctx, exchange.GrantRequest{Consumer: "bhxh-sys", Service: "population.person",
		Fields: []string{"full_name"}, Basis: "test", Until: day}); err != nil {
		t.Fatal(err)
	}
	if a := e.query(tok, q); a.status != 200 {
		t.Fatalf("within the grant: %d %s", a.status, a.body)
	}
	e.clock.Advance(25 * time.Hour)
	if a := e.query(tok, q); a.status != 403 {
		t.Fatalf("after its last day: %d %s", a.status, a.body)
	}
}

// TestGrantChecks: only known fields of known services, to consumers of a
// proper name, with a basis, by an operator.
func TestGrantChecks(t *testing.T) {
	e := newEnv(t)
	x := e.exchangeAt()
	police := e.agency(registry.Police, true).Code
	for _, tc := range []struct {
		name string
		in   exchange.GrantRequest
		code kernel.Code
	}{
		{"ok/a client", exchange.GrantRequest{Consumer: "c1", Service: "population.person", Fields: []string{"full_name"}, Basis: "b"}, ""},
		{"ok/a desk", exchange.GrantRequest{Consumer: "desk:" + police, Service: "population.person", Fields: []string{"full_name"}, Basis: "b"}, ""},
		{"ok/a peer's client", exchange.GrantRequest{Consumer: "songxanh:hcc", Service: "insurance.card", Fields: []string{"valid_to"}, Basis: "b"}, ""},
		{"ok/a peer's desk", exchange.GrantRequest{Consumer: "songxanh:desk:T01.CA", Service: "insurance.card", Fields: []string{"valid_to"}, Basis: "b"}, ""},
		{"fail/an unknown field", exchange.GrantRequest{Consumer: "c1", Service: "population.person", Fields: []string{"password"}, Basis: "b"}, kernel.Invalid},
		{"fail/no field", exchange.GrantRequest{Consumer: "c1", Service: "population.person", Fields: []string{" "}, Basis: "b"}, kernel.Invalid},
		{"fail/an unknown service", exchange.GrantRequest{Consumer: "c1", Service: "land.parcels", Fields: []string{"x"}, Basis: "b"}, kernel.Invalid},
		{"fail/no basis", exchange.GrantRequest{Consumer: "c1", Service: "population.person", Fields: []string{"full_name"}}, kernel.Invalid},
		{"fail/a desk of no agency", exchange.GrantRequest{Consumer: "desk:NOPE", Service: "population.person", Fields: []string{"full_name"}, Basis: "b"}, kernel.Invalid},
		{"fail/a bad name", exchange.GrantRequest{Consumer: "a b", Service: "population.person", Fields: []string{"full_name"}, Basis: "b"}, kernel.Invalid},
		{"fail/a past day", exchange.GrantRequest{Consumer: "c1", Service: "population.person", Fields: []string{"full_name"}, Basis: "b", Until: "2001-01-01"}, kernel.Invalid},
		{"fail/a bad day", exchange.GrantRequest{Consumer: "c1", Service: "population.person", Fields: []string{"full_name"}, Basis: "b", Until: "31/12/2030"}, kernel.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := x.Grant(e.ctx, tc.in)
			if kernel.ErrorCode(err) != tc.code {
				t.Fatalf("%v", err)
			}
		})
	}
	citizen := kernel.WithActor(e.ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: "someone"})
	if _, err := x.Grant(citizen, exchange.GrantRequest{Consumer: "c1", Service: "population.person", Fields: []string{"full_name"}, Basis: "b"}); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a citizen granting: %v", err)
	}
}

// TestReceipt: the receipt is the provider's seal over the query and the
// SHA-256 of the exact data bytes sent, chaining to the province's root.
func TestReceipt(t *testing.T) {
	e := newEnv(t)
	p := e.persons(func(registry.Person) bool { return true })[0]
	tok := e.client("hcc-sys", e.agency(registry.ServiceCentre, true).Code)
	e.grant("hcc-sys", "population.person", "full_name", "birth_date", "unit")
	a := e.query(tok, body("population.person", p.CitizenID, "administrative_procedure", "HS-77"))
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	root, err := e.ca.CA("root")
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	c, seal, err := exchange.VerifyReceipt(a.receipt, roots)
	if err != nil {
		t.Fatal(err)
	}
	police := e.agency(registry.Police, true)
	if c.Consumer != "hcc-sys" || c.Service != "population.person" || c.Subject != p.CitizenID || c.Purpose != "administrative_procedure" ||
		c.CaseRef != "HS-77" || c.Provider != police.Code || c.DataSHA256 != exchange.DataDigest(a.data) || c.IssuedAt == 0 {
		t.Fatalf("claims %+v", c)
	}
	if seal.Subject.CommonName != police.Name {
		t.Fatalf("sealed by %s", seal.Subject)
	}
	// Another province's root does not vouch for it.
	other := newEnv(t)
	oroot, _ := other.ca.CA("root")
	opool := x509.NewCertPool()
	opool.AddCert(oroot.Cert)
	if _, _, err := exchange.VerifyReceipt(a.receipt, opool); err == nil {
		t.Fatal("verified against another root")
	}
	// A byte changed in the payload breaks the signature.
	parts := strings.Split(a.receipt, ".")
	bad := parts[0] + "." + parts[1][:len(parts[1])-2] + "AA." + parts[2]
	if _, _, err := exchange.VerifyReceipt(bad, roots); err == nil {
		t.Fatal("a changed receipt verified")
	}
	// The log keeps the same receipt for the person.
	if uses := e.uses(p.CitizenID); len(uses) != 1 || uses[0].Receipt != a.receipt || uses[0].DataSHA256 != c.DataSHA256 {
		t.Fatalf("%+v", uses)
	}
}

// TestHouseholdMembersSeeTheRead: an answer carrying other persons' data
// (a household's members) is in their logs too, once each.
func TestHouseholdMembersSeeTheRead(t *testing.T) {
	e := newEnv(t)
	households := map[string][]registry.Person{}
	for _, p := range e.persons(func(registry.Person) bool { return true }) {
		households[p.HouseholdID] = append(households[p.HouseholdID], p)
	}
	var members []registry.Person
	for _, ms := range households {
		if len(ms) >= 3 {
			members = ms
			break
		}
	}
	if members == nil {
		t.Skip("no household of three in the demo")
	}
	tok := e.client("ca-sys", e.agency(registry.Police, false).Code)
	e.grant("ca-sys", "residence.household", "household_id", "members")
	a := e.query(tok, body("residence.household", members[0].CitizenID, "residence", "CT-1"))
	if a.status != 200 || !strings.Contains(string(a.data), members[1].CitizenID) {
		t.Fatalf("%d %s", a.status, a.body)
	}
	for i, m := range members {
		uses := e.uses(m.CitizenID)
		if len(uses) != 1 || uses[0].Related != (i > 0) {
			t.Fatalf("member %d: %+v", i, uses)
		}
	}
	// Without the members field, the others' data is not read.
	e.grant("ca-sys", "residence.household", "household_id")
	if a := e.query(tok, body("residence.household", members[0].CitizenID, "residence", "CT-2")); a.status != 200 {
		t.Fatal(a.body)
	}
	if uses := e.uses(members[1].CitizenID); len(uses) != 1 {
		t.Fatalf("a read without members is logged for a member: %+v", uses)
	}
}

// TestBusinessEnterprise: an enterprise's record is in its legal
// representative's log when it names them.
func TestBusinessEnterprise(t *testing.T) {
	e := newEnv(t)
	var reg, rep string
	if err := e.d.QueryRow(e.ctx, "SELECT reg_number, legal_rep_citizen_id FROM businesses LIMIT 1").Scan(&reg, &rep); err != nil {
		t.Skip("no business in the demo")
	}
	tok := e.client("thue-sys", e.agency(registry.Tax, true).Code)
	e.grant("thue-sys", "business.enterprise", "name", "legal_rep")
	a := e.query(tok, `{"service":"business.enterprise","subject":{"reg_number":"`+reg+`"},"purpose":"tax","case_ref":"T-1"}`)
	if a.status != 200 || !strings.Contains(string(a.data), rep) {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if uses := e.uses(rep); len(uses) != 1 || !slices.Equal(uses[0].Fields, []string{"legal_rep"}) {
		t.Fatalf("%+v", uses)
	}
	if a := e.query(tok, `{"service":"business.enterprise","subject":{"reg_number":"0999999999"},"purpose":"tax","case_ref":"T-1"}`); a.status != 404 {
		t.Fatalf("an unknown enterprise: %d %s", a.status, a.body)
	}
}

// TestPublicMetadata: the purposes, the services, their schemas and the
// OpenAPI document need no token.
func TestPublicMetadata(t *testing.T) {
	e := newEnv(t)
	b := e.browser("", false)
	for _, tc := range []struct{ path, want string }{
		{"/api/exchange/v1/purposes", `"code":"administrative_procedure","title":`},
		{"/api/exchange/v1/services", `"code":"population.person"`},
		{"/api/exchange/v1/services/insurance.card/schema", `"card_number"`},
		{"/api/exchange/v1/openapi.json", `"openapi": "3.1.0"`},
		{"/.well-known/civitas-exchange", `"peer_endpoint":"https://`},
	} {
		if st, page := b.get(tc.path); st != 200 || !strings.Contains(page, tc.want) {
			t.Errorf("%s: %d %.300s", tc.path, st, page)
		}
	}
	var ps []struct{ Code, Title string }
	_, page := b.get("/api/exchange/v1/purposes")
	if err := json.Unmarshal([]byte(page), &ps); err != nil || len(ps) != len(exchange.Purposes()) || ps[0].Title == "" {
		t.Fatalf("%v %s", err, page)
	}
}

// TestCivilStatusAndLand: the birth registration names the parents, whose
// data it is too; a person's parcels list the co-owners. Each is answered
// by its registry's owner in the catalogue of registries.
func TestCivilStatusAndLand(t *testing.T) {
	e := newEnv(t)
	var child, mother string
	if err := e.d.QueryRow(e.ctx, "SELECT citizen_id, mother_citizen_id FROM births WHERE mother_citizen_id <> '' LIMIT 1").Scan(&child, &mother); err != nil {
		t.Skip("no birth with a mother in the demo")
	}
	tok := e.client("tp-sys", e.agency(registry.ServiceCentre, true).Code)
	e.grant("tp-sys", "civil_status.birth", "full_name", "mother_name")
	a := e.query(tok, body("civil_status.birth", child, "civil_status", "KS-1"))
	if a.status != 200 || !strings.Contains(string(a.data), `"mother_name"`) || strings.Contains(string(a.data), "mother_citizen_id") {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if uses := e.uses(mother); len(uses) != 1 || !uses[0].Related || !slices.Equal(uses[0].Fields, []string{"mother_name"}) {
		t.Fatalf("the mother's log: %+v", uses)
	}
	owner, err := e.reg.RegistryOwner(e.ctx, registry.RegistryCivilStatus)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := e.ca.CA("root")
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	if c, _, err := exchange.VerifyReceipt(a.receipt, roots); err != nil || c.Provider != owner.Code {
		t.Fatalf("answered by %+v, the registry's owner is %s: %v", c, owner.Code, err)
	}
	var holder string
	if err := e.d.QueryRow(e.ctx, "SELECT owner_id FROM land_owners WHERE owner_kind = 'person' LIMIT 1").Scan(&holder); err != nil {
		t.Skip("no parcel held by a person in the demo")
	}
	e.grant("tp-sys", "land.parcels_of_owner", "parcel_id", "area_m2", "certificate")
	a = e.query(tok, body("land.parcels_of_owner", holder, "administrative_procedure", "DD-1"))
	if a.status != 200 || !strings.Contains(string(a.data), `"items":[{`) || strings.Contains(string(a.data), "owners") {
		t.Fatalf("%d %s", a.status, a.body)
	}
}
