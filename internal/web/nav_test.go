package web

import (
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
