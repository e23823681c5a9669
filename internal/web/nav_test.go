package web

import (
	"context"
	"strings"
	"testing"
)

func TestServiceNavigation(t *testing.T) {
	f := newFixture(t)
	f.srv.AddNav(NavItem{Key: "layout.account", Path: "/test/form", Order: 20, Who: SignedIn})
	f.srv.AddNav(NavItem{Key: "layout.sign_in", Path: "/test/plain", Order: 10})
	f.srv.AddNav(NavItem{Key: "layout.register", Path: "/test/part", Order: 30, Who: Anonymous})
	f.h = f.srv.Handler()

	body := f.do("GET", "/test/plain?lang=en", nil, "").Body.String()
	nav := body[strings.Index(body, `class="service-nav"`):]
	nav = nav[:strings.Index(nav, "</nav>")]
	home, plain, part := strings.Index(nav, `href="/"`), strings.Index(nav, `href="/test/plain"`), strings.Index(nav, `href="/test/part"`)
	if home < 0 || plain < 0 || part < 0 || !(home < plain && plain < part) {
		t.Fatalf("anonymous navigation in order home, plain, part:\n%s", nav)
	}
	if strings.Contains(nav, `href="/test/form"`) {
		t.Fatalf("a signed-in entry shown to an anonymous reader:\n%s", nav)
	}
	if !strings.Contains(nav, `href="/test/plain" aria-current="page"`) || strings.Contains(nav, `href="/" aria-current`) {
		t.Fatalf("current entry not marked:\n%s", nav)
	}

	cookie, token := f.session(t)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
	w := f.do("POST", "/test/login", form, "csrf_token="+token+"&account=acc-1")
	signed := cookieFrom(t, w.Result(), sessionCookie)
	body = f.do("GET", "/test/plain?lang=en", map[string]string{"Cookie": sessionCookie + "=" + signed.Value}, "").Body.String()
	if !strings.Contains(body, `href="/test/form"`) || strings.Contains(body, `href="/test/part"`) {
		t.Fatalf("signed-in navigation:\n%s", body)
	}
}

type fakeOfficials map[string]bool

func (f fakeOfficials) IsOfficial(_ context.Context, accountID string) (bool, error) {
	return f[accountID], nil
}

// An officials' entry shows to a signed-in official only, never to an
// anonymous reader nor to a signed-in reader without a post.
func TestServiceNavigationOfficials(t *testing.T) {
	f := newFixture(t)
	f.srv.AddNav(NavItem{Key: "layout.account", Path: "/test/form", Order: 20, Who: Officials})
	f.srv.SetOfficials(fakeOfficials{"acc-official": true})
	f.h = f.srv.Handler()
	navOf := func(account string) string {
		t.Helper()
		h := map[string]string{}
		if account != "" {
			cookie, token := f.session(t)
			w := f.do("POST", "/test/login", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}, "csrf_token="+token+"&account="+account)
			h["Cookie"] = sessionCookie + "=" + cookieFrom(t, w.Result(), sessionCookie).Value
		}
		body := f.do("GET", "/test/plain?lang=en", h, "").Body.String()
		nav := body[strings.Index(body, `class="service-nav"`):]
		return nav[:strings.Index(nav, "</nav>")]
	}
	for _, tc := range []struct {
		account string
		want    bool
	}{{"", false}, {"acc-citizen", false}, {"acc-official", true}} {
		if got := strings.Contains(navOf(tc.account), `href="/test/form"`); got != tc.want {
			t.Errorf("account %q: officials' entry shown %v, want %v", tc.account, got, tc.want)
		}
	}
}
