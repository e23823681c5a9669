package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

// TestNavOfficialsOnly: the officials' document exchange (/edoc) is in the
// service navigation of an official, not in a citizen's nor an anonymous
// reader's; the other services are in everyone's.
func TestNavOfficialsOnly(t *testing.T) {
	ctx := kernel.WithActor(context.Background(), kernel.System("test"))
	cfg := config.Default()
	cfg.DB, cfg.DataDir, cfg.PublicURL, cfg.Demo, cfg.DemoPersons = dbtest.Migrated(t), t.TempDir(), "http://civitas.test", true, 300
	a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.web.HandleFunc("GET /test/nav-login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.web.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: kernel.ACRLevel2, AuthTime: time.Now()}); err != nil {
			a.web.Error(w, r, err)
		}
	})
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	account := func(role string) string {
		t.Helper()
		var people []demo.DemoPerson
		if err := a.db.View(ctx, func(tx *db.Tx) error {
			people, err = demo.PeopleByRole(ctx, tx, role, a.clock.Now().In(kernel.Zone()), 1)
			return err
		}); err != nil || len(people) == 0 {
			t.Fatalf("a demo %s: %v %v", role, people, err)
		}
		acct, err := a.identity.AddAccount(ctx, identity.NewAccount{CitizenID: people[0].CitizenID, Level: 2, Password: "nav test password 1"})
		if err != nil {
			t.Fatal(err)
		}
		return acct.ID
	}
	nav := func(acct string) string {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		if acct != "" {
			resp, err := c.Get(srv.URL + "/test/nav-login/" + acct)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		resp, err := c.Get(srv.URL + "/?lang=en")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		page := string(b)
		i := strings.Index(page, `class="service-nav"`)
		if i < 0 {
			t.Fatalf("no service navigation: %.400s", page)
		}
		page = page[i:]
		return page[:strings.Index(page, "</nav>")]
	}
	for _, tc := range []struct {
		name, acct string
		edoc       bool
	}{
		{"anonymous", "", false},
		{"citizen", account("citizen"), false},
		{"official", account("official"), true},
	} {
		n := nav(tc.acct)
		if got := strings.Contains(n, `href="/edoc"`); got != tc.edoc {
			t.Errorf("%s: the document exchange in the navigation is %v, want %v:\n%s", tc.name, got, tc.edoc, n)
		}
		if !strings.Contains(n, `href="/portal"`) {
			t.Errorf("%s: no public services in the navigation:\n%s", tc.name, n)
		}
	}
}
