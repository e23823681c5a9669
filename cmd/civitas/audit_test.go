package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"civitas/internal/config"
	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

// civitas audit witness keeps copies of a province's checkpoints, and
// civitas audit verify --witness (a file or a URL) catches the tail of the
// log deleted and the head set back, which audit verify alone cannot.
func TestAuditWitnessCommands(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data", dir}
	c := config.Default()
	c.DataDir = dir
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
		c.DB = dsn
	}
	run := func(args ...string) (int, string) {
		t.Helper()
		code, out, errs := civitas(t, args...)
		return code, out + errs
	}
	if code, out := run(append([]string{"demo", "--persons", "1000"}, storage...)...); code != exitOK {
		t.Fatalf("demo: %s", out)
	}
	if code, out := run(append([]string{"ca", "init"}, storage...)...); code != exitOK {
		t.Fatalf("ca init: %s", out)
	}
	_, agencies := run(append([]string{"registry", "list", "agencies", "--limit", "1", "--json"}, storage...)...)
	var agency struct{ Code string }
	if err := json.Unmarshal([]byte(agencies), &agency); err != nil || agency.Code == "" {
		t.Fatalf("agencies: %v %s", err, agencies)
	}
	// The province: its trust services and checkpoint endpoints on a live
	// server over the same data.
	ctx := context.Background()
	s, done, err := openPKI(ctx, c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	d, err := openDB(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cat, _ := i18n.Load()
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: d, Clock: kernel.SystemClock{}, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Mount(ws); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = ws.Handler()
	srv.Start()
	defer srv.Close()

	head := func() (int64, string) {
		t.Helper()
		var seq int64
		var hash string
		if err := d.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash); err != nil {
			t.Fatal(err)
		}
		return seq, hash
	}
	seal := func() {
		t.Helper()
		if _, ok, err := s.Checkpoint(ctx, s.Stamper()); err != nil || !ok {
			t.Fatalf("checkpoint: %v %v", ok, err)
		}
	}
	seal()
	keptSeq, keptHash := head()
	witness := filepath.Join(t.TempDir(), "copies.jsonl")
	list := srv.URL + "/audit/checkpoints"
	if code, out := run("audit", "witness", "--from", list, "--out", witness); code != exitOK || !strings.Contains(out, "1 new checkpoints appended") {
		t.Fatalf("first round: %d %s", code, out)
	}
	// More records (issuing a seal is audited), sealed, witnessed.
	if code, out := run(append([]string{"cert", "issue", "--agency", agency.Code, "--out", filepath.Join(t.TempDir(), "seal.pem")}, storage...)...); code != exitOK {
		t.Fatalf("cert issue: %s", out)
	}
	seal()
	newest, _ := head()
	if code, out := run("audit", "witness", "--from", list, "--out", witness); code != exitOK || !strings.Contains(out, "1 new checkpoints appended") {
		t.Fatalf("second round: %d %s", code, out)
	}
	if code, out := run("audit", "witness", "--from", list, "--out", witness); code != exitOK || !strings.Contains(out, "0 new checkpoints") {
		t.Fatalf("a round with nothing new: %d %s", code, out)
	}
	b, _ := os.ReadFile(witness)
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Fatalf("the witness holds %d lines:\n%s", n, b)
	}

	for _, w := range []string{witness, list, srv.URL + "/audit/checkpoints/latest"} {
		if code, out := run(append([]string{"audit", "verify", "--witness", w}, storage...)...); code != exitOK || !strings.Contains(out, "was removed or changed") {
			t.Fatalf("verify --witness %s: %d %s", w, code, out)
		}
	}

	// The attack: the tail deleted, the head set back, the checkpoints
	// that sealed the tail deleted.
	for _, q := range []string{`DELETE FROM audit_log WHERE seq > ?`, `DELETE FROM audit_checkpoints WHERE seq > ?`} {
		if _, err := d.WritePool().ExecContext(ctx, d.Rebind(q), keptSeq); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.WritePool().ExecContext(ctx, d.Rebind(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`), keptSeq, keptHash); err != nil {
		t.Fatal(err)
	}
	if code, out := run(append([]string{"audit", "verify"}, storage...)...); code != exitOK {
		t.Fatalf("without a witness the truncation goes unseen (the issue), yet: %d %s", code, out)
	}
	code, out := run(append([]string{"audit", "verify", "--witness", witness}, storage...)...)
	if code != exitFailure || !strings.Contains(out, "copies.jsonl line 2") || !strings.Contains(out, "was removed") {
		t.Fatalf("verify --witness after the truncation: %d %s", code, out)
	}
	t.Logf("audit verify --witness says: %s", strings.TrimSpace(out))
	if !strings.Contains(out, strconv.FormatInt(newest, 10)+" records") {
		t.Errorf("the message does not name the witnessed checkpoint of %d records: %s", newest, out)
	}
	if code, out := run("audit", "witness", "--from", list, "--out", witness); code != exitFailure || !strings.Contains(out, "no longer publishes") {
		t.Fatalf("the witness's next round: %d %s", code, out)
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/witness without --out", []string{"audit", "witness", "--from", list}, exitUsage, "--from and --out"},
		{"fail/witness from a file path", []string{"audit", "witness", "--from", "copies.jsonl", "--out", witness}, exitFailure, "http"},
		{"fail/verify with a missing witness file", append([]string{"audit", "verify", "--witness", filepath.Join(dir, "none.jsonl")}, storage...), exitFailure, "none.jsonl"},
		{"fail/unknown verb", append([]string{"audit", "seal"}, storage...), exitUsage, "audit witness"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, out := run(tt.args...); code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("%d %s", code, out)
			}
		})
	}
}
