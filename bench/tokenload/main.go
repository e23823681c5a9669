// Command tokenload asks a civitas OpenID Provider for client_credentials
// tokens from several connections until it is stopped, and reports the
// latencies: p50 and p99 of the requests that started inside a window (the
// seconds another operation — a backup, a key rotation — ran, written to
// -window as "START_UNIX_NANO END_UNIX_NANO" by the script that ran it)
// and of those outside it, and every failed request.
//
//	tokenload -url http://127.0.0.1:8080 -client bench -secret S -c 8 -for 30s -window /tmp/w
package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type sample struct {
	start time.Time
	took  time.Duration
	ok    bool
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "civitas `URL`")
	client := flag.String("client", "bench", "client ID (client_secret_basic, a client_credentials scope)")
	secret := flag.String("secret", "", "client secret")
	conns := flag.Int("c", 8, "concurrent requests")
	dur := flag.Duration("for", 30*time.Second, "how long (the longest, with -stop)")
	stop := flag.String("stop", "", "stop as soon as this `file` exists")
	window := flag.String("window", "", "`file` naming the window (START END, Unix nanoseconds), read at the end")
	flag.Parse()

	tr := &http.Transport{MaxIdleConnsPerHost: *conns}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	var mu sync.Mutex
	var samples []sample
	began := time.Now()
	end := began.Add(*dur)
	var stopped atomic.Bool
	if *stop != "" {
		go func() {
			for !stopped.Load() {
				if _, err := os.Stat(*stop); err == nil {
					stopped.Store(true)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	var wg sync.WaitGroup
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []sample
			for time.Now().Before(end) && !stopped.Load() {
				req, _ := http.NewRequest(http.MethodPost, *base+"/oauth/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(*client, *secret)
				t0 := time.Now()
				resp, err := hc.Do(req)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					resp.Body.Close()
				}
				mine = append(mine, sample{start: t0, took: time.Since(t0), ok: ok})
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	stopped.Store(true)
	elapsed := time.Since(began)

	var from, to int64
	if *window != "" {
		if b, err := os.ReadFile(*window); err == nil {
			fmt.Sscan(string(b), &from, &to)
		}
	}
	var in, out []time.Duration
	failed := 0
	for _, s := range samples {
		if !s.ok {
			failed++
		}
		if n := s.start.UnixNano(); from != 0 && n >= from && n <= to {
			in = append(in, s.took)
		} else {
			out = append(out, s.took)
		}
	}
	pct := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		slices.Sort(d)
		return d[min(len(d)-1, int(float64(len(d))*p))]
	}
	rise := ""
	if o, i := pct(out, 0.99), pct(in, 0.99); o > 0 && i > 0 {
		rise = fmt.Sprintf(" | p99 rise %+.0f %%", (float64(i)/float64(o)-1)*100)
	}
	fmt.Printf("requests %d failed %d rate %.0f/s | outside window: n=%d p50=%v p99=%v | inside window: n=%d p50=%v p99=%v%s\n",
		len(samples), failed, float64(len(samples))/elapsed.Seconds(),
		len(out), pct(out, 0.50).Round(time.Microsecond), pct(out, 0.99).Round(time.Microsecond),
		len(in), pct(in, 0.50).Round(time.Microsecond), pct(in, 0.99).Round(time.Microsecond), rise)
	if failed > 0 {
		os.Exit(1)
	}
}
