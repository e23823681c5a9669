package identity_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sealed"
)

// BenchmarkPasswordLogin is a whole password login (throttle check, account
// read, argon2id with the production parameters, history write) run in
// parallel; BenchmarkRawArgon2id, in the same run, is its limit.
//
//	go test -run '^$' -bench 'PasswordLogin|RawArgon2id' -benchtime 200x ./internal/identity
func BenchmarkPasswordLogin(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	clock := kernel.SystemClock{}
	if _, err := demo.Load(ctx, d, demo.Options{Persons: 1000, Seed: 2, Clock: clock}); err != nil {
		b.Fatal(err)
	}
	box, _ := sealed.New(bytes.Repeat([]byte{2}, sealed.KeySize))
	reg := registry.New(d, clock)
	svc, err := identity.New(identity.Options{DB: d, Clock: clock, Registry: reg, Box: box, SMS: &texts{}})
	if err != nil {
		b.Fatal(err)
	}
	persons, err := reg.ListPersons(ctx, kernel.Page{Limit: 40})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, p := range persons {
		if _, err := svc.AddAccount(ctx, identity.NewAccount{CitizenID: p.CitizenID, Level: 1, Password: "benchmark password"}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, p.CitizenID)
	}
	var next int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(atomicAdd(&next)) % len(ids)
			if _, err := svc.Login(ctx, identity.Credentials{CitizenID: ids[i], Password: "benchmark password"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
}

func BenchmarkRawArgon2id(b *testing.B) {
	p := identity.DefaultPasswordParams
	salt := bytes.Repeat([]byte{3}, 16)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			argon2.IDKey([]byte("benchmark password"), salt, p.Time, p.MemoryKiB, p.Threads, 32)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "hashes/s")
}

func atomicAdd(p *int64) int64 { return atomic.AddInt64(p, 1) }
