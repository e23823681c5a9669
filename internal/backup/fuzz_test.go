package backup_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path"
	"strings"
	"testing"

	"civitas/internal/backup"
)

// FuzzCheckName: a name CheckName accepts never climbs out of the
// directory a restore writes into, and never stands where the database does.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"data/a.json", "data/../x", "data//x", "data/./x", "/etc/passwd", "data/", "db/civitas.db",
		"data/civitas.db", "data/a\\..\\b", "data/a/b/c.txt", "data/..", "data/x/", "MANIFEST.json"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if backup.CheckName(name) != nil {
			return
		}
		if name == backup.SQLiteMember || name == backup.PostgresMember {
			return
		}
		rel := strings.TrimPrefix(name, backup.DataPrefix)
		if rel == name || path.IsAbs(rel) || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "/../") || strings.Contains(rel, "\\") ||
			rel == "civitas.db" || strings.Contains(rel, "\x00") {
			t.Fatalf("accepted %q", name)
		}
	})
}

// FuzzParseManifest: any input either parses into a manifest whose every
// member name CheckName accepts, or is refused; never a panic.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format":"civitas-backup/1","id":"x","created":"2026-01-01T00:00:00Z","civitas_version":"t","dialect":"sqlite","schema":"0001",
		"audit":{"head_seq":1,"head_hash":"h","checkpoint_seq":0},"members":[{"name":"db/civitas.db","size":1,"sha256":"` + strings.Repeat("a", 64) + `"}]}`))
	f.Add([]byte(`{"format":"civitas-backup/1","dialect":"postgres","members":[{"name":"data/../x","size":1,"sha256":""}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := backup.ParseManifest(b)
		if err != nil {
			return
		}
		for _, x := range m.Members {
			if backup.CheckName(x.Name) != nil {
				t.Fatalf("parsed a manifest with member %q", x.Name)
			}
		}
	})
}

// FuzzRead feeds the archive walk what anyone who knows the (public)
// recipient can make decrypt well: arbitrary plaintext. It refuses or
// accepts, and never panics or hands visit a name CheckName refuses. (The
// age layer is age's, fuzzed by its authors; TestVerifyNamesTheProblem
// damages it.)
func FuzzRead(f *testing.F) {
	tarOf := func(names ...string) []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, n := range names {
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Size: 3, Mode: 0o600})
			_, _ = tw.Write([]byte("abc"))
		}
		_ = tw.Close()
		return buf.Bytes()
	}
	f.Add(tarOf("db/civitas.db", "MANIFEST.json"))
	f.Add(tarOf("data/../../etc/x", "MANIFEST.json"))
	f.Add(tarOf("db/civitas.db", "db/civitas.db"))
	f.Add([]byte("not a tar"))
	// A PAX GNU sparse member: 16 bytes that would read as 1 TiB of zeros.
	var sp bytes.Buffer
	tw := tar.NewWriter(&sp)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "db/civitas.db", Size: 16, Format: tar.FormatPAX,
		PAXRecords: map[string]string{"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "db/civitas.db", "GNU.sparse.realsize": "1099511627776"}})
	_, _ = tw.Write([]byte("1\n0\n0\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	_ = tw.Close()
	f.Add(sp.Bytes())
	f.Fuzz(func(t *testing.T, plain []byte) {
		_, _ = backup.ReadArchive(context.Background(), bytes.NewReader(plain), func(name string, size int64, _ io.Reader) error {
			if backup.CheckName(name) != nil {
				t.Fatalf("visit got %q", name)
			}
			return nil
		})
	})
}
