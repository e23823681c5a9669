package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
)

// TestDemoPeoplePage: /demo/people lists the demo province's people by role,
// and the home page links it, only when civitas runs with --demo; without
// it the page does not exist and the home page does not name it.
func TestDemoPeoplePage(t *testing.T) {
	get := func(t *testing.T, url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, withDemo := range []bool{false, true} {
		name := "without --demo"
		if withDemo {
			name = "with --demo"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			cfg := config.Default()
			cfg.DB, cfg.DataDir, cfg.PublicURL = dbtest.Migrated(t), t.TempDir(), "http://civitas.test"
			cfg.Demo, cfg.DemoPersons = withDemo, 300
			a, err := New(ctx, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			srv := httptest.NewServer(a.Handler())
			defer srv.Close()

			_, home := get(t, srv.URL+"/?lang=en")
			linked := strings.Contains(home, `href="`+demo.PeoplePath+`"`)
			status, page := get(t, srv.URL+demo.PeoplePath+"?lang=en")
			if !withDemo {
				if linked {
					t.Error("the home page links the demo people without --demo")
				}
				if status != http.StatusNotFound {
					t.Errorf("%s without --demo: status %d, want 404", demo.PeoplePath, status)
				}
				return
			}
			if !linked {
				t.Error("the home page does not link the demo people with --demo")
			}
			if status != http.StatusOK {
				t.Fatalf("%s: status %d, want 200", demo.PeoplePath, status)
			}
			// The people of each role are those `civitas demo people` lists.
			for _, role := range demo.Roles {
				var people []demo.DemoPerson
				if err := a.db.View(ctx, func(tx *db.Tx) error {
					people, err = demo.PeopleByRole(ctx, tx, role, a.clock.Now().In(kernel.Zone()), 1)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(page, `id="demo-`+role+`"`) {
					t.Errorf("no section for %s", role)
				}
				if len(people) == 0 {
					t.Errorf("the demo province of %d has no %s to check the page with", cfg.DemoPersons, role)
					continue
				}
				if !strings.Contains(page, people[0].CitizenID) || !strings.Contains(page, people[0].FullName) {
					t.Errorf("the page does not list %s %s (%s)", role, people[0].CitizenID, people[0].FullName)
				}
			}
			for _, lang := range []string{"vi", "ar"} {
				if status, _ := get(t, srv.URL+demo.PeoplePath+"?lang="+lang); status != http.StatusOK {
					t.Errorf("%s in %s: status %d", demo.PeoplePath, lang, status)
				}
			}
		})
	}
}
