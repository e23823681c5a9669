package registry_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// BenchmarkPersonLookup looks persons up by citizen ID in a 200,000-person
// province and reports the latency percentiles.
func BenchmarkPersonLookup(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	if _, err := demo.Load(ctx, d, demo.Options{Persons: 200_000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	s := registry.New(d, kernel.SystemClock{})
	var ids []string
	after := ""
	for len(ids) < 20_000 {
		ps, err := s.ListPersons(ctx, kernel.Page{After: after, Limit: 1000})
		if err != nil || len(ps) == 0 {
			b.Fatal(err)
		}
		for i, p := range ps {
			if i%10 == 0 {
				ids = append(ids, p.CitizenID)
			}
		}
		after = ps[len(ps)-1].CitizenID
	}
	lat := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		t := time.Now()
		if _, err := s.Person(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
