package feedback_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"civitas/internal/db/dbtest"
	"civitas/internal/loadtest"
)

// BenchmarkIntakeOpen311At2000 is BenchmarkIntakeOpen311's report (posted
// to requests.json over HTTP, no photo) as an open loop at the target rate
// of issue 20, 2,000 a second (CIVITAS_FEEDBACK_RATE to change;
// CIVITAS_LOAD_DURATION, default 10s): each report is posted on schedule
// whatever the earlier ones are doing and its latency counts from then.
// Run it with -benchtime 1x.
func BenchmarkIntakeOpen311At2000(b *testing.B) {
	rate, err := loadtest.RateFromEnv("CIVITAS_FEEDBACK_RATE", 2000)
	if err != nil {
		b.Fatal(err)
	}
	dur, err := loadtest.DurationFromEnv(10 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	warm, err := loadtest.WarmupFromEnv(2 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	d := dbtest.Open(b)
	g := newGridProvince(12, 15)
	s, ws := benchServer(b, d, g)
	_, key, err := s.AddClient(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	defer srv.Close()
	// Connections are kept for as many requests as may be in flight, so
	// that a burst does not open (and close) connections the steady state
	// would not.
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: loadtest.DefaultMaxInFlight}}
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(7, 1))
	post := func() error {
		mu.Lock()
		lat := gridMinLat + rng.Float64()*(gridMaxLat-gridMinLat)
		lon := gridMinLon + rng.Float64()*(gridMaxLon-gridMinLon)
		mu.Unlock()
		form := url.Values{"api_key": {key}, "service_code": {"traffic"},
			"lat":         {strconv.FormatFloat(lat, 'f', 6, 64)},
			"long":        {strconv.FormatFloat(lon, 'f', 6, 64)},
			"description": {"Đèn tín hiệu giao thông không hoạt động"}}
		res, err := c.PostForm(srv.URL+"/open311/v2/requests.json", form)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d %s", res.StatusCode, body)
		}
		return nil
	}
	for range 50 { // warm the statements, the caches and some connections
		if err := post(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		r, err := loadtest.Run(context.Background(), loadtest.Config{Rate: rate, Duration: dur, Warmup: warm}, post)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(r)
		if r.Errors > 0 {
			b.Fatalf("%d of %d failed, the first: %v", r.Errors, r.Completed, r.FirstErr)
		}
		r.Report(b, "reports/s")
	}
}
