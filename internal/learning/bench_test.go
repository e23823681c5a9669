package learning

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/exchange"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/web"
)

// latencies collects per-operation times from parallel workers.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}

// cpuTime is the process's CPU time so far (user and system): on a
// shared machine the wall-clock figures depend on the neighbours, the
// CPU per operation does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (l *latencies) report(b *testing.B, elapsed, cpu time.Duration, unit string) {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(l.d)), "cpu-µs/op")
	p := func(q float64) float64 { return float64(l.d[min(len(l.d)-1, int(q*float64(len(l.d))))]) / 1e6 }
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), unit)
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op") // the figures above say it; ns/op of a parallel benchmark misleads
}

// BenchmarkSubmitAttempt: quiz submissions scored and stored, from many
// learners at once, each a lesson quiz of five questions answered from
// the form (scoring, the attempt's update, mastery, the audit record).
// go test -run XXX -bench SubmitAttempt -cpu 2 ./internal/learning
func BenchmarkSubmitAttempt(b *testing.B) {
	submit := newSubmissions(b, b.N)
	var next int64
	var mu sync.Mutex
	lat := &latencies{}
	b.SetParallelism(16)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			mu.Lock()
			i := next
			next++
			mu.Unlock()
			t0 := time.Now()
			if err := submit(int(i)); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		lat.add(mine)
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	lat.report(b, elapsed, cpu, "submissions/s")
	b.Logf("%s: %d submissions in %v", dbtest.Name(), b.N, elapsed)
}

// newSubmissions prepares n open attempts at a lesson quiz of five
// questions, spread over 64 learners, and returns the submission of the
// i-th with the right answers from the form.
func newSubmissions(b *testing.B, n int) func(i int) error {
	b.Helper()
	e := newEnvSized(b, 400)
	learners := append(append([]registry.Person(nil), e.persons...), e.teens...)
	if len(learners) > 64 {
		learners = learners[:64]
	}
	// One attempt started the ordinary way, to copy for every submission.
	first := learners[0].CitizenID
	tmpl, err := e.s.StartAttempt(e.as(first), first, "traffic-safety", "02-cycling")
	if err != nil {
		b.Fatal(err)
	}
	a := e.attempt(tmpl)
	form := rightAnswers(b, a)
	var items string
	if err := e.d.QueryRow(e.ctx, `SELECT items FROM learning_attempts WHERE id = ?`, tmpl).Scan(&items); err != nil {
		b.Fatal(err)
	}
	enrolments := make([]string, len(learners))
	ctxs := make([]context.Context, len(learners))
	for i, p := range learners {
		en, err := e.s.Enrol(e.as(p.CitizenID), p.CitizenID, "traffic-safety")
		if err != nil {
			b.Fatal(err)
		}
		enrolments[i], ctxs[i] = en.ID, e.as(p.CitizenID)
	}
	ids := make([]string, n)
	const chunk = 500
	for start := 0; start < n; start += chunk {
		err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
			for i := start; i < min(n, start+chunk); i++ {
				ids[i] = kernel.NewOrderedID(e.clock.Now())
				k := i % len(learners)
				if _, err := tx.Exec(e.ctx, `INSERT INTO learning_attempts (id, enrolment, learner, course, quiz, started_at, items) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					ids[i], enrolments[k], learners[k].CitizenID, "traffic-safety", "02-cycling", kernel.Micros(tx.Now), items); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return func(i int) error {
		_, err := e.s.SubmitAttempt(ctxs[i%len(learners)], ids[i], form)
		return err
	}
}

// pageSite is the pages on a database seeded for the page benchmarks:
// one school of 50 classes of 40 students, 3 courses set to every class,
// each student enrolled in them with some progress.
type pageSite struct {
	e       *env
	handler http.Handler
	cookie  string
}

func newPageSite(b *testing.B, classes, perClass int) *pageSite {
	e := newEnvSized(b, 400)
	// The pages write to the data-use log as they do in civitas: the
	// exchange's, chained and hashed, in the page's transaction.
	ex, err := exchange.New(exchange.Options{DB: e.d, Clock: e.clock, Registry: e.reg})
	if err != nil {
		b.Fatal(err)
	}
	if e.s, err = New(Options{DB: e.d, Clock: e.clock, People: e.reg, Accounts: e.accounts, Schools: e.schools, Officials: e.officers,
		Certificates: e.certs, Department: "T99.UBND", UseLog: ex}); err != nil {
		b.Fatal(err)
	}
	teacher := e.persons[0].CitizenID
	e.as(teacher)
	school := School{Code: "S-BENCH", Name: "Trường THPT Sông Xanh"}
	courses := []string{"traffic-safety", "online-safety", "eid-wallet-signature"}
	for c := 0; c < classes; c++ {
		var roll []registry.Person
		for k := 0; k < perClass; k++ {
			roll = append(roll, registry.Person{CitizenID: fmt.Sprintf("099208%06d", c*perClass+k), FullName: "Học sinh " + strconv.Itoa(c*perClass+k)})
		}
		cl := e.schools.addClass(school, fmt.Sprintf("C%02d", c), teacher, roll)
		err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
			for _, course := range courses {
				if _, err := tx.Exec(e.ctx, `INSERT INTO learning_assignments (id, course, school, class, deadline, assigned_by, assigned_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					kernel.NewID(), course, school.Code, cl.ID, kernel.Micros(e.clock.Now().Add(30*24*time.Hour)), teacher, kernel.Micros(tx.Now)); err != nil {
					return err
				}
				for k, p := range roll {
					passed := int64(0)
					if k%3 == 0 {
						passed = kernel.Micros(tx.Now)
					}
					if _, err := tx.Exec(e.ctx, `INSERT INTO learning_enrolments (id, course, learner, unit, school, class, enrolled_at, lessons_read, final_used, best, passed_at)
						VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, kernel.NewID(), course, p.CitizenID, "31001", school.Code, cl.ID, kernel.Micros(tx.Now),
						k%6, k%3, 100*(k%10), passed); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	cat, err := i18n.Load()
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := url.Parse("http://civitas.test")
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.s.Mount(ws); err != nil {
		b.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: kernel.ACRLevel2, AuthTime: e.clock.Now()}); err != nil {
			ws.Error(w, r, err)
		}
	})
	h := ws.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://civitas.test/test/login/acct-"+teacher, nil))
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		b.Fatal("no session cookie")
	}
	return &pageSite{e: e, handler: h, cookie: cookies[0].Name + "=" + cookies[0].Value}
}

// get fetches path as the signed-in teacher through the whole handler
// and checks the page holds want.
func (s *pageSite) get(path, want string) error {
	req := httptest.NewRequest(http.MethodGet, "http://civitas.test"+path, nil)
	req.Header.Set("Cookie", s.cookie)
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
		return fmt.Errorf("GET %s: %d", path, rec.Code)
	}
	return nil
}

func (s *pageSite) bench(b *testing.B, path, want string) {
	lat := &latencies{}
	get := func() time.Duration {
		t0 := time.Now()
		err := s.get(path, want)
		d := time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	get() // warm the caches and the statements
	b.SetParallelism(4)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			mine = append(mine, get())
		}
		lat.add(mine)
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	lat.report(b, elapsed, cpu, "pages/s")
}

// BenchmarkClassPage: a teacher's class page, 40 students × 3 courses
// (every read logged to the data-use log), through the whole HTTP stack.
func BenchmarkClassPage(b *testing.B) {
	s := newPageSite(b, 1, 40)
	s.bench(b, "/learning/teach/classes/C00", `class="card student"`)
}

// BenchmarkSchoolPage: a school's page, 50 classes of 40 students × 3 courses.
func BenchmarkSchoolPage(b *testing.B) {
	s := newPageSite(b, 50, 40)
	s.bench(b, "/learning/teach/schools/S-BENCH", "school-total")
}
