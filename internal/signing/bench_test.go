package signing_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"civitas/internal/i18n"
	"civitas/internal/signing"
	"civitas/internal/web"
)

// BenchmarkSignHashHTTP: CSC signatures/signHash over real HTTP on
// 127.0.0.1, through the whole middleware chain, each call with its own
// approved SAD (approved before the clock starts, as holders do), one audit
// record per signature. "single" signs one hash per call, "batch100" a
// hundred (a leader signing a stack of decisions with one approval); c16
// and c64 are the concurrent callers (applications) on the 2 cores.
func BenchmarkSignHashHTTP(b *testing.B) {
	for _, tc := range []struct{ n, callers int }{{1, 16}, {1, 64}, {100, 16}} {
		n := tc.n
		name := fmt.Sprintf("single/c%d", tc.callers)
		if n > 1 {
			name = fmt.Sprintf("batch%d/c%d", n, tc.callers)
		}
		b.Run(name, func(b *testing.B) {
			e := newEnv(b)
			cred := e.active(1)
			cat, _ := i18n.Load()
			srv := httptest.NewUnstartedServer(nil)
			pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
			ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
			if err != nil {
				b.Fatal(err)
			}
			e.s.MountAPI(ws, tokens{}, chains{e})
			srv.Config.Handler = ws.Handler()
			srv.Start()
			defer srv.Close()
			bodies := make([][]byte, b.N)
			for i := range bodies {
				items := hashes(n, fmt.Sprintf("bench %d", i))
				r, err := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: cred.ID, Client: "portal", Description: "bench", Items: items})
				if err != nil {
					b.Fatal(err)
				}
				sad, err := e.s.Approve(e.ctx, "acct-01", r.ID, goodCode)
				if err != nil {
					b.Fatal(err)
				}
				hs := make([]string, n)
				for j, it := range items {
					hs[j] = b64(it.Hash)
				}
				bodies[i], _ = json.Marshal(map[string]any{"credentialID": cred.ID, "SAD": sad, "hashes": hs})
			}
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var next atomic.Int64
			b.SetParallelism(tc.callers / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/csc/v2/signatures/signHash", bytes.NewReader(bodies[i]))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer acct-01 portal signing")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					var out struct{ Signatures []string }
					_ = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || len(out.Signatures) != n {
						b.Errorf("status %d, %d signatures", resp.StatusCode, len(out.Signatures))
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "sig/s")
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(b.N*n), "cpu-µs/sig")
		})
	}
}

// BenchmarkRawECDSASign is the limit: ECDSA P-256 signatures on both cores.
func BenchmarkRawECDSASign(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("civitas"))
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/sig")
}

// BenchmarkSignHashParallel is SignHash in process, without HTTP: each call
// with its own approved SAD (approved before the clock starts), one hash,
// 16 or 64 concurrent callers, so that the service's own contention (the
// read of the approval, the key, the group commit) shows apart from the
// HTTP stack's. RawECDSASign in the same run is its limit.
func BenchmarkSignHashParallel(b *testing.B) {
	for _, callers := range []int{16, 64} {
		b.Run(fmt.Sprintf("c%d", callers), func(b *testing.B) {
			e := newEnv(b)
			cred := e.active(1)
			calls := make([]signing.HashSigning, b.N)
			for i := range calls {
				items := hashes(1, fmt.Sprintf("parallel %d", i))
				r, err := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: cred.ID, Client: "portal", Description: "bench", Items: items})
				if err != nil {
					b.Fatal(err)
				}
				sad, err := e.s.Approve(e.ctx, "acct-01", r.ID, goodCode)
				if err != nil {
					b.Fatal(err)
				}
				calls[i] = signing.HashSigning{Client: "portal", CredentialID: cred.ID, SAD: sad, Hashes: digests(items)}
			}
			var next atomic.Int64
			b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			cpu := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1) - 1
					if sigs, err := e.s.SignHash(e.ctx, calls[i]); err != nil || len(sigs) != 1 {
						b.Errorf("sign %d: %v", i, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sig/s")
			b.ReportMetric(float64(cpuTime()-cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/sig")
		})
	}
}

// cpuTime is the CPU the process has used (user and system): on a machine
// shared with other work, CPU per signature says more than signatures per
// second, which depend on how much of the cores the process was given.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
