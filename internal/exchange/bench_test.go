package exchange_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/exchange"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// latencies collects request times from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	return l.d[int(float64(len(l.d)-1)*q)]
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// drive runs b.N calls of do from clients goroutines, timing each, and
// reports the calls per second of this process's CPU time ("/cpu_s"),
// which a machine shared with other work does not skew.
func drive(b *testing.B, clients int, do func(n int) error) *latencies {
	lat := &latencies{d: make([]time.Duration, 0, b.N)}
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "calls/cpu_s") }()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Go(func() {
			for {
				n := int(next.Add(1))
				if n > b.N {
					return
				}
				start := time.Now()
				if err := do(n); err != nil {
					b.Error(err)
					return
				}
				lat.add(time.Since(start))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	return lat
}

// BenchmarkDataUsePage measures the person's "who used my data" page when
// 10,000 reads are about them (and 20,000 about others): the first page,
// a filtered page, and a page deep in the list, each rendered in full
// through the router by 4 browsers at once.
func BenchmarkDataUsePage(b *testing.B) {
	b.Run(dbtest.Name(), func(b *testing.B) {
		e := newEnv(b)
		ps := e.persons(func(registry.Person) bool { return true })
		me := ps[0]
		e.accounts.citizens["acct"] = me.CitizenID
		reader := kernel.Actor{Kind: kernel.ActorClient, ID: "bench-sys"}
		police := e.agency(registry.Police, true).Code
		services := []string{"population.person", "insurance.card", "vehicle.of_owner"}
		purposes := []string{"tax", "administrative_procedure", "health_care", "inspection"}
		for batch := range 30 {
			err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
				for i := range 1000 {
					n := batch*1000 + i
					subject := me.CitizenID
					if n%3 != 0 {
						subject = ps[1+n%(len(ps)-1)].CitizenID
					}
					if err := e.x.Record(e.ctx, tx, kernel.DataUse{Subject: subject, Reader: reader, Agency: police,
						Channel: "exchange", Service: services[(n/3)%3], Fields: []string{"full_name", "birth_date"}, Purpose: purposes[(n/3)%4],
						CaseRef: fmt.Sprintf("HS-%06d", n), Receipt: strings.Repeat("r", 900)}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if n := len(e.uses(me.CitizenID)); n != 10000 {
			b.Fatalf("%d reads about the person", n)
		}
		for _, page := range []struct{ name, path string }{
			{"first", "/account/data-use"},
			{"filtered", "/account/data-use?purpose=tax&service=insurance.card"},
			{"deep", "/account/data-use?after=200"},
		} {
			b.Run(page.name, func(b *testing.B) {
				browsers := make([]*browser, 4)
				for i := range browsers {
					browsers[i] = e.browser("acct", false)
				}
				lat := drive(b, len(browsers), func(n int) error {
					resp, err := browsers[n%len(browsers)].c.Get(e.srv.URL + page.path)
					if err != nil {
						return err
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						return fmt.Errorf("status %d", resp.StatusCode)
					}
					return nil
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
				b.ReportMetric(lat.quantile(0.99).Seconds()*1000, "p99_ms")
			})
		}
	})
}

// BenchmarkPeerQuery measures a query of another province's service
// (CODE@PEER) through this province's API: this province forwards it over
// mutual TLS on loopback to the peer, which checks the grant, answers and
// seals; this one verifies the receipt's chain and signature and logs the
// message. One client, then 16; the connections between the provinces
// are warm.
func BenchmarkPeerQuery(b *testing.B) {
	b.Run(dbtest.Name(), func(b *testing.B) {
		a, p := twoProvinces(b)
		var subjects []string
		rows, err := p.d.Query(p.ctx, "SELECT citizen_id FROM insurance_cards LIMIT 200")
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			subjects = append(subjects, id)
		}
		rows.Close()
		tok := a.client("hcc-sys", a.agency(registry.ServiceCentre, true).Code)
		p.grant("aprov:hcc-sys", "insurance.card", "card_number", "hospital", "valid_from", "valid_to")
		tr := &http.Transport{MaxIdleConnsPerHost: 16}
		cl := &http.Client{Transport: tr}
		b.Cleanup(tr.CloseIdleConnections)
		ask := func(n int) error {
			req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/api/exchange/v1/query",
				strings.NewReader(body("insurance.card@bprov", subjects[n%len(subjects)], "health_care", fmt.Sprint("KCB-", n))))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := cl.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
		for n := range 64 { // warm: both sides' connections and seals
			if err := ask(n); err != nil {
				b.Fatal(err)
			}
		}
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
				lat := drive(b, clients, ask)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
				b.ReportMetric(lat.quantile(0.99).Seconds()*1000, "p99_ms")
				b.ReportMetric(lat.quantile(0.5).Seconds()*1000, "p50_ms")
			})
		}
	})
}

// BenchmarkQuery is Query in process, without HTTP or tokens: the grant
// read, the registry, the seal, the log and the audit, by 32 callers.
func BenchmarkQuery(b *testing.B) {
	b.Run(dbtest.Name(), func(b *testing.B) {
		e := newEnvWith(b, 2000, 7, "")
		ps := e.persons(func(registry.Person) bool { return true })
		e.grant("bench", "population.person", "citizen_id", "full_name", "birth_date", "sex", "unit")
		c := exchange.Consumer{Name: "bench", Actor: kernel.Actor{Kind: kernel.ActorClient, ID: "bench"}, Agency: e.agency(registry.ServiceCentre, true).Code}
		ask := func(n int) error {
			_, err := e.x.Query(e.ctx, exchange.Request{Service: "population.person", Subject: exchange.SubjectRef{Kind: exchange.SubjectPerson,
				ID: ps[n%len(ps)].CitizenID}, Purpose: "tax", CaseRef: "HS-1", Consumer: c})
			return err
		}
		for n := range 64 {
			if err := ask(n); err != nil {
				b.Fatal(err)
			}
		}
		lat := drive(b, 32, ask)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
		b.ReportMetric(lat.quantile(0.99).Seconds()*1000, "p99_ms")
	})
}
