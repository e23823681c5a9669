package oidc_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// browse follows an authorization request as a person would: logging in
// again when sent to the login page (taking slow before and after), allowing
// on the consent screen, until the browser is sent back to the client. It
// returns the steps seen — "login" ("login+force" when a new login is
// demanded), "consent", then "code" or "error=<code>" — and the client's
// redirect.
func (e *env) browse(requestURI string, slow time.Duration) ([]string, *url.URL) {
	e.t.Helper()
	var seq []string
	resp, body := e.get(e.issuer + "/oidc/authorize?" + url.Values{"client_id": {e.clientID}, "request_uri": {requestURI}}.Encode())
	for range 8 {
		switch {
		case resp.StatusCode == http.StatusOK && strings.Contains(body, "consent-allow"):
			seq = append(seq, "consent")
			resp, body = e.consentAllow(body)
		case resp.StatusCode == http.StatusSeeOther:
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Path == "/login" {
				step := "login"
				if loc.Query().Get("force") == "1" {
					step += "+force"
				}
				seq = append(seq, step)
				e.clock.Advance(slow)
				e.login(loc.Query().Get("acr"))
				e.clock.Advance(slow)
				resp, body = e.get(e.issuer + loc.Query().Get("next"))
				continue
			}
			if loc.Query().Get("code") != "" {
				return append(seq, "code"), loc
			}
			return append(seq, "error="+loc.Query().Get("error")), loc
		default:
			return append(seq, "status "+strconv.Itoa(resp.StatusCode)), nil
		}
	}
	return append(seq, "loop"), nil
}

// TestPromptAndMaxAge: every prompt value and max_age ends — in a code or
// in an error sent back to the client — and a login demanded by prompt=login
// or max_age is a new one, whose time the ID token tells.
func TestPromptAndMaxAge(t *testing.T) {
	const notLoggedIn = -1
	tests := []struct {
		name      string
		loginAgo  time.Duration // notLoggedIn: nobody is
		granted   bool          // the person consented before
		params    url.Values
		slow      time.Duration // how long the person takes at the login page
		want      []string
		freshAuth bool // auth_time is the new login's
	}{
		{name: "ok/no prompt, first time", loginAgo: time.Minute, want: []string{"consent", "code"}},
		{name: "ok/no prompt, consented before", loginAgo: time.Minute, granted: true, want: []string{"code"}},
		{name: "ok/no prompt, nobody logged in", loginAgo: notLoggedIn, granted: true, want: []string{"login", "code"}, freshAuth: true},
		{name: "ok/prompt=consent asks again and ends", loginAgo: time.Minute, granted: true, params: url.Values{"prompt": {"consent"}},
			want: []string{"consent", "code"}},
		{name: "ok/prompt=consent on a first grant", loginAgo: time.Minute, params: url.Values{"prompt": {"consent"}},
			want: []string{"consent", "code"}},
		{name: "ok/prompt=consent after a login", loginAgo: notLoggedIn, granted: true, params: url.Values{"prompt": {"consent"}},
			want: []string{"login", "consent", "code"}, freshAuth: true},
		{name: "ok/prompt=none with a login and a grant", loginAgo: time.Minute, granted: true, params: url.Values{"prompt": {"none"}},
			want: []string{"code"}},
		{name: "fail/prompt=none without a login", loginAgo: notLoggedIn, granted: true, params: url.Values{"prompt": {"none"}},
			want: []string{"error=login_required"}},
		{name: "fail/prompt=none without a grant", loginAgo: time.Minute, params: url.Values{"prompt": {"none"}},
			want: []string{"error=consent_required"}},
		{name: "fail/prompt=none with an old login and max_age", loginAgo: 2 * time.Hour, granted: true,
			params: url.Values{"prompt": {"none"}, "max_age": {"60"}}, want: []string{"error=login_required"}},
		{name: "ok/prompt=login logs a live session in again", loginAgo: 10 * time.Second, granted: true, params: url.Values{"prompt": {"login"}},
			slow: 2 * time.Second, want: []string{"login+force", "code"}, freshAuth: true},
		{name: "ok/prompt=login consent", loginAgo: 10 * time.Second, granted: true, params: url.Values{"prompt": {"login consent"}},
			slow: 2 * time.Second, want: []string{"login+force", "consent", "code"}, freshAuth: true},
		{name: "ok/max_age=0 is satisfied by the new login", loginAgo: 10 * time.Second, granted: true, params: url.Values{"max_age": {"0"}},
			slow: 2 * time.Second, want: []string{"login+force", "code"}, freshAuth: true},
		{name: "ok/max_age not reached", loginAgo: 30 * time.Second, granted: true, params: url.Values{"max_age": {"60"}},
			want: []string{"code"}},
		{name: "ok/max_age passed, and a slow new login still counts", loginAgo: 2 * time.Minute, granted: true, params: url.Values{"max_age": {"60"}},
			slow: 90 * time.Second, want: []string{"login+force", "code"}, freshAuth: true},
		{name: "ok/max_age with prompt=consent", loginAgo: 2 * time.Minute, granted: true, params: url.Values{"max_age": {"60"}, "prompt": {"consent"}},
			slow: time.Second, want: []string{"login+force", "consent", "code"}, freshAuth: true},
	}
	// One provider for every case (a database each would be slow on
	// PostgreSQL); each case is another person, so consents do not mix.
	e := newEnv(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t, e.account = t, "acct-prompt-"+strconv.Itoa(i)
			if tt.granted {
				e.login(kernel.ACRLevel1)
				uri, _, _, _ := e.par(nil)
				e.authorize(uri)
			}
			e.authn.set(nil)
			if tt.loginAgo != notLoggedIn {
				e.login(kernel.ACRLevel1)
				e.clock.Advance(tt.loginAgo)
			}
			before := e.clock.Now()
			uri, verifier, st, out := e.par(tt.params)
			if st != http.StatusCreated {
				t.Fatalf("PAR: %d %v", st, out)
			}
			seq, loc := e.browse(uri, tt.slow)
			if !slices.Equal(seq, tt.want) {
				t.Fatalf("steps %v, want %v", seq, tt.want)
			}
			if loc.Query().Get("state") != "st-1" || loc.Query().Get("iss") != e.issuer {
				t.Errorf("redirect lacks state or iss: %s", loc)
			}
			if seq[len(seq)-1] != "code" {
				return
			}
			st, tok := e.exchange(loc.Query().Get("code"), verifier)
			if st != http.StatusOK {
				t.Fatalf("token: %d %v", st, tok)
			}
			idt, _ := tok["id_token"].(string)
			j, err := jose.Parse(idt)
			if err != nil {
				t.Fatalf("ID token: %v", err)
			}
			var claims struct {
				AuthTime int64 `json:"auth_time"`
			}
			if err := json.Unmarshal(j.Payload, &claims); err != nil || claims.AuthTime == 0 {
				t.Fatalf("ID token claims: %s %v", j.Payload, err)
			}
			if fresh := claims.AuthTime >= before.Unix(); fresh != tt.freshAuth {
				t.Errorf("auth_time %d fresh=%v, want fresh=%v (flow began %d)", claims.AuthTime, fresh, tt.freshAuth, before.Unix())
			}
		})
	}
}

// TestPromptAndMaxAgeRefused: malformed prompt and max_age values are
// refused at the pushed request, with the reason.
func TestPromptAndMaxAgeRefused(t *testing.T) {
	e := newEnv(t)
	for _, extra := range []url.Values{
		{"prompt": {"none login"}},
		{"prompt": {"everything"}},
		{"max_age": {"-1"}},
		{"max_age": {"soon"}},
	} {
		if _, _, st, out := e.par(extra); st != http.StatusBadRequest || out["error"] != "invalid_request" || out["error_description"] == "" {
			t.Errorf("%v: %d %v", extra, st, out)
		}
	}
}
