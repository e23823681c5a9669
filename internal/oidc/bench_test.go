package oidc_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"civitas/internal/app"
	"civitas/internal/kernel"
)

// The token endpoint under concurrent relying parties, over real HTTP on
// loopback, with everything a FAPI-style client sends: a private_key_jwt
// assertion and a DPoP proof per request (signed by the benchmark's clients,
// on the same two cores). BenchmarkRawES256 is the limit in the same run.
//
//	go test -run '^$' -bench . -benchtime 5s ./internal/oidc   (add CIVITAS_TEST_POSTGRES=... for PostgreSQL)

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// latencies collects per-request durations to report p99.
type latencies struct {
	mu  sync.Mutex
	d   []time.Duration
	cpu time.Duration // process CPU time at the start
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) report(b *testing.B, start time.Time) {
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	if len(l.d) > 0 {
		b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds())/1000, "p99-ms")
	}
	wall := time.Since(start)
	b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
	if l.cpu != 0 {
		// How busy the cores were: below 100 % the limit is a wait, not work.
		b.ReportMetric(100*float64(cpuTime()-l.cpu)/float64(wall)/float64(runtime.GOMAXPROCS(0)), "cpu%")
	}
}

func (e *env) rawPost(c *http.Client, path string, form url.Values, dpop string) (int, map[string]any) {
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	if form.Get("client_assertion") == "" {
		form.Set("client_assertion", e.assertion(e.issuer))
	}
	req, _ := http.NewRequest(http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", dpop)
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// serving sets the runtime as civitas serve does.
func serving(b *testing.B) {
	old := debug.SetGCPercent(app.GCPercent)
	b.Cleanup(func() { debug.SetGCPercent(old) })
}

func BenchmarkRefreshGrant(b *testing.B) {
	serving(b)
	e := newEnv(b)
	e.login(kernel.ACRLevel1)
	// One token family per worker: refresh tokens rotate, so a chain belongs to one client.
	chains := make(chan string, 256)
	for i := 0; i < 64; i++ {
		uri, verifier, _, _ := e.par(nil)
		_, tok := e.exchange(e.authorize(uri), verifier)
		chains <- tok["refresh_token"].(string)
	}
	// The relying parties' signatures are made before the clock starts: in
	// production they are made on the relying parties' machines, and here
	// they would take the server's cores.
	type signed struct{ assertion, proof string }
	pre := make(chan signed, b.N)
	for range b.N {
		pre <- signed{e.assertion(e.issuer), e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", "")}
	}
	c := benchClient()
	lat := &latencies{}
	b.SetParallelism(10) // 20 concurrent clients on 2 cores
	b.ResetTimer()
	lat.cpu = cpuTime()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rt := <-chains
		defer func() { chains <- rt }()
		for pb.Next() {
			s := <-pre
			t0 := time.Now()
			st, out := e.rawPost(c, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
				"client_assertion": {s.assertion}}, s.proof)
			lat.add(time.Since(t0))
			if st != http.StatusOK {
				b.Errorf("refresh: %d %v", st, out)
				return
			}
			rt = out["refresh_token"].(string)
		}
	})
	lat.report(b, start)
}

func BenchmarkCodeFlow(b *testing.B) {
	serving(b)
	e := newEnv(b)
	e.login(kernel.ACRLevel1)
	uri, verifier, _, _ := e.par(nil) // consent once
	e.exchange(e.authorize(uri), verifier)
	c := benchClient()
	lat := &latencies{}
	b.SetParallelism(16)
	b.ResetTimer()
	lat.cpu = cpuTime()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			verifier, challenge := pkce()
			q := url.Values{"client_id": {e.clientID}, "redirect_uri": {e.redirect}, "response_type": {"code"}, "scope": {"openid profile"},
				"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
			resp, err := c.Get(e.issuer + "/oidc/authorize?" + q.Encode())
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			code := loc.Query().Get("code")
			st, tok := e.rawPost(c, "/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
				"redirect_uri": {e.redirect}, "code_verifier": {verifier}}, e.proof(e.dpopKey, "POST", e.issuer+"/oauth/token", ""))
			if st != http.StatusOK {
				b.Errorf("token: %d %v", st, tok)
				return
			}
			at := tok["access_token"].(string)
			req, _ := http.NewRequest(http.MethodGet, e.issuer+"/oauth/userinfo", nil)
			req.Header.Set("Authorization", "DPoP "+at)
			req.Header.Set("DPoP", e.proof(e.dpopKey, "GET", e.issuer+"/oauth/userinfo", at))
			resp, err = c.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("userinfo: %v %v", err, resp)
				return
			}
			resp.Body.Close()
			lat.add(time.Since(t0))
		}
	})
	lat.report(b, start)
}

// BenchmarkRawES256 is the cryptographic floor of one refresh: the server
// verifies two signatures (assertion, proof) and signs one (access token).
func BenchmarkRawES256(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("x"))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig)
			ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig)
			_, _ = ecdsa.SignASN1(rand.Reader, key, digest[:])
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verify2+sign/s")
}
