package backup_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"civitas/internal/audit"
	"civitas/internal/backup"
	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
)

var operator = kernel.Actor{Kind: kernel.ActorOperator, ID: "cli:test"}

func opCtx() context.Context { return kernel.WithActor(context.Background(), operator) }

// province is a small database with an audit chain, a checkpoint row and a
// data directory holding a document type and a key beside the data.
type province struct {
	d       *db.DB
	dsn     string
	dataDir string
	kek     []byte
	clock   *kernel.ManualClock
}

func newProvince(t *testing.T) *province {
	t.Helper()
	p := &province{dsn: dbtest.Migrated(t), dataDir: t.TempDir(), kek: bytes.Repeat([]byte{7}, 32),
		clock: kernel.NewManualClock(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC))}
	p.d = dbtest.OpenAt(t, p.dsn, p.dataDir)
	ctx := opCtx()
	for i := range 30 {
		err := p.d.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
			_, err := audit.Append(ctx, tx, audit.Entry{Action: "test.act", SubjectType: "thing", SubjectID: fmt.Sprint("t", i)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	head, err := audit.ReadHead(ctx, p.d)
	if err != nil {
		t.Fatal(err)
	}
	// A checkpoint row as the trust services write it (its seal is theirs
	// to check: the app's tests do, with the real CA).
	err = p.d.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, signer_serial, signature) VALUES (?, ?, ?, ?, ?)`,
			head.Seq, head.Hash, kernel.Micros(p.clock.Now()), "01", "c2ln")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.MkdirAll(filepath.Join(p.dataDir, "wallet", "types"), 0o700))
	must(t, os.WriteFile(filepath.Join(p.dataDir, "wallet", "types", "permit.json"), []byte(`{"code":"permit","secret-marker":"PLAINTEXT-MARKER"}`), 0o600))
	// Course content that does not compress: the backup spans many chunks
	// on either engine.
	noise := make([]byte, 300<<10)
	_, _ = rand.Read(noise)
	must(t, os.MkdirAll(filepath.Join(p.dataDir, "courses"), 0o700))
	must(t, os.WriteFile(filepath.Join(p.dataDir, "courses", "lesson.bin"), noise, 0o600))
	must(t, os.WriteFile(filepath.Join(p.dataDir, "secret.key"), []byte(strings.Repeat("ab", 32)+"\n"), 0o600))
	return p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (p *province) options(rs ...age.Recipient) backup.Options {
	return backup.Options{DB: p.d, DSN: p.dsn, DataDir: p.dataDir, Recipients: rs, KEK: p.kek, Version: "test", Clock: p.clock}
}

func (p *province) backup(t *testing.T, id *age.X25519Identity) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := backup.Create(opCtx(), &buf, p.options(id.Recipient())); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func identity(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRestoreGivesBackTheProvince(t *testing.T) {
	p := newProvince(t)
	id := identity(t)
	file := p.backup(t, id)
	ctx := opCtx()

	target := filepath.Join(t.TempDir(), "restored")
	tgt := backup.Target{DataDir: target, KEK: p.kek, Integrity: true}
	if p.dsn != "" {
		tgt.DSN = dbtest.DSN(t)
	}
	m, proof, err := backup.Restore(ctx, bytes.NewReader(file), []age.Identity{id}, tgt)
	if err != nil {
		t.Fatal(err)
	}
	if !proof.MAC || proof.Records != m.Audit.HeadSeq || m.Audit.CheckpointSeq != m.Audit.HeadSeq {
		t.Errorf("proof %+v, manifest audit %+v", proof, m.Audit)
	}
	if p.dsn == "" && !proof.Integrity {
		t.Error("integrity_check did not run")
	}
	b, err := os.ReadFile(filepath.Join(target, "wallet", "types", "permit.json"))
	if err != nil || !bytes.Contains(b, []byte("PLAINTEXT-MARKER")) {
		t.Errorf("document type not restored: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(target, "secret.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the key-encryption key was restored: %v", err)
	}
	st, err := os.Stat(filepath.Join(target, "wallet", "types", "permit.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("restored file mode %v %v", st, err)
	}
	// The restored database holds what the original held, and the backup
	// itself is recorded in the original's audit log only.
	r := dbtest.OpenAt(t, tgt.DSN, target)
	rh, err := audit.ReadHead(ctx, r)
	if err != nil || rh.Seq != m.Audit.HeadSeq || rh.Hash != m.Audit.HeadHash {
		t.Fatalf("restored head %+v %v, manifest %+v", rh, err, m.Audit)
	}
	oh, _ := audit.ReadHead(ctx, p.d)
	recs, err := audit.List(ctx, p.d, audit.Query{SubjectType: "backup", SubjectID: m.ID})
	if err != nil || len(recs) != 1 || oh.Seq != rh.Seq+1 {
		t.Errorf("backup not audited once in the original: %d records, heads %d/%d, %v", len(recs), oh.Seq, rh.Seq, err)
	}
}

func TestBackupRevealsNothingWithoutTheIdentity(t *testing.T) {
	p := newProvince(t)
	id := identity(t)
	file := p.backup(t, id)
	head, _ := audit.ReadHead(opCtx(), p.d)
	for _, leak := range []string{"SQLite format 3", "PGDMP", "PLAINTEXT-MARKER", "test.act", strings.Repeat("ab", 32), head.Hash[:16], backup.ManifestName} {
		if bytes.Contains(file, []byte(leak)) {
			t.Errorf("the backup contains %q in plain text", leak)
		}
	}
	if !bytes.HasPrefix(file, []byte("age-encryption.org/v1\n")) {
		t.Error("not an age file")
	}
	_, _, err := backup.Drill(opCtx(), bytes.NewReader(file), []age.Identity{identity(t)}, backup.Target{DataDir: t.TempDir()})
	if kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("another identity: %v", err)
	}
}

// cut and flip make damaged copies.
func cut(b []byte, n int) []byte { return append([]byte(nil), b[:n]...) }

func flip(b []byte, at int) []byte {
	c := append([]byte(nil), b...)
	c[at] ^= 0x40
	return c
}

func TestVerifyNamesTheProblem(t *testing.T) {
	p := newProvince(t)
	id := identity(t)
	file := p.backup(t, id)
	if len(file) < 3*64<<10 {
		t.Fatalf("backup of %d bytes: too small to cut between chunks", len(file))
	}
	hdr := bytes.Index(file, []byte("\n---")) // the header's MAC line
	for _, tc := range []struct {
		name string
		file []byte
		key  string
		says string
	}{
		{"fail/truncated_half", cut(file, len(file)/2), "backup.error.truncated", "truncated after"},
		{"fail/truncated_last_byte", cut(file, len(file)-1), "backup.error.truncated", "truncated after"},
		{"fail/truncated_header", cut(file, 40), "backup.error.truncated", "truncated after"},
		{"fail/empty", nil, "backup.error.empty", ""},
		{"fail/altered_middle", flip(file, len(file)/2), "backup.error.altered", "altered"},
		{"fail/altered_header", flip(file, hdr+8), "backup.error.header", ""},
		// Bytes appended to a short last chunk make it fail authentication:
		// the end of the backup is not the end its writer sealed.
		{"fail/appended", append(append([]byte(nil), file...), "more"...), "backup.error.truncated", "truncated after"},
		{"fail/not_age", []byte("SQLite format 3\x00 this is no backup at all"), "backup.error.not_age", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := backup.Drill(opCtx(), bytes.NewReader(tc.file), []age.Identity{id}, backup.Target{DataDir: t.TempDir()})
			key, args := kernel.ErrorKey(err)
			if key != tc.key {
				t.Fatalf("error %v (key %s), want %s", err, key, tc.key)
			}
			if tc.says != "" && (len(args) == 0 || !strings.Contains(fmt.Sprint(args[0]), "iB") && !strings.Contains(fmt.Sprint(args[0]), "bytes")) {
				t.Errorf("the problem does not say where: %v", args)
			}
		})
	}
	t.Run("ok/intact", func(t *testing.T) {
		m, proof, err := backup.Drill(opCtx(), bytes.NewReader(file), []age.Identity{id}, backup.Target{DataDir: t.TempDir(), KEK: p.kek, DSN: p.restoreDSN(t)})
		if err != nil {
			t.Fatal(err)
		}
		if !proof.MAC || proof.Records != m.Audit.HeadSeq {
			t.Errorf("proof %+v", proof)
		}
	})
}

// members decrypts a backup into its archive's members, as someone
// holding the identity would, to repack it.
func members(t *testing.T, file []byte, id age.Identity) (names []string, bodies map[string][]byte) {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(file), id)
	must(t, err)
	tr := tar.NewReader(r)
	bodies = map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, bodies
		}
		must(t, err)
		b, err := io.ReadAll(tr)
		must(t, err)
		names = append(names, h.Name)
		bodies[h.Name] = b
	}
}

// repack encrypts members to the recipient, as anyone who knows the
// (public) recipient could.
func repack(t *testing.T, names []string, bodies map[string][]byte, r age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	must(t, err)
	tw := tar.NewWriter(w)
	for _, n := range names {
		must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Size: int64(len(bodies[n])), Mode: 0o600}))
		_, err := tw.Write(bodies[n])
		must(t, err)
	}
	must(t, tw.Close())
	must(t, w.Close())
	return buf.Bytes()
}

func TestManifestFindsARepackedArchive(t *testing.T) {
	p := newProvince(t)
	id := identity(t)
	file := p.backup(t, id)
	names, bodies := members(t, file, id)
	if names[len(names)-1] != backup.ManifestName {
		t.Fatalf("the manifest is not last: %v", names)
	}
	dbMember := names[0]
	without := func(drop string) []string {
		var out []string
		for _, n := range names {
			if n != drop {
				out = append(out, n)
			}
		}
		return out
	}
	changed := func(name string, f func([]byte) []byte) map[string][]byte {
		c := map[string][]byte{}
		for k, v := range bodies {
			c[k] = v
		}
		c[name] = f(append([]byte(nil), bodies[name]...))
		return c
	}
	// A forger who rewrites the manifest's hashes too cannot make its MAC.
	forged := func() map[string][]byte {
		var m backup.Manifest
		must(t, json.Unmarshal(bodies[backup.ManifestName], &m))
		c := changed("data/wallet/types/permit.json", func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("permit"), []byte("forged")) })
		for i := range m.Members {
			if m.Members[i].Name == "data/wallet/types/permit.json" {
				m.Members[i].SHA256 = sha(c["data/wallet/types/permit.json"])
			}
		}
		c[backup.ManifestName], _ = json.Marshal(m)
		return c
	}()
	extra := append(append([]string(nil), names[:len(names)-1]...), "data/extra.txt", backup.ManifestName)
	withExtra := changed("data/extra.txt", func([]byte) []byte { return []byte("added") })
	for _, tc := range []struct {
		name   string
		names  []string
		bodies map[string][]byte
		kek    []byte
		key    string
	}{
		{"ok/repacked_unchanged", names, bodies, p.kek, ""},
		{"fail/member_changed", names, changed(dbMember, func(b []byte) []byte { b[len(b)/2] ^= 1; return b }), nil, "backup.error.member_hash"},
		{"fail/member_cut", names, changed(dbMember, func(b []byte) []byte { return b[:len(b)-4096] }), nil, "backup.error.member_size"},
		{"fail/member_missing", without("data/wallet/types/permit.json"), bodies, nil, "backup.error.member_missing"},
		{"fail/member_added", extra, withExtra, nil, "backup.error.member_unlisted"},
		{"fail/no_manifest", without(backup.ManifestName), bodies, nil, "backup.error.no_manifest"},
		{"fail/manifest_forged", names, forged, p.kek, "backup.error.mac"},
		{"fail/other_kek", names, bodies, bytes.Repeat([]byte{8}, 32), "backup.error.other_kek"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := repack(t, tc.names, tc.bodies, id.Recipient())
			_, _, err := backup.Drill(opCtx(), bytes.NewReader(f), []age.Identity{id}, backup.Target{DataDir: t.TempDir(), KEK: tc.kek})
			if key, _ := kernel.ErrorKey(err); key != tc.key && !(tc.key == "" && err == nil) {
				t.Fatalf("error %v (key %s), want %q", err, key, tc.key)
			}
		})
	}
	t.Run("fail/forged_without_kek_passes_hashes", func(t *testing.T) {
		// Without the key only the hashes are checked: the forged manifest
		// agrees with its members. This is why restore asks for --key-file.
		f := repack(t, names, forged, id.Recipient())
		if _, proof, err := backup.Drill(opCtx(), bytes.NewReader(f), []age.Identity{id}, backup.Target{DataDir: t.TempDir()}); err != nil || proof.MAC {
			t.Fatalf("%v %+v", err, proof)
		}
	})
}

func sha(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

func TestOnlyAnOperatorBacksUpAndRestores(t *testing.T) {
	p := newProvince(t)
	id := identity(t)
	file := p.backup(t, id)
	for _, a := range []kernel.Actor{{Kind: kernel.ActorCitizen, ID: "acc"}, {Kind: kernel.ActorOfficial, ID: "off"}, {Kind: kernel.ActorClient, ID: "rp"}, {}} {
		ctx := kernel.WithActor(context.Background(), a)
		if a.Kind == "" {
			ctx = context.Background()
		}
		if _, err := backup.Create(ctx, io.Discard, p.options(id.Recipient())); kernel.ErrorCode(err) != kernel.Forbidden {
			t.Errorf("%s backs up: %v", a.Kind, err)
		}
		if _, _, err := backup.Restore(ctx, bytes.NewReader(file), []age.Identity{id}, backup.Target{DataDir: filepath.Join(t.TempDir(), "x")}); kernel.ErrorCode(err) != kernel.Forbidden {
			t.Errorf("%s restores: %v", a.Kind, err)
		}
		if _, _, err := backup.Drill(ctx, bytes.NewReader(file), []age.Identity{id}, backup.Target{}); kernel.ErrorCode(err) != kernel.Forbidden {
			t.Errorf("%s drills: %v", a.Kind, err)
		}
	}
}

func TestRestoreNeverOverwrites(t *testing.T) {
	p := newProvince(t)
	id := identity(t)
	file := p.backup(t, id)
	target := t.TempDir()
	must(t, os.WriteFile(filepath.Join(target, "keep.txt"), []byte("mine"), 0o600))
	_, _, err := backup.Restore(opCtx(), bytes.NewReader(file), []age.Identity{id}, backup.Target{DataDir: target, DSN: p.restoreDSN(t)})
	if kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("restore into a directory with data: %v", err)
	}
	if p.dsn != "" {
		// Into a database that holds tables: refused before anything is written.
		_, _, err := backup.Restore(opCtx(), bytes.NewReader(file), []age.Identity{id}, backup.Target{DataDir: filepath.Join(t.TempDir(), "n"), DSN: p.dsn})
		if kernel.ErrorCode(err) != kernel.Conflict {
			t.Fatalf("restore into a database with tables: %v", err)
		}
	}
	// A damaged backup leaves nothing behind.
	parent := t.TempDir()
	_, _, err = backup.Restore(opCtx(), bytes.NewReader(cut(file, len(file)-100)), []age.Identity{id}, backup.Target{DataDir: filepath.Join(parent, "new"), DSN: p.restoreDSN(t)})
	if err == nil {
		t.Fatal("restored a cut backup")
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("a failed restore left %d entries", len(left))
	}
}

func (p *province) restoreDSN(t *testing.T) string {
	if p.dsn == "" {
		return ""
	}
	return dbtest.DSN(t)
}

func TestScheduledBackupsKeepTheNewest(t *testing.T) {
	p := newProvince(t)
	id := identity(t)
	dir := filepath.Join(p.dataDir, "backups") // inside the data directory: must not back itself up
	s := backup.Schedule{Dir: dir, Keep: 2, Every: time.Hour}
	var made []string
	for i := range 4 {
		path, _, err := backup.RunScheduled(opCtx(), p.options(id.Recipient()), s)
		must(t, err)
		if path == "" {
			t.Fatalf("period %d: no backup made", i)
		}
		made = append(made, path)
		// A second look in the same period (another instance) makes none.
		again, _, err := backup.RunScheduled(opCtx(), p.options(id.Recipient()), s)
		must(t, err)
		if again != "" {
			t.Fatalf("period %d: two backups", i)
		}
		p.clock.Advance(time.Hour)
	}
	left, err := os.ReadDir(dir)
	must(t, err)
	if len(left) != 2 || left[0].Name() != filepath.Base(made[2]) || left[1].Name() != filepath.Base(made[3]) {
		t.Fatalf("kept %v", left)
	}
	names, _ := members(t, mustRead(t, made[3]), id)
	for _, n := range names {
		if strings.Contains(n, "backups/") {
			t.Errorf("a backup holds a backup: %s", n)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	must(t, err)
	return b
}

// TestRatePacesTheBackup writes a backup to a file (WriteFile: around the
// page cache where it can) at 8 MB/s: it takes at least the time its size
// asks at that pace, not grossly more, and restores.
func TestRatePacesTheBackup(t *testing.T) {
	p := newProvince(t)
	noise := make([]byte, 3<<20)
	_, _ = rand.Read(noise)
	must(t, os.WriteFile(filepath.Join(p.dataDir, "courses", "video.bin"), noise, 0o600))
	id := identity(t)
	o := p.options(id.Recipient())
	o.Rate = 8_000_000
	path := filepath.Join(t.TempDir(), "b.age")
	start := time.Now()
	res, err := backup.WriteFile(opCtx(), path, o)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Duration(float64(res.Manifest.Size()) / float64(o.Rate) * float64(time.Second))
	t.Logf("%d bytes at %d B/s: %v (pace alone %v)", res.Manifest.Size(), o.Rate, took, want)
	if took < want-50*time.Millisecond {
		t.Errorf("%d bytes in %v: faster than %d B/s allows (%v)", res.Manifest.Size(), took, o.Rate, want)
	}
	if took > 3*want+5*time.Second {
		t.Errorf("%d bytes in %v: far slower than the pace asks (%v)", res.Manifest.Size(), took, want)
	}
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	if st, _ := f.Stat(); st.Size() != res.Size {
		t.Errorf("file of %d bytes, backup says %d", st.Size(), res.Size)
	}
	tgt := backup.Target{DataDir: filepath.Join(t.TempDir(), "restored"), KEK: p.kek}
	if p.dsn != "" {
		tgt.DSN = dbtest.DSN(t)
	}
	if _, _, err := backup.Restore(opCtx(), f, []age.Identity{id}, tgt); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(tgt.DataDir, "courses", "video.bin"))
	if err != nil || !bytes.Equal(b, noise) {
		t.Errorf("the paced backup did not restore the data directory: %v", err)
	}
}
