package portal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"civitas/internal/app"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/demo"
	"civitas/internal/kernel"
	"civitas/internal/portal"
	"civitas/internal/registry"
)

// benchProcedure reads three registry services for its subject: the
// population registry, the residence registry and the civil-status
// registry (marital status).
const benchProcedure = `{"code":"bench_three_reads","names":{"vi":"Thử","en":"Bench","ar":"اختبار"},
 "agency":{"kind":"police","level":"commune"},"steps":[{"code":"decide","role":"police_officer"}],
 "fee":0,"sla_days":5,"integrated":false,"inputs":[
  {"name":"citizen_id","source":"registry:population.person","required":true},
  {"name":"full_name","source":"registry:population.person","required":true},
  {"name":"birth_date","source":"registry:population.person","required":true},
  {"name":"address","source":"registry:residence.household"},
  {"name":"marital_status","source":"registry:civil_status.marital_status"},
  {"name":"purpose","source":"form","required":true}]}`

// benchEnv is a demo province of persons adults with accounts, and the
// portal with a procedure of three registry reads.
func benchEnv(b *testing.B, persons int) (*env, []context.Context) {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bench_three_reads.json"), []byte(benchProcedure), 0o600); err != nil {
		b.Fatal(err)
	}
	e := &env{t: b, ctx: kernel.WithActor(context.Background(), kernel.System("bench")), d: dbtest.Open(b), clock: kernel.NewManualClock(time.Date(2025, 3, 4, 2, 0, 0, 0, time.UTC))}
	if _, err := demo.Load(e.ctx, e.d, demo.Options{Persons: persons, Seed: 3, Clock: e.clock}); err != nil {
		b.Fatal(err)
	}
	e.reg = registry.New(e.d, e.clock)
	e.acc = &accounts{reg: e.reg, byID: map[string]portal.Account{}, deps: map[string][]portal.Dependent{}, orgs: map[string][]portal.Membership{}}
	e.w = &fakeWallet{types: m(loadTypes()).of(b), docs: map[string]portal.Issuance{}}
	e.sig, e.notes = &fakeSigner{creds: map[string]bool{}}, &notices{}
	cat := m(portal.LoadCatalogue(dir, portal.CatalogueOptions{WalletTypes: e.w.Types()})).of(b)
	e.svc = m(portal.New(portal.Options{DB: e.d, Clock: e.clock, Registry: e.reg, Catalogue: cat,
		Exchange: app.PortalRegistryExchange(e.reg, nil, e.d, e.clock, nil), Wallet: e.w, Accounts: e.acc, Signer: e.sig, Notifier: e.notes})).of(b)
	rows := m(e.d.Query(e.ctx, `SELECT citizen_id FROM persons WHERE birth_date < '2005-01-01' AND died_on = '' AND household_id <> '' ORDER BY citizen_id LIMIT 2000`)).of(b)
	var ctxs []context.Context
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		ctxs = append(ctxs, e.citizen(id, 2))
	}
	rows.Close()
	return e, ctxs
}

// BenchmarkSubmit is a citizen's application from start to submission:
// three registry reads for the pre-filling (through the exchange's
// services), the draft stored with what was read, then the submission
// with its routing, promised date, receipt number, figures, notice and
// audit. It reports applications a second and the 99th percentile.
func BenchmarkSubmit(b *testing.B) {
	e, ctxs := benchEnv(b, 2000)
	var n atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			ctx := ctxs[int(n.Add(1))%len(ctxs)]
			t0 := time.Now()
			a, err := e.svc.Start(ctx, portal.StartRequest{Procedure: "bench_three_reads", Fields: map[string]string{"purpose": "bench"}})
			if err != nil {
				b.Error(err)
				return
			}
			if len(a.Sources) != 3 {
				b.Errorf("%d reads", len(a.Sources))
				return
			}
			if _, err := e.svc.Submit(ctx, a.ID, portal.SubmitRequest{}); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "applications/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		// On a shared machine the process gets a share of the cores: what
		// it did per CPU-second says what two whole cores would do.
		b.ReportMetric(float64(len(lat))/cpu.Seconds(), "applications/cpu-s")
		b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds()/float64(runtime.NumCPU()), "cpu%")
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQueue is a page of 50 of an agency's queue with 200,000
// applications in the database (CIVITAS_BENCH_APPLICATIONS to change).
func BenchmarkQueue(b *testing.B) {
	total := 200_000
	if v := os.Getenv("CIVITAS_BENCH_APPLICATIONS"); v != "" {
		total, _ = strconv.Atoi(v)
	}
	e, _ := benchEnv(b, 1000)
	var agencies []string
	rows := m(e.d.Query(e.ctx, `SELECT code FROM agencies WHERE kind = 'police' AND code LIKE 'X%' ORDER BY code`)).of(b)
	for rows.Next() {
		var c string
		_ = rows.Scan(&c)
		agencies = append(agencies, c)
	}
	rows.Close()
	// The applications, spread over the communes' police and a year of dates.
	now := kernel.Micros(e.clock.Now())
	const chunk = 500
	for i := 0; i < total; i += chunk {
		err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
			for j := i; j < min(i+chunk, total); j++ {
				id := fmt.Sprintf("bench%021d", j)
				ag := agencies[j%len(agencies)]
				unit := ag[1:6]
				due := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, j%365).Format(time.DateOnly)
				status, queue := portal.PartQueued, 1
				if (j/len(agencies))%3 == 0 {
					status, queue = portal.PartIssued, 0
				}
				if _, err := tx.Exec(e.ctx, `INSERT INTO portal_applications (id, procedure, applicant_account, applicant_citizen, subject_kind, subject_id,
					subject_name, channel, status, unit_code, agency, created_at, updated_at, submitted_at, due_date)
					VALUES (?, 'residence_confirmation', 'a', '099000000000', 'person', '099000000000', 'Nguyễn Văn A', 'online', 'submitted', ?, ?, ?, ?, ?, ?)`,
					id, unit, ag, now, now, now, due); err != nil {
					return err
				}
				if _, err := tx.Exec(e.ctx, `INSERT INTO portal_parts (application_id, part, idx, agency, unit_code, status, queue, due_date, decided_at)
					VALUES (?, 'residence_confirmation', 0, ?, ?, ?, ?, ?, ?)`, id, ag, unit, status, queue, due, (1-queue)*int(now)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	ag := agencies[0]
	off := e.official(e.officialOf(ag, registry.PoliceOfficer), ag)
	// A page deep in the queue, where an OFFSET would have to skip.
	mid := m(e.svc.Queue(off, portal.QueueRequest{Agency: ag, Page: kernel.Page{Limit: 500}})).of(b).Next
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		req := portal.QueueRequest{Agency: ag, Page: kernel.Page{Limit: 50}}
		switch i % 3 {
		case 1:
			req.Page.After = mid
		case 2:
			req.Done = true
		}
		pg, err := e.svc.Queue(off, req)
		if err != nil || len(pg.Items) != 50 {
			b.Fatalf("%d items, %v", len(pg.Items), err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
