package oidc_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

// secondInstance serves another provider on the same database and issuer,
// as a second civitas instance behind the load balancer does, with the
// resource route of newOwnEnv.
func secondInstance(t *testing.T, e *env, d *db.DB) (string, *oidc.Provider) {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse(e.issuer)
	ws, err := web.NewServer(web.Options{DB: d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	box, _ := sealed.New(bytes.Repeat([]byte{9}, sealed.KeySize))
	p, err := oidc.New(context.Background(), oidc.Options{DB: d, Clock: e.clock, Web: ws, Issuer: e.issuer, Box: box, Authn: e.authn,
		Directory: directory{}, History: e.history})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Mount(); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /api/test/client", func(w http.ResponseWriter, r *http.Request) {
		if _, err := p.VerifyClientToken(r); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return "http://" + srv.Listener.Addr().String(), p
}

// kidOf reads the key ID in a JWS header.
func kidOf(token string) string {
	h, _, _ := strings.Cut(token, ".")
	b, _ := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	_ = json.Unmarshal(b, &hdr)
	return hdr.Kid
}

// TestRotationWithoutAFailedRequest rotates the provider's signing key, as
// the operator's `civitas keys rotate --what oidc` does from a process of
// its own, with the shortest publication allowed, while two instances on
// one database answer token requests and check each other's tokens, and
// the clock runs through the new key's start and the old key's retirement.
// Not one request may fail: every token request succeeds, every token
// verifies at the other instance, and every token issued before a step of
// the clock verifies after it while it has not expired.
func TestRotationWithoutAFailedRequest(t *testing.T) {
	e, d := newOwnEnv(t)
	ctx := context.Background()
	second, _ := secondInstance(t, e, d)
	instances := []string{e.issuer, second}
	box, _ := sealed.New(bytes.Repeat([]byte{9}, sealed.KeySize))
	operator, err := oidc.New(ctx, oidc.Options{DB: d, Clock: e.clock, Issuer: e.issuer, Box: box})
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("s", 40)
	if err := e.p.AddClient(ctx, oidc.Client{ID: "bank", AuthMethod: oidc.AuthSecretBasic, Secret: secret, Scopes: []string{"wallet.query"}}); err != nil {
		t.Fatal(err)
	}
	before, err := operator.Keys(ctx)
	if err != nil || len(before) != 1 || before[0].State != oidc.KeySigning {
		t.Fatalf("keys before: %+v %v", before, err)
	}

	var clockMu sync.RWMutex // a step of the clock never falls between a token and its checks
	var requests, failures atomic.Int64
	var kidsMu sync.Mutex
	kids := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	call := func(req *http.Request) int {
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if tok, ok := out["access_token"].(string); ok {
			req.Header.Set("X-Token", tok) // hand it back to the caller
		}
		return resp.StatusCode
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var prev string
			var prevExp time.Time
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				clockMu.RLock()
				from, to := instances[(w+i)%2], instances[(w+i+1)%2]
				req, _ := http.NewRequest(http.MethodPost, from+"/oauth/token",
					strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("bank", secret)
				requests.Add(1)
				if st := call(req); st != http.StatusOK {
					failures.Add(1)
					t.Errorf("token request at %s: %d", from, st)
					clockMu.RUnlock()
					continue
				}
				tok := req.Header.Get("X-Token")
				kidsMu.Lock()
				kids[kidOf(tok)]++
				kidsMu.Unlock()
				check := func(at, token, what string) {
					r, _ := http.NewRequest(http.MethodGet, at+"/api/test/client", nil)
					r.Header.Set("Authorization", "Bearer "+token)
					requests.Add(1)
					if st := call(r); st != http.StatusOK {
						failures.Add(1)
						t.Errorf("%s at %s: %d (kid %s, now %s)", what, at, st, kidOf(token), e.clock.Now().Format(time.TimeOnly))
					}
				}
				check(to, tok, "a fresh token")
				// The token of the previous round, perhaps signed before the
				// key changed, while it lives.
				if prev != "" && e.clock.Now().Before(prevExp.Add(-10*time.Second)) {
					check(from, prev, "a token of the previous round")
				}
				prev, prevExp = tok, e.clock.Now().Add(5*time.Minute)
				clockMu.RUnlock()
			}
		}()
	}
	step := func(d time.Duration, pause time.Duration) {
		clockMu.Lock()
		e.clock.Advance(d)
		clockMu.Unlock()
		time.Sleep(pause)
	}
	time.Sleep(100 * time.Millisecond)

	actx := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorOperator, ID: "cli:keys"})
	next, err := operator.Rotate(actx, oidc.MinPublishAhead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := operator.Rotate(actx, oidc.DefaultPublishAhead); kernel.ErrorCode(err) != kernel.Conflict {
		t.Errorf("a second rotation while one is pending: %v", err)
	}
	// Through the new key's start, in steps shorter than the instances'
	// key cache, then a day and more in steps shorter than a token's life,
	// with the key job of instance A running as it would under its lease.
	for e.clock.Now().Before(next.ActiveFrom.Add(3 * time.Minute)) {
		step(15*time.Second, 20*time.Millisecond)
	}
	for i := 0; i < 13*4; i++ { // 52 hours
		step(4*time.Minute, 2*time.Millisecond)
		for range 14 {
			step(4*time.Minute, 0)
		}
		clockMu.Lock()
		err := e.p.RotateKeys(kernel.WithActor(ctx, kernel.System("job:oidc.keys.rotate")))
		clockMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()

	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed during the rotation", n, requests.Load())
	}
	if kids[before[0].Kid] == 0 || kids[next.Kid] == 0 {
		t.Fatalf("tokens by key: %v; the old key %s and the new %s should both have signed", kids, before[0].Kid, next.Kid)
	}
	after, err := operator.Keys(ctx)
	if err != nil || len(after) != 1 || after[0].Kid != next.Kid || after[0].State != oidc.KeySigning {
		t.Fatalf("keys after: %+v %v", after, err)
	}
	recs, err := audit.List(ctx, d, audit.Query{SubjectType: "oidc_key", SubjectID: next.Kid})
	if err != nil || len(recs) != 1 || recs[0].Action != "oidc.key.rotate" || recs[0].ActorKind != string(kernel.ActorOperator) {
		t.Fatalf("the rotation's audit record: %+v %v", recs, err)
	}
	t.Logf("%d requests, none failed; tokens by key %v", requests.Load(), kids)
}

func TestRotateRefusesTooShortAPublication(t *testing.T) {
	e, _ := newOwnEnv(t)
	_, err := e.p.Rotate(context.Background(), oidc.MinPublishAhead-time.Second)
	if kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("rotation published %v ahead: %v", oidc.MinPublishAhead-time.Second, err)
	}
}
