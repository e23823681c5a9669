package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"civitas/internal/config"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/loadtest"
	"civitas/internal/web"
)

// worklistSite is a running civitas over a province, with a commune's
// official signed in at level 2 and the commune's most populous
// residential area (for its worklist) and the area with the most letters
// to print.
type worklistSite struct {
	base           string
	client         *http.Client
	commune        string
	residents      int64 // living persons of the commune
	area           string
	adults         int64 // of area
	lettersArea    string
	letters        int64 // residents of lettersArea a letter goes to
	worklistLogged func() int64
	lettersLogged  func() int64
}

// newWorklistSite opens the province in CIVITAS_BENCH_PROVINCE (a data
// directory that `civitas demo --data DIR --persons 3000000` made; its
// key in CIVITAS_BENCH_KEY_FILE) or, when that is unset, a new demo
// province of 3,000 persons.
func newWorklistSite(b *testing.B) *worklistSite {
	b.Helper()
	ctx := kernel.WithActor(context.Background(), kernel.System("bench"))
	cfg := config.Default()
	if dir := os.Getenv("CIVITAS_BENCH_PROVINCE"); dir != "" {
		cfg.DataDir, cfg.KeyFile = dir, os.Getenv("CIVITAS_BENCH_KEY_FILE")
		if cfg.KeyFile == "" {
			cfg.KeyFile = filepath.Join(dir, "secret.key")
		}
	} else {
		cfg.DataDir, cfg.Demo, cfg.DemoPersons = b.TempDir(), true, 3000
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &worklistSite{base: "http://" + ln.Addr().String()}
	cfg.PublicURL = s.base
	a, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	// A stand-in for the login pages: the benchmark says who is signed in.
	a.web.HandleFunc("GET /bench/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := a.web.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: kernel.ACRLevel2, AuthTime: time.Now()}); err != nil {
			a.web.Error(w, r, err)
		}
	})
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close(); _ = a.Close() })

	scan := func(q string, args []any, dst ...any) {
		b.Helper()
		if err := a.db.QueryRow(ctx, q, args...).Scan(dst...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	// The smallest commune of at least CIVITAS_WORKLIST_RESIDENTS living
	// persons (from the kept headcounts; default 20,000, the size issue 21
	// names), or the largest when none is that large. (The demo's rural
	// communes have about 15,000 persons at 3,000,000, its wards about
	// 39,000.)
	size := 20000
	if v := os.Getenv("CIVITAS_WORKLIST_RESIDENTS"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 0 {
			b.Fatalf("CIVITAS_WORKLIST_RESIDENTS=%q: a number of persons", v)
		}
	}
	scan(`SELECT unit_code, SUM(living) FROM person_year_cells GROUP BY unit_code
		ORDER BY SUM(living) < ?, CASE WHEN SUM(living) >= ? THEN SUM(living) ELSE -SUM(living) END, 1 LIMIT 1`,
		[]any{size, size}, &s.commune, &s.residents)
	adult := time.Now().In(kernel.Zone()).AddDate(-18, 0, 0).Format(time.DateOnly)
	// Its residential area with the most adults, and the one with the most
	// adults without a phone of their own and without an active level-2
	// account: the letters' addressees.
	scan(`SELECT r.area_code, COUNT(*) FROM residences r JOIN residential_areas ra ON ra.code = r.area_code
		JOIN persons p ON p.household_id = r.household_id
		WHERE ra.unit_code = ? AND r.relation = 'head' AND r.kind = 'permanent' AND r.until_date = ''
		AND p.died_on = '' AND p.birth_date <= ? GROUP BY r.area_code ORDER BY 2 DESC, 1 LIMIT 1`,
		[]any{s.commune, adult}, &s.area, &s.adults)
	scan(`SELECT r.area_code, COUNT(*) FROM residences r JOIN residential_areas ra ON ra.code = r.area_code
		JOIN persons p ON p.household_id = r.household_id
		WHERE ra.unit_code = ? AND r.relation = 'head' AND r.kind = 'permanent' AND r.until_date = ''
		AND p.died_on = '' AND p.birth_date <= ? AND p.phone = ''
		AND NOT EXISTS (SELECT 1 FROM accounts ac WHERE ac.citizen_id = p.citizen_id AND ac.level = 2 AND ac.status = 'active')
		GROUP BY r.area_code ORDER BY 2 DESC, 1 LIMIT 1`,
		[]any{s.commune, adult}, &s.lettersArea, &s.letters)
	// An official of an agency of the commune, given a level-2 account.
	var cid string
	scan(`SELECT o.citizen_id FROM officials o JOIN agencies ag ON ag.code = o.agency_code
		WHERE ag.unit_code = ? AND o.citizen_id NOT IN (SELECT citizen_id FROM accounts) ORDER BY o.citizen_id LIMIT 1`,
		[]any{s.commune}, &cid)
	acc, err := a.identity.AddAccount(ctx, identity.NewAccount{CitizenID: cid, Level: 2, Password: "a long bench password 9"})
	if err != nil {
		b.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	s.client = &http.Client{Jar: jar, Transport: tr, Timeout: time.Minute}
	b.Cleanup(tr.CloseIdleConnections)
	resp, err := s.client.Get(s.base + "/bench/login/" + acc.ID)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	logged := func(channel string) func() int64 {
		return func() int64 {
			var n int64
			scan(`SELECT COUNT(*) FROM exchange_log WHERE channel = ?`, []any{channel}, &n)
			return n
		}
	}
	s.worklistLogged, s.lettersLogged = logged("stats.worklist"), logged("stats.letters")
	return s
}

// get asks path as the official and reads the answer whole; an answer
// other than 200 of type want is an error.
func (s *worklistSite) get(path, want string) error {
	_, err := s.size(path, want)
	return err
}

// size is get's, with the length of the answer (uncompressed).
func (s *worklistSite) size(path, want string) (int64, error) {
	resp, err := s.client.Get(s.base + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), want) {
		return n, fmt.Errorf("%s: %d %s, %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), n)
	}
	return n, nil
}

// BenchmarkWorklistAt is the first page of a commune's worklist for its
// most populous residential area (the adults still lacking a level-2
// account, its activation or a signature, by household, PageSize at most;
// each listed person a row in the data-use log), asked by a signed-in official at
// CIVITAS_WORKLIST_RATE a second (default 5) for CIVITAS_LOAD_DURATION
// (default 20s), as an open loop: the p99 is what an official sees at that
// rate. Issue 21 asks p99 < 100 ms in a commune of 20,000 residents: give
// it a province of 3,000,000 persons in CIVITAS_BENCH_PROVINCE (see
// bench/stats.sh). Run it with -benchtime 1x.
func BenchmarkWorklistAt(b *testing.B) {
	rate, err := loadtest.RateFromEnv("CIVITAS_WORKLIST_RATE", 5)
	if err != nil {
		b.Fatal(err)
	}
	dur, err := loadtest.DurationFromEnv(20 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	warm, err := loadtest.WarmupFromEnv(2 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	s := newWorklistSite(b)
	path := "/officer/worklist?unit=" + s.commune + "&area=" + s.area
	before := s.worklistLogged()
	size, err := s.size(path, "text/html")
	if err != nil {
		b.Fatal(err)
	}
	listed := s.worklistLogged() - before
	if listed == 0 {
		b.Fatal("the worklist listed nobody")
	}
	b.Logf("commune %s: %d residents; area %s: %d adults, %d listed a view (%d bytes)", s.commune, s.residents, s.area, s.adults, listed, size)
	b.ResetTimer()
	for range b.N {
		r, err := loadtest.Run(context.Background(), loadtest.Config{Rate: rate, Duration: dur, Warmup: warm}, func() error {
			return s.get(path, "text/html")
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Log(r)
		if r.Errors > 0 {
			b.Fatalf("%d of %d failed, the first: %v", r.Errors, r.Completed, r.FirstErr)
		}
		r.Report(b, "pages/s")
	}
	b.ReportMetric(float64(s.residents), "commune-residents")
	b.ReportMetric(float64(listed), "listed/page")
	b.ReportMetric(float64(size)/1024, "KiB/page")
}

// BenchmarkLetters is the letters PDF of the residential area of the
// commune of BenchmarkWorklistAt with the most adults who have no phone
// of their own and no active level-2 account (a letter and a line on the
// cover each), one PDF after another: issue 21 asks < 5 s for 500 people.
func BenchmarkLetters(b *testing.B) {
	s := newWorklistSite(b)
	path := "/officer/worklist/letters.pdf?unit=" + s.commune + "&area=" + s.lettersArea
	before := s.lettersLogged()
	if err := s.get(path, "application/pdf"); err != nil {
		b.Fatal(err)
	}
	letters := s.lettersLogged() - before
	if letters == 0 {
		b.Fatal(errors.New("no letters"))
	}
	b.Logf("commune %s: area %s, %d letters a PDF", s.commune, s.lettersArea, letters)
	b.ResetTimer()
	for b.Loop() {
		if err := s.get(path, "application/pdf"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(letters), "letters/pdf")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N)/float64(letters), "ms/letter")
}
