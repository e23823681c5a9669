package signing_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"civitas/internal/i18n"
	"civitas/internal/web"
)

// serve runs e's service behind the real router on 127.0.0.1: the APIs,
// the holder's pages, and /test/login/{account}/{acr} to sign in.
func (e *env) serve(t *testing.T) *httptest.Server {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	e.s.MountAPI(ws, tokens{}, chains{e})
	if err := e.s.Mount(ws, directory{}); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}/{acr}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "urn:civitas:acr:" + r.PathValue("acr")}); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// login is a browser signed in to srv as account at acr (level1, level2).
func login(t *testing.T, srv *httptest.Server, account, acr string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, url: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.get("/test/login/" + account + "/" + acr)
	return b
}
