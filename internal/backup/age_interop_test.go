package backup_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"civitas/internal/backup"
)

// TestAgeInterop proves the backup is plain age, readable by a tool nobody
// here wrote: the age command (Debian package age) decrypts our backup
// with the identity into a tar archive holding the database, and a backup
// that age encrypted from that archive passes our restore drill. .ci/ops
// installs age; without it the test is skipped.
func TestAgeInterop(t *testing.T) {
	ageBin, err := exec.LookPath("age")
	if err != nil {
		t.Skip("age is not installed (Debian package age)")
	}
	p := newProvince(t)
	id := identity(t)
	dir := t.TempDir()
	idFile := filepath.Join(dir, "key.txt")
	must(t, os.WriteFile(idFile, []byte("# test identity\n"+id.String()+"\n"), 0o600))
	ours := filepath.Join(dir, "ours.age")
	must(t, os.WriteFile(ours, p.backup(t, id), 0o600))

	plain := filepath.Join(dir, "plain.tar")
	if out, err := exec.Command(ageBin, "--decrypt", "--identity", idFile, "--output", plain, ours).CombinedOutput(); err != nil {
		t.Fatalf("age --decrypt: %v: %s", err, out)
	}
	f, err := os.Open(plain)
	must(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		names = append(names, h.Name)
		if h.Name == backup.SQLiteMember || h.Name == backup.PostgresMember {
			head := make([]byte, 16)
			_, err := io.ReadFull(tr, head)
			must(t, err)
			if !bytes.HasPrefix(head, []byte("SQLite format 3\x00")) && !bytes.HasPrefix(head, []byte("PGDMP")) {
				t.Errorf("the database member begins %q", head)
			}
		}
	}
	if len(names) < 3 || names[len(names)-1] != backup.ManifestName {
		t.Fatalf("age gave an archive of %v", names)
	}

	theirs := filepath.Join(dir, "theirs.age")
	if out, err := exec.Command(ageBin, "--encrypt", "--recipient", id.Recipient().String(), "--output", theirs, plain).CombinedOutput(); err != nil {
		t.Fatalf("age --encrypt: %v: %s", err, out)
	}
	tf, err := os.Open(theirs)
	must(t, err)
	defer tf.Close()
	m, proof, err := backup.Drill(opCtx(), tf, []age.Identity{id}, backup.Target{DataDir: t.TempDir(), KEK: p.kek, DSN: p.restoreDSN(t)})
	if err != nil {
		t.Fatalf("our drill of age's file: %v", err)
	}
	if !proof.MAC || len(m.Members) != len(names)-1 {
		t.Errorf("proof %+v, %d members", proof, len(m.Members))
	}
}
