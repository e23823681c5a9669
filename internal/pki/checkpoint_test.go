package pki_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/pki"
)

// addRecords appends n audit records in one transaction and returns the
// new head.
func (e *env) addRecords(n int) audit.Head {
	e.t.Helper()
	ctx := kernel.WithActor(context.Background(), kernel.System("test"))
	entries := make([]audit.Entry, n)
	for i := range entries {
		entries[i] = audit.Entry{Action: "test.record", SubjectType: "test", SubjectID: fmt.Sprint(i)}
	}
	if err := e.d.Update(ctx, e.clock.Now(), func(tx *db.Tx) error {
		_, err := audit.AppendMany(ctx, tx, entries)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	h, err := audit.ReadHead(ctx, e.d)
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// exec runs a statement on the database behind the services' backs, as an
// attacker with write access would.
func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.d.WritePool().ExecContext(context.Background(), e.d.Rebind(q), args...); err != nil {
		e.t.Fatal(err)
	}
}

// The head is sealed within a minute of a record, or as soon as 1,000
// records wait, whichever comes first; never when nothing was added.
func TestCheckpointDue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p := pki.DefaultCheckpointPolicy()
	due := func(want bool, why string) {
		t.Helper()
		cp, made, err := e.s.CheckpointIfDue(ctx, nil, p)
		if err != nil || made != want {
			t.Fatalf("%s: made %v, want %v (%v)", why, made, want, err)
		}
		if made {
			if h, _ := audit.ReadHead(ctx, e.d); cp.Seq != h.Seq || cp.Hash != h.Hash {
				t.Fatalf("%s: sealed %d %s, head %+v", why, cp.Seq, cp.Hash, h)
			}
		}
	}
	due(true, "first checkpoint (the hierarchy's records)")
	due(false, "nothing new")
	e.addRecords(999)
	due(false, "999 records within the minute")
	e.addRecords(1)
	due(true, "1,000 records")
	e.addRecords(1)
	e.clock.Advance(59 * time.Second)
	due(false, "one record, 59 s")
	e.clock.Advance(time.Second)
	due(true, "one record, a minute")
	e.clock.Advance(time.Hour)
	due(false, "an hour without records")
	e.addRecords(1)
	due(true, "a record after a quiet hour")
}

// logLines collects what the services log, as JSON lines.
type logLines struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) checkpoints(t *testing.T) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m struct{ Msg, Checkpoint string }
		if line != "" && json.Unmarshal([]byte(line), &m) == nil && m.Msg == "audit checkpoint" {
			out = append(out, m.Checkpoint)
		}
	}
	return out
}

// KeepCheckpoints, the job, seals 1,000 new records within a poll, and
// the log stream carries each checkpoint as published.
func TestKeepCheckpoints(t *testing.T) {
	e := newEnv(t)
	logs := &logLines{}
	s, err := pki.New(context.Background(), pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: e.box, Clock: e.clock},
		Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Checkpoint(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.KeepCheckpoints(ctx, nil, pki.CheckpointPolicy{Every: time.Minute, Records: 1000, Poll: 10 * time.Millisecond})
	}()
	head := e.addRecords(1000) // the manual clock stands still: only the count makes it due
	var cp pki.Checkpoint
	for wait := time.Now().Add(30 * time.Second); cp.Seq != head.Seq && time.Now().Before(wait); time.Sleep(10 * time.Millisecond) {
		cp, _ = s.LatestCheckpoint(context.Background())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("KeepCheckpoints: %v", err)
	}
	if cp.Seq != head.Seq || cp.Hash != head.Hash {
		t.Fatalf("1,000 records not sealed: latest %d, head %d", cp.Seq, head.Seq)
	}
	lines := logs.checkpoints(t)
	want, _ := json.Marshal(cp.Published())
	if len(lines) != 2 || lines[1] != string(want) {
		t.Fatalf("logged checkpoints %q, want the last to be %s", lines, want)
	}
	// A deadline near ends it without an error: the next run goes on.
	dctx, dcancel := context.WithTimeout(context.Background(), time.Second)
	defer dcancel()
	if err := s.KeepCheckpoints(dctx, nil, pki.DefaultCheckpointPolicy()); err != nil {
		t.Fatalf("near its deadline: %v", err)
	}
}

// GET /audit/checkpoints/latest and the pages of /audit/checkpoints:
// public JSON, oldest first, each checkpoint as Published, next while full.
func TestCheckpointEndpoints(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	srv := e.serve(e.s)
	get := func(path string) (int, string, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	if code, _, _ := get("/audit/checkpoints/latest"); code != http.StatusNotFound {
		t.Fatalf("latest before the first checkpoint: %d", code)
	}
	var made []pki.Checkpoint
	stamper := e.s.Stamper()
	for i := range 5 {
		e.addRecords(i + 1)
		cp, ok, err := e.s.Checkpoint(ctx, stamper)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		made = append(made, cp)
	}
	code, ctype, body := get("/audit/checkpoints/latest")
	want, _ := json.Marshal(made[4].Published())
	if code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") || string(bytes.TrimSpace(body)) != string(want) {
		t.Fatalf("latest: %d %s %s, want %s", code, ctype, body, want)
	}
	var fields map[string]any
	_ = json.Unmarshal(body, &fields)
	for _, f := range []string{"records", "head", "time", "signer", "signature", "timestamp_token"} {
		if fields[f] == nil || fields[f] == "" {
			t.Errorf("latest lacks %q: %s", f, body)
		}
	}
	if at, err := time.Parse(time.RFC3339Nano, fields["time"].(string)); err != nil || !at.Equal(made[4].At) {
		t.Errorf("time %v, sealed %v", fields["time"], made[4].At)
	}

	for _, tt := range []struct {
		name, query string
		seqs        []int64
		next        string
	}{
		{"ok/first page", "?limit=2", []int64{made[0].Seq, made[1].Seq}, fmt.Sprintf("/audit/checkpoints?after=%d&limit=2", made[1].Seq)},
		{"ok/next page", fmt.Sprintf("?after=%d&limit=2", made[1].Seq), []int64{made[2].Seq, made[3].Seq}, fmt.Sprintf("/audit/checkpoints?after=%d&limit=2", made[3].Seq)},
		{"ok/last page", fmt.Sprintf("?after=%d&limit=2", made[3].Seq), []int64{made[4].Seq}, ""},
		{"ok/default limit", "", []int64{made[0].Seq, made[1].Seq, made[2].Seq, made[3].Seq, made[4].Seq}, ""},
		{"ok/past the end", fmt.Sprintf("?after=%d", made[4].Seq), []int64{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := get("/audit/checkpoints" + tt.query)
			var page pki.CheckpointPage
			if err := json.Unmarshal(body, &page); code != http.StatusOK || err != nil {
				t.Fatalf("%d %v %s", code, err, body)
			}
			if page.Checkpoints == nil || len(page.Checkpoints) != len(tt.seqs) || page.Next != tt.next {
				t.Fatalf("page %s", body)
			}
			for i, p := range page.Checkpoints {
				if p.Records != tt.seqs[i] {
					t.Errorf("checkpoint %d seals %d records, want %d", i, p.Records, tt.seqs[i])
				}
			}
		})
	}
	for _, q := range []string{"?after=-1", "?after=x", "?limit=0", "?limit=1001", "?limit=two"} {
		t.Run("fail/"+q, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/audit/checkpoints"+q, nil)
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "limit") {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
}

// witnessFile keeps copies of the published checkpoints as a witness does,
// from /audit/checkpoints, in a JSON-lines file.
func witnessFile(t *testing.T, srvURL, path string) pki.Kept {
	t.Helper()
	var held []byte
	if b, err := os.ReadFile(path); err == nil {
		held = b
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	k, err := pki.CheckpointClient{}.Keep(context.Background(), srvURL+"/audit/checkpoints?limit=2", pki.ReadWitness(bytes.NewReader(held), "witness.jsonl"), f)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func verifyWitnessFile(t *testing.T, e *env, path string) pki.WitnessReport {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := pki.VerifyWitness(context.Background(), e.d, pki.ReadWitness(f, "witness.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The attack of the issue: delete the newest records, set the head back
// and delete the checkpoints that sealed them. The log and the remaining
// checkpoints verify; a witness's copies do not, and the message names the
// witnessed checkpoint.
func TestWitnessCatchesTruncation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	srv := e.serve(e.s)
	stamper := e.s.Stamper()
	seal := func() pki.Checkpoint {
		t.Helper()
		cp, ok, err := e.s.Checkpoint(ctx, stamper)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		return cp
	}
	path := filepath.Join(t.TempDir(), "witness.jsonl")
	seal()
	kept := e.addRecords(10)
	keptCP := seal()
	if k := witnessFile(t, srv.URL, path); k.Added != 2 || k.Newest.Seq != keptCP.Seq {
		t.Fatalf("first round: %+v", k)
	}
	e.addRecords(5)
	newest := seal()
	if k := witnessFile(t, srv.URL, path); k.Added != 1 || k.Newest.Seq != newest.Seq {
		t.Fatalf("second round: %+v", k)
	}
	if k := witnessFile(t, srv.URL, path); k.Added != 0 {
		t.Fatalf("a round with nothing new added %d", k.Added)
	}
	// Every line is a checkpoint exactly as /audit/checkpoints/latest
	// published it.
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	resp, err := http.Get(srv.URL + "/audit/checkpoints/latest")
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(lines) != 3 || lines[2] != strings.TrimSpace(string(latest)) {
		t.Fatalf("witness file %q, latest %s", lines, latest)
	}
	if rep := verifyWitnessFile(t, e, path); !rep.OK() || rep.Checkpoints != 3 || rep.Stamped != 3 || rep.Newest.Seq != newest.Seq {
		t.Fatalf("intact: %d verified (%d stamped), %q", rep.Checkpoints, rep.Stamped, rep.Problem)
	}

	// The attack.
	e.exec(`DELETE FROM audit_log WHERE seq > ?`, kept.Seq)
	e.exec(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, kept.Seq, kept.Hash)
	e.exec(`DELETE FROM audit_checkpoints WHERE seq > ?`, kept.Seq)
	if rep, err := audit.Verify(ctx, e.d); err != nil || !rep.OK() {
		t.Fatalf("the truncated log should verify on its own (that is the problem): %+v %v", rep, err)
	}
	if rep, err := pki.VerifyCheckpoints(ctx, e.d); err != nil || rep.Problem != "" {
		t.Fatalf("the remaining checkpoints should verify on their own: %+v %v", rep, err)
	}
	rep := verifyWitnessFile(t, e, path)
	if rep.OK() || rep.Bad == nil || rep.Bad.Seq != newest.Seq || rep.Checkpoints != 2 {
		t.Fatalf("truncation not caught: %d verified, %q", rep.Checkpoints, rep.Problem)
	}
	for _, want := range []string{"witness.jsonl line 3", fmt.Sprintf("%d records", newest.Seq), newest.Hash[:12],
		fmt.Sprintf("the log ends at record %d", kept.Seq), "removed"} {
		if !strings.Contains(rep.Problem, want) {
			t.Errorf("the problem does not say %q: %s", want, rep.Problem)
		}
	}
	// The witness's next round sees it too: the list no longer holds the
	// newest checkpoint it keeps.
	f, _ := os.Open(path)
	defer f.Close()
	if _, err := (pki.CheckpointClient{}).Keep(ctx, srv.URL+"/audit/checkpoints", pki.ReadWitness(f, "witness.jsonl"), io.Discard); err == nil ||
		!strings.Contains(err.Error(), "no longer publishes") {
		t.Fatalf("the witness's next round: %v", err)
	}
	// New records past the old count, sealed again, do not hide it: record
	// newest.Seq now has another hash (another time).
	e.clock.Advance(time.Second)
	e.addRecords(int(newest.Seq - kept.Seq + 3))
	seal()
	if rep := verifyWitnessFile(t, e, path); rep.OK() || !strings.Contains(rep.Problem, fmt.Sprintf("record %d was rewritten", newest.Seq)) {
		t.Fatalf("rewritten past the old count: %d verified, %q", rep.Checkpoints, rep.Problem)
	}
	f2, _ := os.Open(path)
	defer f2.Close()
	if _, err := (pki.CheckpointClient{}).Keep(ctx, srv.URL+"/audit/checkpoints", pki.ReadWitness(f2, "witness.jsonl"), io.Discard); err == nil {
		t.Fatal("the witness accepted a list without the checkpoint it holds")
	}
}

// A witnessed checkpoint whose seal, head, count, time or time-stamp was
// changed does not verify, even when the log still has a record of that
// count and hash: the seal is over all of them.
func TestWitnessTampered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.s.StartOnline(ctx); err != nil {
		t.Fatal(err)
	}
	stamper := e.s.Stamper()
	first, _, err := e.s.Checkpoint(ctx, stamper)
	if err != nil {
		t.Fatal(err)
	}
	e.addRecords(3)
	cp, _, err := e.s.Checkpoint(ctx, stamper)
	if err != nil {
		t.Fatal(err)
	}
	other := sha256.Sum256([]byte("another checkpoint"))
	otherToken, err := stamper.Stamp(ctx, other[:])
	if err != nil {
		t.Fatal(err)
	}
	line := func(p pki.Published) string {
		b, _ := json.Marshal(p)
		return string(b)
	}
	good := cp.Published()
	flip := func(b64 string) string {
		raw, _ := base64.StdEncoding.DecodeString(b64)
		raw[len(raw)-3] ^= 1
		return base64.StdEncoding.EncodeToString(raw)
	}
	for _, tt := range []struct {
		name   string
		edit   func(p *pki.Published)
		reason string
	}{
		{"ok/as published", func(*pki.Published) {}, ""},
		{"fail/signature changed", func(p *pki.Published) { p.Signature = flip(p.Signature) }, "seal does not verify"},
		{"fail/another checkpoint's signature", func(p *pki.Published) { p.Signature = first.Published().Signature }, "seal does not verify"},
		{"fail/head of an earlier record", func(p *pki.Published) { p.Records, p.Head = first.Seq, first.Hash }, "seal does not verify"},
		{"fail/time moved", func(p *pki.Published) {
			at, _ := time.Parse(time.RFC3339Nano, p.Time)
			p.Time = at.Add(time.Microsecond).Format("2006-01-02T15:04:05.000000Z07:00")
		}, "seal does not verify"},
		{"fail/time-stamp changed", func(p *pki.Published) { p.Timestamp = flip(p.Timestamp) }, "time-stamp"},
		{"fail/time-stamp of another digest", func(p *pki.Published) { p.Timestamp = base64.StdEncoding.EncodeToString(otherToken) }, "time-stamp"},
		{"fail/unknown signer", func(p *pki.Published) { p.Signer = "4242" }, "unknown"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := good
			tt.edit(&p)
			rep, err := pki.VerifyWitness(ctx, e.d, pki.ReadWitness(strings.NewReader(line(first.Published())+"\n"+line(p)+"\n"), "w.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.reason == "" {
				if !rep.OK() || rep.Checkpoints != 2 || rep.Stamped != 2 {
					t.Fatalf("%d verified (%d stamped): %q", rep.Checkpoints, rep.Stamped, rep.Problem)
				}
				return
			}
			if rep.OK() || rep.Bad == nil || !strings.Contains(rep.Problem, "w.jsonl line 2") || !strings.Contains(rep.Problem, tt.reason) {
				t.Fatalf("want %q: %q", tt.reason, rep.Problem)
			}
		})
	}
}

// ReadWitness takes JSON lines of checkpoints and pages, and names the
// line of anything else.
func TestReadWitness(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cp, _, err := e.s.Checkpoint(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	one, _ := json.Marshal(cp.Published())
	page, _ := json.Marshal(pki.CheckpointPage{Checkpoints: []pki.Published{cp.Published(), cp.Published()}})
	for _, tt := range []struct {
		name, in string
		n        int
		err      string
	}{
		{"ok/lines", string(one) + "\n\n" + string(one) + "\r\n", 2, ""},
		{"ok/a page", string(page) + "\n", 2, ""},
		{"ok/empty", "", 0, ""},
		{"fail/not JSON", string(one) + "\nhello\n", 1, "w line 2"},
		{"fail/an array", "[1]\n", 0, "w line 1"},
		{"fail/unknown field", strings.Replace(string(one), `"records"`, `"extra":1,"records"`, 1), 0, "w line 1"},
		{"fail/records missing", strings.Replace(string(one), `"records"`, `"recs"`, 1), 0, "w line 1"},
		{"fail/short head", strings.Replace(string(one), cp.Hash, cp.Hash[:10], 1), 0, "w line 1"},
		{"fail/bad time", strings.Replace(string(one), cp.Published().Time, "yesterday", 1), 0, "w line 1"},
		{"fail/bad base64", strings.Replace(string(one), cp.Published().Signature, "!!", 1), 0, "w line 1"},
		{"fail/a page of junk", `{"checkpoints":[1,2]}`, 0, "w line 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			var gotErr error
			for w, err := range pki.ReadWitness(strings.NewReader(tt.in), "w") {
				if err != nil {
					gotErr = err
					break
				}
				if w.Seq != cp.Seq || string(w.Raw) != string(one) {
					t.Errorf("read %+v", w)
				}
				n++
			}
			if n != tt.n {
				t.Errorf("read %d checkpoints, want %d", n, tt.n)
			}
			if tt.err == "" && gotErr != nil || tt.err != "" && (gotErr == nil || !strings.Contains(kernelText(gotErr), tt.err)) {
				t.Errorf("error %v, want one naming %q", gotErr, tt.err)
			}
		})
	}
}

// kernelText is an error's message key and arguments, for matching.
func kernelText(err error) string {
	key, args := kernel.ErrorKey(err)
	return fmt.Sprint(key, args)
}

// Fetch follows the pages of /audit/checkpoints on the same host only.
func TestFetchStaysOnHost(t *testing.T) {
	e := newEnv(t)
	cp, _, err := e.s.Checkpoint(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := json.Marshal(pki.CheckpointPage{Checkpoints: []pki.Published{cp.Published()}, Next: "http://elsewhere.example/audit/checkpoints?after=9"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(page) }))
	defer srv.Close()
	n := 0
	var last error
	for _, err := range (pki.CheckpointClient{}).Fetch(context.Background(), srv.URL+"/audit/checkpoints", 0) {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if n != 1 || last == nil {
		t.Fatalf("read %d, error %v: the next page elsewhere was followed", n, last)
	}
	for _, u := range []string{"ftp://x/audit/checkpoints", "/audit/checkpoints", "http:///x"} {
		for _, err := range (pki.CheckpointClient{}).Fetch(context.Background(), u, 0) {
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Errorf("%s: %v", u, err)
			}
			break
		}
	}
}
