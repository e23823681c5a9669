package signing_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/signing"
)

func TestCheckCallbackURL(t *testing.T) {
	for _, tt := range []struct {
		name, url string
		ok        bool
	}{
		{"ok/https", "https://app.example.vn/hooks/signing", true},
		{"ok/https with port and query", "https://app.example.vn:8443/hooks?tenant=7", true},
		{"ok/https private address", "https://10.1.2.3/hooks", true},
		{"ok/http to localhost", "http://localhost:8080/hooks", true},
		{"ok/http to 127.0.0.1", "http://127.0.0.1:9000/h", true},
		{"ok/http to [::1]", "http://[::1]:9000/h", true},
		{"fail/http elsewhere", "http://app.example.vn/hooks", false},
		{"fail/http to a private address", "http://10.0.0.1/hooks", false},
		{"fail/https to loopback", "https://127.0.0.1/hooks", false},
		{"fail/https to localhost", "https://localhost/hooks", false},
		{"fail/link-local (metadata service)", "https://169.254.169.254/latest", false},
		{"fail/unspecified", "https://0.0.0.0/h", false},
		{"fail/unspecified v6", "https://[::]/h", false},
		{"fail/multicast", "https://224.0.0.1/h", false},
		{"fail/other scheme", "ftp://app.example.vn/h", false},
		{"fail/javascript", "javascript:alert(1)", false},
		{"fail/relative", "/hooks", false},
		{"fail/no host", "https:///hooks", false},
		{"fail/user and password", "https://user:pw@app.example.vn/h", false},
		{"fail/fragment", "https://app.example.vn/h#x", false},
		{"fail/bad port", "https://app.example.vn:99999/h", false},
		{"fail/empty port", "https://app.example.vn:/h", false},
		{"fail/space", "https://app.example.vn/a b", false},
		{"fail/newline", "https://app.example.vn/a\nb", false},
		{"fail/non-ASCII host", "https://ứngdụng.vn/h", false},
		{"fail/bad host name", "https://-app.example.vn/h", false},
		{"fail/too long", "https://app.example.vn/" + strings.Repeat("a", 2048), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := signing.CheckCallbackURL(tt.url)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok {
				wantCode(t, err, kernel.Invalid, "signing.error.callback_url")
			}
		})
	}
}

// receiver is an application's webhook endpoint: it records what it is
// posted and answers with answer(n) for the n-th post (from 1).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	posts  []posted
	answer func(n int) int
	got    chan posted
	away   atomic.Int64 // posts to /elsewhere: a redirect followed
}

type posted struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rec := &receiver{answer: func(int) int { return http.StatusNoContent }, got: make(chan posted, 100)}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			rec.away.Add(1)
			return
		}
		body, _ := io.ReadAll(r.Body)
		p := posted{header: r.Header.Clone(), body: body}
		rec.mu.Lock()
		rec.posts = append(rec.posts, p)
		n := len(rec.posts)
		answer := rec.answer
		rec.mu.Unlock()
		rec.got <- p
		status := answer(n)
		if status == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *receiver) all() []posted {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.posts)
}

func (rec *receiver) setAnswer(f func(n int) int) {
	rec.mu.Lock()
	rec.answer = f
	rec.mu.Unlock()
}

// count is how many rows of the audit log record action.
func (e *env) count(action string) int {
	e.t.Helper()
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = ?`, action).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// submitWithCallback submits one hash through the REST API with callback.
func submitWithCallback(t *testing.T, app client, callback, salt string) string {
	t.Helper()
	st, out := app.call("POST", "/api/signing/v1/requests", map[string]any{"description": "Hồ sơ " + salt, "callback_url": callback,
		"documents": []map[string]string{{"label": "Tờ khai", "hash": b64(hashes(1, salt)[0].Hash)}}})
	id, _ := out["id"].(string)
	if st != http.StatusCreated || id == "" {
		t.Fatalf("submit with a callback: %d %v", st, out)
	}
	return id
}

// Approved, refused and expired requests each post one signed event to
// the callback: the SAD never, the signature verifiable with the secret
// the application fetched, and a log line and audit record without
// personal data or secrets.
func TestWebhooks(t *testing.T) {
	e := newEnv(t)
	e.active(1)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	rec := newReceiver(t)
	callback := rec.URL + "/hooks/signing?token=app-own-secret-in-path"

	st, out := app.call("GET", "/api/signing/v1/webhook-secret", nil)
	secret, _ := out["secret"].(string)
	if st != http.StatusOK || !strings.HasPrefix(secret, "whsec_") || out["header"] != signing.SignatureHeader {
		t.Fatalf("webhook secret: %d %v", st, out)
	}
	if _, again := app.call("GET", "/api/signing/v1/webhook-secret", nil); again["secret"] != secret {
		t.Fatal("the secret changed without a rotation")
	}
	if _, other := (client{t: t, url: srv.URL, token: "acct-01 other-app signing"}).call("GET", "/api/signing/v1/webhook-secret", nil); other["secret"] == secret {
		t.Fatal("two applications share a secret")
	}

	refused := []struct{ name, url string }{
		{"fail/http elsewhere", "http://app.example.vn/hooks"},
		{"fail/metadata service", "https://169.254.169.254/"},
		{"fail/not a URL", "hooks"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := json.Marshal(map[string]any{"description": "x", "callback_url": tt.url, "documents": []map[string]string{{"label": "a", "hash": b64(hashes(1, "x")[0].Hash)}}})
			r, _ := http.NewRequest("POST", srv.URL+"/api/signing/v1/requests", strings.NewReader(string(req)))
			r.Header.Set("Authorization", "Bearer acct-01 portal signing")
			r.Header.Set("Accept-Language", "en")
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), "https://") {
				t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}

	approved := submitWithCallback(t, app, callback, "approved")
	refusedID := submitWithCallback(t, app, callback, "refused")
	expired := submitWithCallback(t, app, callback, "expired")
	if err := e.s.ApproveAndSign(e.ctx, "acct-01", approved, goodCode); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Refuse(e.ctx, "acct-01", refusedID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.s.ExpireRequests(e.ctx); err != nil || n != 0 {
		t.Fatalf("expired before the deadline: %d %v", n, err)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	if n, err := e.s.ExpireRequests(e.ctx); err != nil || n != 1 {
		t.Fatalf("expiry sweep: %d %v", n, err)
	}
	if n, err := e.s.ExpireRequests(e.ctx); err != nil || n != 0 {
		t.Fatalf("second sweep: %d %v", n, err)
	}
	ctx := kernel.WithActor(e.ctx, kernel.System("test"))
	if n, err := e.s.DeliverWebhooks(ctx); err != nil || n != 3 {
		t.Fatalf("delivered %d (%v)", n, err)
	}
	if n, _ := e.s.DeliverWebhooks(ctx); n != 0 {
		t.Fatalf("delivered %d again", n)
	}

	want := map[string]string{approved: signing.EventApproved, refusedID: signing.EventRefused, expired: signing.EventExpired}
	posts := rec.all()
	if len(posts) != 3 {
		t.Fatalf("%d posts", len(posts))
	}
	for _, p := range posts {
		var ev map[string]any
		if err := json.Unmarshal(p.body, &ev); err != nil {
			t.Fatal(err)
		}
		id, _ := ev["request_id"].(string)
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range ev {
				if !yield(k) {
					return
				}
			}
		})
		if ev["type"] != want[id] || ev["status"] != strings.TrimPrefix(want[id], "signing.request.") || !slices.Equal(keys, []string{"id", "request_id", "status", "time", "type"}) {
			t.Errorf("event %s", p.body)
		}
		if _, err := time.Parse(time.RFC3339, ev["time"].(string)); err != nil {
			t.Errorf("time: %v", err)
		}
		if strings.Contains(strings.ToLower(string(p.body)), "sad") {
			t.Errorf("an event carries the SAD: %s", p.body)
		}
		sig := p.header.Get(signing.SignatureHeader)
		if err := signing.VerifyWebhook(sig, p.body, secret, e.clock.Now(), 5*time.Minute); err != nil {
			t.Errorf("signature %q does not verify: %v", sig, err)
		}
		if p.header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", p.header.Get("Content-Type"))
		}
		for name, check := range map[string]error{
			"fail/other secret":  signing.VerifyWebhook(sig, p.body, "whsec_other", e.clock.Now(), 5*time.Minute),
			"fail/tampered body": signing.VerifyWebhook(sig, append(p.body, ' '), secret, e.clock.Now(), 5*time.Minute),
			"fail/too old":       signing.VerifyWebhook(sig, p.body, secret, e.clock.Now().Add(6*time.Minute), 5*time.Minute),
			"fail/no signature":  signing.VerifyWebhook("t=1", p.body, secret, e.clock.Now(), 5*time.Minute),
		} {
			if kernel.ErrorCode(check) != kernel.Unauthenticated {
				t.Errorf("%s: %v", name, check)
			}
		}
	}
	if n := e.count("signing.webhook.deliver"); n != 3 {
		t.Fatalf("%d deliveries audited", n)
	}
	logs := e.logs.String()
	if strings.Count(logs, "signing: webhook") != 3 || !strings.Contains(logs, "outcome=delivered") {
		t.Fatalf("log:\n%s", logs)
	}
	for _, secretish := range []string{secret, "app-own-secret-in-path", "acct-01", "Hồ sơ"} {
		if strings.Contains(logs, secretish) {
			t.Fatalf("the log holds %q:\n%s", secretish, logs)
		}
	}
	// The polling application sees the same outcomes.
	for id, ev := range want {
		if st, _ := e.s.Status(e.ctx, "portal", id); "signing.request."+st != ev && !(st == signing.RequestDone && ev == signing.EventApproved) {
			t.Errorf("%s polls as %s", id, st)
		}
	}
}

// A failed post is tried again after 10 s, 1 min, 10 min, 1 h and 6 h, a
// redirect is not followed, and after six tries the event is given up and
// the giving up recorded.
func TestWebhookRetries(t *testing.T) {
	e := newEnv(t)
	e.active(1)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	rec := newReceiver(t)
	rec.setAnswer(func(n int) int {
		if n == 1 {
			return http.StatusFound
		}
		return http.StatusInternalServerError
	})
	id := submitWithCallback(t, app, rec.URL+"/hooks", "retry")
	if err := e.s.Refuse(e.ctx, "acct-01", id); err != nil {
		t.Fatal(err)
	}
	ctx := kernel.WithActor(e.ctx, kernel.System("test"))
	waits := []time.Duration{10 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}
	for try := 1; try <= signing.WebhookAttempts; try++ {
		if n, err := e.s.DeliverWebhooks(ctx); err != nil || n != 1 {
			t.Fatalf("try %d: %d posted (%v)", try, n, err)
		}
		if n, _ := e.s.DeliverWebhooks(ctx); n != 0 {
			t.Fatalf("try %d: posted again at once", try)
		}
		if try <= len(waits) {
			e.clock.Advance(waits[try-1] - time.Second)
			if n, _ := e.s.DeliverWebhooks(ctx); n != 0 {
				t.Fatalf("try %d: posted again before its wait", try)
			}
			e.clock.Advance(time.Second)
		}
	}
	e.clock.Advance(24 * time.Hour)
	if n, _ := e.s.DeliverWebhooks(ctx); n != 0 {
		t.Fatal("posted after giving up")
	}
	if len(rec.all()) != signing.WebhookAttempts || rec.away.Load() != 0 {
		t.Fatalf("%d posts, %d redirects followed", len(rec.all()), rec.away.Load())
	}
	if e.count("signing.webhook.give_up") != 1 || e.count("signing.webhook.deliver") != 0 {
		t.Fatal("giving up is not recorded")
	}
	if !strings.Contains(e.logs.String(), "outcome=failed") || !strings.Contains(e.logs.String(), "status=302") {
		t.Fatalf("log:\n%s", e.logs.String())
	}

	// A receiver back after one failure gets the event on the next try.
	rec.setAnswer(func(n int) int {
		if n == signing.WebhookAttempts+1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	id2 := submitWithCallback(t, app, rec.URL+"/hooks", "back")
	if err := e.s.Refuse(e.ctx, "acct-01", id2); err != nil {
		t.Fatal(err)
	}
	e.s.DeliverWebhooks(ctx)
	e.clock.Advance(10 * time.Second)
	if n, _ := e.s.DeliverWebhooks(ctx); n != 1 || e.count("signing.webhook.deliver") != 1 {
		t.Fatalf("second try: %d", n)
	}
}

// Events wait in the outbox: an instance started later (a restart) posts
// them, and two instances posting at once post each event once.
func TestWebhooksSurviveRestartAndShareWork(t *testing.T) {
	e := newEnv(t)
	e.active(1)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	rec := newReceiver(t)
	const n = 20
	for i := range n {
		id := submitWithCallback(t, app, rec.URL+"/hooks", "restart "+string(rune('a'+i)))
		if err := e.s.Refuse(e.ctx, "acct-01", id); err != nil {
			t.Fatal(err)
		}
	}
	// "Restart": new services on the same database, posting at once.
	a, b := e.service(nil), e.service(nil)
	ctx := kernel.WithActor(e.ctx, kernel.System("test"))
	var wg sync.WaitGroup
	var posted atomic.Int64
	for _, s := range []*signing.Service{a, b, a, b} {
		wg.Go(func() {
			k, err := s.DeliverWebhooks(ctx)
			if err != nil {
				t.Error(err)
			}
			posted.Add(int64(k))
		})
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, p := range rec.all() {
		var ev struct{ ID string }
		_ = json.Unmarshal(p.body, &ev)
		if ids[ev.ID] {
			t.Fatalf("event %s posted twice", ev.ID)
		}
		ids[ev.ID] = true
	}
	if len(ids) != n || posted.Load() != n {
		t.Fatalf("%d events posted (%d counted), want %d", len(ids), posted.Load(), n)
	}
}

// The worker posts an event as soon as this instance writes it, and stops
// with its context.
func TestWebhookWorker(t *testing.T) {
	e := newEnv(t)
	e.active(1)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	rec := newReceiver(t)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { defer close(done); e.s.RunWebhooks(ctx, time.Hour) }()
	id := submitWithCallback(t, app, rec.URL+"/hooks", "worker")
	if err := e.s.Refuse(e.ctx, "acct-01", id); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-rec.got:
		if !strings.Contains(string(p.body), id) {
			t.Fatalf("posted %s", p.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not post the event")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the worker did not stop")
	}
}

// After a rotation events carry two signatures for a day, the new
// secret's and the previous one's; then only the new one's.
func TestWebhookSecretRotation(t *testing.T) {
	e := newEnv(t)
	e.active(1)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	rec := newReceiver(t)
	_, out := app.call("GET", "/api/signing/v1/webhook-secret", nil)
	old, _ := out["secret"].(string)
	st, out := app.call("POST", "/api/signing/v1/webhook-secret/rotate", nil)
	secret, _ := out["secret"].(string)
	if st != http.StatusOK || secret == "" || secret == old || out["previous_valid_until"] == nil {
		t.Fatalf("rotate: %d %v", st, out)
	}
	if _, out := app.call("GET", "/api/signing/v1/webhook-secret", nil); out["secret"] != secret {
		t.Fatal("the rotated secret is not the current one")
	}
	ctx := kernel.WithActor(e.ctx, kernel.System("test"))
	post := func(salt string) posted {
		t.Helper()
		id := submitWithCallback(t, app, rec.URL+"/hooks", salt)
		if err := e.s.Refuse(e.ctx, "acct-01", id); err != nil {
			t.Fatal(err)
		}
		if n, err := e.s.DeliverWebhooks(ctx); n != 1 || err != nil {
			t.Fatalf("delivered %d (%v)", n, err)
		}
		return <-rec.got
	}
	p := post("rotation")
	for _, s := range []string{secret, old} {
		if err := signing.VerifyWebhook(p.header.Get(signing.SignatureHeader), p.body, s, e.clock.Now(), time.Minute); err != nil {
			t.Fatalf("during the overlap: %v", err)
		}
	}
	e.clock.Advance(25 * time.Hour)
	p = post("after")
	if err := signing.VerifyWebhook(p.header.Get(signing.SignatureHeader), p.body, secret, e.clock.Now(), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := signing.VerifyWebhook(p.header.Get(signing.SignatureHeader), p.body, old, e.clock.Now(), time.Minute); err == nil {
		t.Fatal("the previous secret still signs after a day")
	}
	if e.count("signing.webhook.rotate") != 1 || strings.Contains(e.logs.String(), secret) {
		t.Fatal("rotation not audited, or the secret logged")
	}
}
