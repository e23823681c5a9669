package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

func cookieFrom(t *testing.T, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (f *fixture) countSessions(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM web_sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSessionLifecycle(t *testing.T) {
	f := newFixture(t)

	// Plain pages start no session and touch no table.
	if w := f.do("GET", "/", nil, ""); cookieFrom(t, w.Result(), sessionCookie) != nil {
		t.Fatal("the home page started a session")
	}
	if f.countSessions(t) != 0 {
		t.Fatal("a session row without a form")
	}
	if w := f.do("GET", "/test/session", nil, ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("no session: %d", w.Code)
	}

	cookie, token := f.session(t)
	raw := strings.TrimPrefix(cookie, sessionCookie+"=")

	// Only the SHA-256 of the token is stored.
	var idHash, csrf string
	if err := f.db.QueryRow(context.Background(), `SELECT id_hash, csrf_token FROM web_sessions`).Scan(&idHash, &csrf); err != nil {
		t.Fatal(err)
	}
	if idHash != hashToken(raw) || strings.Contains(idHash, raw) || csrf != token {
		t.Fatalf("stored %q for token %q", idHash, raw)
	}

	// A second page with a form reuses the session and its token.
	w := f.do("GET", "/test/form", map[string]string{"Cookie": cookie}, "")
	if cookieFrom(t, w.Result(), sessionCookie) != nil || !strings.Contains(w.Body.String(), token) || f.countSessions(t) != 1 {
		t.Fatal("the session was not reused")
	}
	if w := f.do("GET", "/test/session", map[string]string{"Cookie": cookie}, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"account":""`) {
		t.Fatalf("anonymous session: %d %s", w.Code, w.Body)
	}

	// Login renews: a new ID and a new CSRF token; the old cookie is dead.
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
	w = f.do("POST", "/test/login", form, "csrf_token="+token+"&account=acc-1")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"before":"anonymous"`) || !strings.Contains(w.Body.String(), `"after":"acc-1"`) {
		t.Fatalf("login (the actor follows the session within the request): %d %s", w.Code, w.Body)
	}
	nc := cookieFrom(t, w.Result(), sessionCookie)
	if nc == nil || nc.Value == raw || !validToken(nc.Value) {
		t.Fatalf("renewed cookie %+v", nc)
	}
	newCookie := sessionCookie + "=" + nc.Value
	if w := f.do("GET", "/test/session", map[string]string{"Cookie": cookie}, ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("old session still works: %d", w.Code)
	}
	if w := f.do("GET", "/test/session", map[string]string{"Cookie": newCookie}, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"account":"acc-1"`) {
		t.Fatalf("new session: %d %s", w.Code, w.Body)
	}
	// The session middleware sets the acting person; the handler sets nothing.
	if w := f.do("GET", "/test/actor", map[string]string{"Cookie": newCookie}, ""); !strings.Contains(w.Body.String(), `"kind":"citizen"`) || !strings.Contains(w.Body.String(), `"id":"acc-1"`) {
		t.Fatalf("actor of a signed-in request: %s", w.Body)
	}
	if w := f.do("GET", "/test/actor", nil, ""); !strings.Contains(w.Body.String(), `"kind":"anonymous"`) {
		t.Fatalf("actor without a session: %s", w.Body)
	}
	if f.countSessions(t) != 1 {
		t.Fatalf("%d sessions after renewal", f.countSessions(t))
	}
	// The old CSRF token no longer passes, with either cookie.
	if w := f.do("POST", "/test/echo", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": newCookie}, "csrf_token="+token); w.Code != 403 {
		t.Fatalf("old CSRF token accepted: %d", w.Code)
	}
	_, newToken := f.tokenFor(t, newCookie)
	if newToken == token {
		t.Fatal("CSRF token not renewed")
	}

	// Sign-out deletes the session and clears the cookie.
	w = f.do("POST", "/test/logout", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Cookie": newCookie}, "csrf_token="+newToken)
	if w.Code != 200 {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	if c := cookieFrom(t, w.Result(), sessionCookie); c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("logout cookie %+v", c)
	}
	if w := f.do("GET", "/test/session", map[string]string{"Cookie": newCookie}, ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("signed-out session works: %d", w.Code)
	}
	if f.countSessions(t) != 0 {
		t.Fatal("session row left after sign-out")
	}
}

// tokenFor opens the form page with a cookie and returns the token in it.
func (f *fixture) tokenFor(t *testing.T, cookie string) (string, string) {
	t.Helper()
	w := f.do("GET", "/test/form", map[string]string{"Cookie": cookie}, "")
	body := w.Body.String()
	i := strings.Index(body, `name="csrf_token" value="`)
	if i < 0 {
		t.Fatalf("no token in %s", body)
	}
	rest := body[i+len(`name="csrf_token" value="`):]
	return cookie, rest[:strings.IndexByte(rest, '"')]
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.SessionIdle = time.Hour
		o.SessionMax = 3 * time.Hour
	})
	get := func(cookie string) int {
		return f.do("GET", "/test/session", map[string]string{"Cookie": cookie}, "").Code
	}
	cookie, _ := f.session(t)
	expires := func() time.Time {
		var us int64
		if err := f.db.QueryRow(context.Background(), `SELECT expires_at FROM web_sessions`).Scan(&us); err != nil {
			t.Fatal(err)
		}
		return kernel.FromMicros(us)
	}
	start := f.clock.Now()
	if !expires().Equal(start.Add(time.Hour)) {
		t.Fatalf("expires %v", expires())
	}
	// Used early: no write, the deadline stays.
	f.clock.Advance(10 * time.Minute)
	if get(cookie) != 200 || !expires().Equal(start.Add(time.Hour)) {
		t.Fatal("early use moved the deadline")
	}
	// Used after half the idle time: the deadline slides.
	f.clock.Advance(25 * time.Minute) // 35 min
	if get(cookie) != 200 || !expires().Equal(start.Add(35*time.Minute+time.Hour)) {
		t.Fatalf("deadline did not slide: %v", expires())
	}
	// Keep using it: it never outlives SessionMax.
	for range 10 {
		f.clock.Advance(40 * time.Minute)
		get(cookie)
	}
	if get(cookie) != http.StatusUnauthorized {
		t.Fatal("session outlived SessionMax")
	}
	if !expires().Equal(start.Add(3 * time.Hour)) {
		t.Fatalf("deadline %v beyond the cap", expires())
	}

	// Idle too long: gone.
	cookie2, _ := f.session(t)
	f.clock.Advance(time.Hour + time.Second)
	if get(cookie2) != http.StatusUnauthorized {
		t.Fatal("idle session still works")
	}

	// The cleanup job removes exactly the expired rows.
	live, _ := f.session(t)
	n, err := f.srv.DeleteExpiredSessions(context.Background(), f.clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 2", n, err)
	}
	if f.countSessions(t) != 1 || get(live) != 200 {
		t.Fatal("the live session was deleted")
	}
	if n, err := f.srv.DeleteExpiredSessions(context.Background(), f.clock.Now()); err != nil || n != 0 {
		t.Fatalf("second run = %d, %v", n, err)
	}
}

func TestSessionCookieGarbage(t *testing.T) {
	f := newFixture(t)
	for _, v := range []string{"", "x", strings.Repeat("A", tokenLen), strings.Repeat("a", tokenLen+1), "'; DROP TABLE web_sessions; --"} {
		w := f.do("GET", "/test/session", map[string]string{"Cookie": sessionCookie + "=" + v}, "")
		if w.Code != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d", v, w.Code)
		}
	}
}

func TestExemptPathsIgnoreSessions(t *testing.T) {
	f := newFixture(t)
	cookie, _ := f.session(t)
	f.srv.HandleFunc("POST /api/bearer/whoami", func(w http.ResponseWriter, r *http.Request) {
		if _, err := f.srv.Session(r); err == nil {
			t.Error("a session on an exempt path")
		}
		if _, err := f.srv.EnsureSession(w, r); kernel.ErrorCode(err) != kernel.Internal {
			t.Errorf("EnsureSession on an exempt path: %v", err)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	if w := f.do("POST", "/api/bearer/whoami", map[string]string{"Cookie": cookie}, ""); w.Code != http.StatusNoContent {
		t.Fatalf("status %d", w.Code)
	}
}

// TestActorAskedInsideAWrite: a service asks for the acting person inside
// its write transaction (an audit record) on a request whose handler never
// loaded the session. The lookup must not need the writer the transaction
// holds — sliding the session's deadline would — or the request waits for
// ever on SQLite's single writer.
func TestActorAskedInsideAWrite(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.SessionIdle = time.Hour
		o.SessionMax = 3 * time.Hour
	})
	// A GET: the CSRF checks, which load the session, do not run first (a
	// page that records who read something is such a request).
	f.srv.HandleFunc("GET /test/audited", func(w http.ResponseWriter, r *http.Request) {
		var who kernel.Actor
		err := f.db.Update(r.Context(), f.clock.Now(), func(tx *db.Tx) error {
			who = kernel.ActorFrom(r.Context())
			_, err := tx.Exec(r.Context(), `DELETE FROM web_sessions WHERE expires_at < 0`)
			return err
		})
		if err != nil {
			f.srv.Error(w, r, err)
			return
		}
		f.srv.JSON(w, r, http.StatusOK, map[string]string{"id": who.ID})
	})
	cookie, token := f.session(t)
	w := f.do("POST", "/test/login", map[string]string{"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
		"csrf_token="+token+"&account=acct-9")
	c := cookieFrom(t, w.Result(), sessionCookie)
	if w.Code != http.StatusOK || c == nil {
		t.Fatalf("login: %d %v", w.Code, w.Header())
	}
	cookie = sessionCookie + "=" + c.Value
	f.clock.Advance(40 * time.Minute) // past half the idle time: a lookup now slides the deadline
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		done <- f.do("GET", "/test/audited", map[string]string{"Cookie": cookie}, "")
	}()
	select {
	case w := <-done:
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"id":"acct-9"`) {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request hangs: the actor lookup waits for the writer its own transaction holds")
	}
}
