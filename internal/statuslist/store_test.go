package statuslist_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/statuslist"
)

const publicURL = "http://civitas.test"

// env is a store on a fresh database, signing with one P-256 key.
type env struct {
	ctx   context.Context
	d     *db.DB
	s     *statuslist.Store
	key   *ecdsa.PrivateKey
	clock *kernel.ManualClock
}

func newEnv(t testing.TB, o statuslist.Options) *env {
	t.Helper()
	if o.DB == nil {
		o.DB = dbtest.Open(t)
	}
	return newEnvOn(t, o, newKey(t))
}

// newEnvOn makes a store on o.DB: one more process on the same database.
func newEnvOn(t testing.TB, o statuslist.Options, key *ecdsa.PrivateKey) *env {
	t.Helper()
	e := &env{ctx: context.Background(), d: o.DB, key: key, clock: kernel.NewManualClock(time.Now().Truncate(time.Second))}
	o.PublicURL = publicURL
	o.Clock = e.clock
	o.Signer = func(_ context.Context, group string) (statuslist.Signer, error) {
		return statuslist.Signer{Key: key, Kid: "status-" + group}, nil
	}
	s, err := statuslist.NewStore(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close) // before the database closes: cleanups run last first
	e.s = s
	if err := s.Ensure(e.ctx, "wallet"); err != nil {
		t.Fatal(err)
	}
	return e
}

// allocate hands out one entry in a transaction of its own.
func (e *env) allocate(t testing.TB) statuslist.Entry {
	t.Helper()
	var got statuslist.Entry
	err := e.d.Batch(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
		var err error
		got, err = e.s.Allocate(e.ctx, tx, "wallet")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (e *env) set(ent statuslist.Entry, st statuslist.Status) error {
	return e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error { return e.s.Set(e.ctx, tx, ent.List, ent.Index, st) })
}

// relyingParty fetches the list of ent through the real router and verifies
// it as a relying party would.
func (e *env) relyingParty(t *testing.T, h http.Handler, ent statuslist.Entry) *statuslist.List {
	t.Helper()
	u, _ := url.Parse(ent.URI)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u.Path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", u.Path, rec.Code, rec.Body)
	}
	tok, err := statuslist.Verify(rec.Body.Bytes(), statuslist.Expect{URI: ent.URI, Key: &e.key.PublicKey, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return tok.List
}

// router serves the tokens as their publisher does, in the simplest way:
// the wallet's handler (and its HTTP tests) are the wallet's.
func (e *env) router(testing.TB) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+statuslist.PathPrefix+"{list}", func(w http.ResponseWriter, r *http.Request) {
		p, err := e.s.Published(r.Context(), r.PathValue("list"))
		if err != nil {
			http.Error(w, "no such list", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", statuslist.MediaType)
		_, _ = w.Write(p.Token)
	})
	return mux
}

type slot struct {
	list string
	idx  int
}

// allocateMany runs n allocations from workers goroutines, each in a
// db.Batch call, retrying while the next list is being made; fail says which
// calls roll back after allocating. It returns the entries of the calls that
// committed and of those that rolled back.
func allocateMany(t *testing.T, e *env, n, workers int, fail func(i int) bool) (committed, rolledBack []statuslist.Entry) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	errc := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for i := range next {
				for {
					var got statuslist.Entry
					err := e.d.Batch(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
						var err error
						if got, err = e.s.Allocate(e.ctx, tx, "wallet"); err != nil {
							return err
						}
						if fail(i) {
							return errRollback
						}
						return nil
					})
					if kernel.ErrorCode(err) == kernel.Unavailable {
						time.Sleep(time.Millisecond) // the next list is being made
						continue
					}
					mu.Lock()
					switch {
					case errors.Is(err, errRollback):
						rolledBack = append(rolledBack, got)
					case err != nil:
						errc <- err
					default:
						committed = append(committed, got)
					}
					mu.Unlock()
					break
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	return committed, rolledBack
}

var errRollback = errors.New("the caller's document failed")

// checkDistinct fails on an index handed out twice, or outside its list.
func checkDistinct(t *testing.T, e *env, size int, sets ...[]statuslist.Entry) map[string]int {
	t.Helper()
	seen := map[slot]bool{}
	perList := map[string]int{}
	for _, set := range sets {
		for _, ent := range set {
			k := slot{ent.List, ent.Index}
			if seen[k] {
				t.Fatalf("index %d of %s handed out twice", ent.Index, ent.List)
			}
			seen[k] = true
			perList[ent.List]++
			if ent.Index < 0 || ent.Index >= size || ent.URI != publicURL+"/status/"+ent.List {
				t.Fatalf("entry %+v out of bounds", ent)
			}
		}
	}
	return perList
}

func countEntries(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM status_list_entries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAllocate(t *testing.T) {
	t.Run("ok/20000 concurrent, one list", func(t *testing.T) {
		e := newEnv(t, statuslist.Options{})
		got, _ := allocateMany(t, e, 20_000, 64, func(int) bool { return false })
		per := checkDistinct(t, e, statuslist.DefaultSize, got)
		if len(got) != 20_000 || len(per) != 1 || countEntries(t, e) != 20_000 {
			t.Fatalf("%d entries in %d lists, %d rows", len(got), len(per), countEntries(t, e))
		}
		// Random, not in order: the first hundred handed out are spread
		// over the list.
		lo, hi := statuslist.DefaultSize, 0
		for _, ent := range got[:100] {
			lo, hi = min(lo, ent.Index), max(hi, ent.Index)
		}
		if hi-lo < statuslist.DefaultSize/2 {
			t.Fatalf("the first 100 indexes span only %d..%d", lo, hi)
		}
	})
	t.Run("ok/across lists", func(t *testing.T) {
		e := newEnv(t, statuslist.Options{Size: 256, Fill: 0.75})
		got, _ := allocateMany(t, e, 3_000, 16, func(int) bool { return false })
		per := checkDistinct(t, e, 256, got)
		if len(got) != 3_000 || len(per) < 3_000/256 {
			t.Fatalf("%d entries in %d lists", len(got), len(per))
		}
		for list, n := range per {
			if n > 256 {
				t.Fatalf("list %s has %d entries", list, n)
			}
		}
	})
	t.Run("ok/two processes on one database", func(t *testing.T) {
		dsn, dir := dbtest.Migrated(t), t.TempDir()
		key := newKey(t)
		a := newEnvOn(t, statuslist.Options{DB: dbtest.OpenAt(t, dsn, dir), Size: 4096}, key)
		b := newEnvOn(t, statuslist.Options{DB: dbtest.OpenAt(t, dsn, dir), Size: 4096}, key)
		var ga, gb []statuslist.Entry
		var wg sync.WaitGroup
		wg.Go(func() { ga, _ = allocateMany(t, a, 3_000, 8, func(int) bool { return false }) })
		wg.Go(func() { gb, _ = allocateMany(t, b, 3_000, 8, func(int) bool { return false }) })
		wg.Wait()
		checkDistinct(t, a, 4096, ga, gb)
		if n := countEntries(t, a); n != 6_000 {
			t.Fatalf("%d rows", n)
		}
	})
	t.Run("fail/bad group", func(t *testing.T) {
		e := newEnv(t, statuslist.Options{})
		err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
			_, err := e.s.Allocate(e.ctx, tx, "Wallet/../x")
			return err
		})
		if kernel.ErrorCode(err) != kernel.Invalid {
			t.Fatalf("Allocate = %v", err)
		}
	})
	t.Run("fail/group never ensured", func(t *testing.T) {
		e := newEnv(t, statuslist.Options{})
		err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
			_, err := e.s.Allocate(e.ctx, tx, "agency-x")
			return err
		})
		if kernel.ErrorCode(err) != kernel.Unavailable {
			t.Fatalf("Allocate = %v", err)
		}
	})
}

func TestAllocateRollback(t *testing.T) {
	e := newEnv(t, statuslist.Options{Size: 8192})
	// A whole transaction rolled back: its entries are gone from the
	// database, and this process never hands them out again.
	var gone []statuslist.Entry
	err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
		for range 100 {
			ent, err := e.s.Allocate(e.ctx, tx, "wallet")
			if err != nil {
				return err
			}
			gone = append(gone, ent)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) || countEntries(t, e) != 0 {
		t.Fatalf("Update = %v, %d rows", err, countEntries(t, e))
	}
	// Batch calls of which every third rolls back its savepoint only.
	committed, rolledBack := allocateMany(t, e, 3_000, 32, func(i int) bool { return i%3 == 0 })
	checkDistinct(t, e, 8192, gone, committed, rolledBack)
	if len(rolledBack) != 1_000 || countEntries(t, e) != len(committed) {
		t.Fatalf("%d rolled back, %d committed, %d rows", len(rolledBack), len(committed), countEntries(t, e))
	}
	for _, ent := range append(gone, rolledBack...) {
		var n int
		e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM status_list_entries WHERE list_id = ? AND idx = ?`, ent.List, ent.Index).Scan(&n)
		if n != 0 {
			t.Fatalf("rolled-back entry %d still recorded", ent.Index)
		}
	}
}

func TestRevokeSuspendReinstate(t *testing.T) {
	e := newEnv(t, statuslist.Options{})
	h := e.router(t)
	var ents []statuslist.Entry
	for range 50 {
		ents = append(ents, e.allocate(t))
	}
	expect := func(t *testing.T, want map[int]statuslist.Status) {
		t.Helper()
		l := e.relyingParty(t, h, ents[0])
		for i := range l.Len() {
			got, err := l.Get(i)
			if err != nil || got != want[i] {
				t.Fatalf("status[%d] = %v, %v; want %v", i, got, err, want[i])
			}
		}
		for i, s := range want {
			if got, err := e.s.Status(e.ctx, ents[0].List, i); err != nil || got != s {
				t.Fatalf("issuer sees status[%d] = %v, %v", i, got, err)
			}
		}
	}
	revoked, suspended := ents[7], ents[3]
	steps := []struct {
		name string
		ent  statuslist.Entry
		to   statuslist.Status
		code kernel.Code
		want map[int]statuslist.Status
	}{
		{"ok/revoke", revoked, statuslist.Invalid, "", map[int]statuslist.Status{revoked.Index: statuslist.Invalid}},
		{"ok/suspend", suspended, statuslist.Suspended, "", map[int]statuslist.Status{revoked.Index: statuslist.Invalid, suspended.Index: statuslist.Suspended}},
		{"ok/reinstate", suspended, statuslist.Valid, "", map[int]statuslist.Status{revoked.Index: statuslist.Invalid}},
		{"fail/un-revoke", revoked, statuslist.Valid, kernel.Conflict, map[int]statuslist.Status{revoked.Index: statuslist.Invalid}},
		{"fail/suspend a revoked one", revoked, statuslist.Suspended, kernel.Conflict, map[int]statuslist.Status{revoked.Index: statuslist.Invalid}},
		{"ok/revoke again", revoked, statuslist.Invalid, "", map[int]statuslist.Status{revoked.Index: statuslist.Invalid}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := e.set(st.ent, st.to); kernel.ErrorCode(err) != st.code {
				t.Fatalf("Set = %v, want %q", err, st.code)
			}
			expect(t, st.want)
		})
	}
	t.Run("ok/rolled back with its transaction", func(t *testing.T) {
		err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
			if err := e.s.Set(e.ctx, tx, ents[9].List, ents[9].Index, statuslist.Invalid); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		expect(t, map[int]statuslist.Status{revoked.Index: statuslist.Invalid})
	})
	t.Run("ok/in one transaction, revocation wins", func(t *testing.T) {
		err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
			for _, to := range []statuslist.Status{statuslist.Suspended, statuslist.Invalid, statuslist.Valid} {
				if err := e.s.Set(e.ctx, tx, ents[11].List, ents[11].Index, to); err != nil {
					return err
				}
			}
			return e.s.Set(e.ctx, tx, ents[12].List, ents[12].Index, statuslist.Suspended)
		})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, map[int]statuslist.Status{revoked.Index: statuslist.Invalid, ents[11].Index: statuslist.Invalid, ents[12].Index: statuslist.Suspended})
	})
	t.Run("fail/wrong sub", func(t *testing.T) {
		tok, err := e.s.Token(e.ctx, ents[0].List)
		if err != nil {
			t.Fatal(err)
		}
		_, err = statuslist.Verify(tok, statuslist.Expect{URI: publicURL + "/status/other", Key: &e.key.PublicKey, Now: e.clock.Now()})
		if k, _ := kernel.ErrorKey(err); k != "statuslist.error.wrong_subject" {
			t.Fatalf("Verify = %v", err)
		}
	})
	t.Run("fail/tampered", func(t *testing.T) {
		tok, _ := e.s.Token(e.ctx, ents[0].List)
		// Flip a revoked bit off in the payload and keep the signature.
		j, _ := jose.Parse(string(tok))
		forged := forgePayload(t, tok, j.Payload)
		if _, err := statuslist.Verify(forged, statuslist.Expect{URI: ents[0].URI, Key: &e.key.PublicKey, Now: e.clock.Now()}); kernel.ErrorCode(err) != kernel.Invalid {
			t.Fatalf("tampered token accepted: %v", err)
		}
	})
}

// forgePayload replaces the payload of tok by an all-VALID list and keeps
// its header and signature.
func forgePayload(t *testing.T, tok, payload []byte) []byte {
	t.Helper()
	parts := strings.Split(string(tok), ".")
	l, _ := statuslist.New(2, statuslist.DefaultSize)
	lst, _ := l.Encode()
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	c["status_list"] = map[string]any{"bits": 2, "lst": lst}
	body, _ := json.Marshal(c)
	return []byte(parts[0] + "." + base64.RawURLEncoding.EncodeToString(body) + "." + parts[2])
}

func TestSetRefuses(t *testing.T) {
	e := newEnv(t, statuslist.Options{Bits: 1})
	ent := e.allocate(t)
	free := (ent.Index + 1) % statuslist.DefaultSize // not handed out: one entry so far
	tests := []struct {
		name string
		list string
		idx  int
		to   statuslist.Status
		code kernel.Code
	}{
		{"fail/unknown list", "nosuchlist", 0, statuslist.Invalid, kernel.NotFound},
		{"fail/odd list id", "../x", 0, statuslist.Invalid, kernel.NotFound},
		{"fail/negative index", ent.List, -1, statuslist.Invalid, kernel.Invalid},
		{"fail/past the end", ent.List, statuslist.DefaultSize, statuslist.Invalid, kernel.Invalid},
		{"fail/never handed out", ent.List, free, statuslist.Invalid, kernel.NotFound},
		{"fail/too wide for 1 bit", ent.List, ent.Index, statuslist.Suspended, kernel.Invalid},
		{"ok/revoke", ent.List, ent.Index, statuslist.Invalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.set(statuslist.Entry{List: tt.list, Index: tt.idx}, tt.to)
			if kernel.ErrorCode(err) != tt.code {
				t.Fatalf("Set = %v, want %q", err, tt.code)
			}
		})
	}
}

func TestTokenCache(t *testing.T) {
	e := newEnv(t, statuslist.Options{TTL: time.Minute})
	ent := e.allocate(t)
	first, err := e.s.Token(e.ctx, ent.List)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		do      func()
		changed bool
	}{
		{"ok/kept while nothing changes", func() { e.clock.Advance(30 * time.Second) }, false},
		{"ok/rebuilt after a change", func() { e.set(ent, statuslist.Suspended) }, true},
		{"ok/kept again", func() {}, false},
		{"ok/rebuilt after the ttl", func() { e.clock.Advance(time.Minute) }, true},
		{"ok/rebuilt after a change made by another process", func() {
			other := newEnvOn(t, statuslist.Options{DB: e.d, TTL: time.Minute}, e.key)
			other.set(ent, statuslist.Valid)
		}, true},
	}
	prev := first
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			tok, err := e.s.Token(e.ctx, ent.List)
			if err != nil {
				t.Fatal(err)
			}
			if changed := string(tok) != string(prev); changed != st.changed {
				t.Fatalf("changed = %v", changed)
			}
			prev = tok
		})
	}
	if _, err := e.s.Token(e.ctx, "nosuchlist"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("Token of an unknown list = %v", err)
	}
}

// TestPublished: the token as published, its gzipped form, an entity tag
// that changes with the token, and what is left of its TTL to cache it.
func TestPublished(t *testing.T) {
	e := newEnv(t, statuslist.Options{TTL: 10 * time.Minute})
	ent := e.allocate(t)
	tok, err := e.s.Token(e.ctx, ent.List)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.s.Published(e.ctx, ent.List)
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Token) != string(tok) || p.MaxAge != 10*time.Minute || !strings.HasPrefix(p.ETag, `"`) {
		t.Fatalf("published %q, max-age %v, etag %q", p.Token, p.MaxAge, p.ETag)
	}
	if p.Gzipped == nil {
		t.Fatal("a token of an empty list does not compress")
	}
	zr, err := gzip.NewReader(bytes.NewReader(p.Gzipped))
	if err != nil {
		t.Fatal(err)
	}
	if body, err := io.ReadAll(zr); err != nil || string(body) != string(tok) {
		t.Fatalf("gunzipped %.60s %v", body, err)
	}
	e.clock.Advance(4 * time.Minute)
	if again, err := e.s.Published(e.ctx, ent.List); err != nil || again.MaxAge != 6*time.Minute || again.ETag != p.ETag {
		t.Fatalf("4 minutes on: max-age %v, etag %q, %v", again.MaxAge, again.ETag, err)
	}
	if err := e.set(ent, statuslist.Invalid); err != nil {
		t.Fatal(err)
	}
	if changed, err := e.s.Published(e.ctx, ent.List); err != nil || changed.ETag == p.ETag || changed.MaxAge != 10*time.Minute {
		t.Fatalf("after a change: etag %q, max-age %v, %v", changed.ETag, changed.MaxAge, err)
	}
	for _, list := range []string{"nosuchlist", "NoSuch List", "../x"} {
		if _, err := e.s.Published(e.ctx, list); kernel.ErrorCode(err) != kernel.NotFound {
			t.Errorf("Published(%q) = %v", list, err)
		}
	}
}

func TestCache(t *testing.T) {
	e := newEnv(t, statuslist.Options{TTL: time.Minute, Lifetime: time.Hour})
	srv := httptest.NewServer(e.router(t))
	defer srv.Close()
	ent := e.allocate(t)
	trust := func(_ context.Context, _ string, h jose.Header) (crypto.PublicKey, error) {
		if h.Kid != "status-wallet" {
			return nil, fmt.Errorf("unknown kid %q", h.Kid)
		}
		return &e.key.PublicKey, nil
	}
	fail := false
	local := func(ctx context.Context, uri string) ([]byte, error) {
		if fail {
			return nil, errors.New("network down")
		}
		return e.s.Fetch(ctx, uri)
	}
	overHTTP := statuslist.FetchHTTP(srv.Client())
	for name, fetch := range map[string]func(context.Context, string) ([]byte, error){
		"local": local,
		"http": func(ctx context.Context, uri string) ([]byte, error) {
			return overHTTP(ctx, srv.URL+uri[len(publicURL):])
		},
	} {
		t.Run("ok/"+name, func(t *testing.T) {
			c, err := statuslist.NewCache(statuslist.CacheOptions{Fetch: fetch, Key: trust, Clock: e.clock})
			if err != nil {
				t.Fatal(err)
			}
			if s, err := c.Status(e.ctx, ent.URI, ent.Index); err != nil || s != statuslist.Valid {
				t.Fatalf("Status = %v, %v", s, err)
			}
		})
	}
	c, _ := statuslist.NewCache(statuslist.CacheOptions{Fetch: local, Key: trust, Clock: e.clock})
	steps := []struct {
		name string
		do   func()
		want statuslist.Status
		code kernel.Code
	}{
		{"ok/first fetch", func() {}, statuslist.Valid, ""},
		{"ok/revoked but cached for the ttl", func() { e.set(ent, statuslist.Suspended) }, statuslist.Valid, ""},
		{"ok/fetched after the ttl", func() { e.clock.Advance(61 * time.Second) }, statuslist.Suspended, ""},
		{"ok/fetch fails before exp: last list", func() { e.set(ent, statuslist.Valid); fail = true; e.clock.Advance(2 * time.Minute) }, statuslist.Suspended, ""},
		{"fail/fetch fails after exp", func() { e.clock.Advance(time.Hour) }, 0, kernel.Unavailable},
		{"ok/back", func() { fail = false }, statuslist.Valid, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			got, err := c.Status(e.ctx, ent.URI, ent.Index)
			if kernel.ErrorCode(err) != st.code || (err == nil && got != st.want) {
				t.Fatalf("Status = %v, %v; want %v, %q", got, err, st.want, st.code)
			}
		})
	}
	t.Run("fail/index out of range", func(t *testing.T) {
		if _, err := c.Status(e.ctx, ent.URI, statuslist.DefaultSize); kernel.ErrorCode(err) != kernel.Invalid {
			t.Fatalf("Status = %v", err)
		}
	})
	t.Run("fail/untrusted key", func(t *testing.T) {
		other, _ := statuslist.NewCache(statuslist.CacheOptions{Fetch: local, Clock: e.clock,
			Key: func(context.Context, string, jose.Header) (crypto.PublicKey, error) { return &newKey(t).PublicKey, nil }})
		if _, err := other.Status(e.ctx, ent.URI, ent.Index); kernel.ErrorCode(err) != kernel.Invalid {
			t.Fatalf("Status = %v", err)
		}
	})
}

func TestFetchHTTPRefuses(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
		code kernel.Code
	}{
		{"fail/not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, kernel.Unavailable},
		{"fail/html", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, kernel.Invalid},
		{"fail/too large", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", statuslist.MediaType)
			w.Write(make([]byte, jose.MaxTokenSize+1))
		}, kernel.Invalid},
		{"ok/media type with parameters", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Accept") != statuslist.MediaType {
				http.Error(w, "accept", http.StatusNotAcceptable)
				return
			}
			w.Header().Set("Content-Type", statuslist.MediaType+"; charset=utf-8")
			w.Write([]byte("a.b.c"))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.h)
			defer srv.Close()
			_, err := statuslist.FetchHTTP(srv.Client())(context.Background(), srv.URL+"/status/x")
			if kernel.ErrorCode(err) != tt.code {
				t.Fatalf("fetch = %v, want %q", err, tt.code)
			}
		})
	}
}
