package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// The fixed operator contract of the trust services:
// civitas ca init / ca export / cert issue / cert revoke.
func TestCAAndCertCommands(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data", dir}
	if dsn := dbtest.Migrated(t); dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	run := func(args ...string) (int, string) {
		t.Helper()
		code, out, errs := civitas(t, append(args, storage...)...)
		return code, out + errs
	}
	if code, out := run("demo", "--persons", "1000", "--seed", "5"); code != exitOK {
		t.Fatalf("demo: %s", out)
	}
	_, out := run("registry", "list", "persons", "--limit", "2", "--json")
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var p struct {
			CitizenID string `json:"citizen_id"`
		}
		if json.Unmarshal([]byte(line), &p) == nil && p.CitizenID != "" {
			ids = append(ids, p.CitizenID)
		}
	}
	if len(ids) != 2 {
		t.Fatalf("persons: %s", out)
	}
	for i, id := range ids {
		stdin = strings.NewReader("long enough pw\n")
		code, out := run("account", "add", "--citizen-id", id, "--level", []string{"2", "1"}[i], "--password-stdin")
		stdin = nil
		if code != exitOK {
			t.Fatalf("account add: %s", out)
		}
	}
	certDir := t.TempDir()
	leaf := filepath.Join(certDir, "leaf.pem")
	steps := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/export before init", []string{"ca", "export", "--out", certDir}, exitFailure, "ca init"},
		{"fail/issue before init", []string{"cert", "issue", "--citizen-id", ids[0], "--out", leaf}, exitFailure, "ca init"},
		{"fail/no subcommand", []string{"ca"}, exitUsage, "ca init"},
		{"fail/unknown backend", []string{"ca", "init", "--key-backend", "hsm"}, exitUsage, "--key-backend"},
		{"fail/pkcs11 without module", []string{"ca", "init", "--key-backend", "pkcs11"}, exitUsage, "--pkcs11-module"},
		{"ok/init", []string{"ca", "init", "--public-url", "https://eid.example.vn"}, exitOK, "created: root, citizens, officials, tsa, ocsp-citizens, ocsp-officials, audit"},
		{"ok/init again", []string{"ca", "init"}, exitOK, "nothing created"},
		{"fail/export without out", []string{"ca", "export"}, exitUsage, "--out"},
		{"ok/export", []string{"ca", "export", "--out", certDir}, exitOK, "root.pem, citizens.pem, officials.pem"},
		{"fail/issue without out", []string{"cert", "issue", "--citizen-id", ids[0]}, exitUsage, "--out"},
		{"fail/level 1", []string{"cert", "issue", "--citizen-id", ids[1], "--out", leaf}, exitFailure, "level-2"},
		{"fail/no account", []string{"cert", "issue", "--citizen-id", "001099999999", "--out", leaf}, exitFailure, ""},
		{"ok/issue", []string{"cert", "issue", "--citizen-id", ids[0], "--out", leaf}, exitOK, "issued to " + ids[0]},
		{"fail/bad reason", []string{"cert", "revoke", "--serial", "ab", "--reason", "lost"}, exitUsage, "keyCompromise"},
		{"fail/bad serial", []string{"cert", "revoke", "--serial", "xyz", "--reason", "keyCompromise"}, exitFailure, "hexadecimal"},
		{"fail/unknown serial", []string{"cert", "revoke", "--serial", "4000000000000000000000000000000a", "--reason", "keyCompromise"}, exitFailure, "No certificate"},
	}
	for _, s := range steps {
		code, out := run(s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d %q; want exit %d and %q", s.name, code, out, s.code, s.want)
		}
	}
	read := func(p string) *x509.Certificate {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("%s holds no PEM", p)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cert, root, citizens := read(leaf), read(filepath.Join(certDir, "root.pem")), read(filepath.Join(certDir, "citizens.pem"))
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	inter.AddCert(citizens)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("the issued certificate does not chain to the exported root: %v", err)
	}
	if len(cert.OCSPServer) != 1 || cert.OCSPServer[0] != "https://eid.example.vn/pki/ocsp" {
		t.Errorf("OCSP URL %v", cert.OCSPServer)
	}

	// An official at their post, and an agency's seal, under the Officials CA.
	_, out = run("registry", "list", "officials", "--limit", "1", "--json")
	var official struct {
		CitizenID string `json:"citizen_id"`
		Agency    string `json:"agency"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &official); err != nil || official.Agency == "" {
		t.Fatalf("officials: %s", out)
	}
	stdin = strings.NewReader("long enough pw\n")
	if code, out := run("account", "add", "--citizen-id", official.CitizenID, "--level", "2", "--password-stdin"); code != exitOK {
		t.Fatalf("account add official: %s", out)
	}
	stdin = nil
	officialPEM, sealPEM := filepath.Join(certDir, "official.pem"), filepath.Join(certDir, "seal.pem")
	for _, s := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/not at that agency", []string{"cert", "issue", "--citizen-id", ids[0], "--agency", official.Agency, "--out", officialPEM}, exitFailure, ""},
		{"fail/unknown agency", []string{"cert", "issue", "--agency", "NO-SUCH", "--out", sealPEM}, exitFailure, ""},
		{"ok/official", []string{"cert", "issue", "--citizen-id", official.CitizenID, "--agency", official.Agency, "--out", officialPEM}, exitOK, "issued to " + official.CitizenID + " at " + official.Agency},
		{"ok/seal", []string{"cert", "issue", "--agency", official.Agency, "--out", sealPEM}, exitOK, "issued to agency " + official.Agency},
	} {
		code, out := run(s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d %q; want exit %d and %q", s.name, code, out, s.code, s.want)
		}
	}
	officials := read(filepath.Join(certDir, "officials.pem"))
	offInter := x509.NewCertPool()
	offInter.AddCert(officials)
	for _, p := range []string{officialPEM, sealPEM} {
		c := read(p)
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: offInter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s does not chain to the root through the officials' CA: %v", filepath.Base(p), err)
		}
		if c.KeyUsage&x509.KeyUsageContentCommitment == 0 || len(c.Subject.Organization) != 1 {
			t.Errorf("%s: key usage %b, organisation %v", filepath.Base(p), c.KeyUsage, c.Subject.Organization)
		}
	}
	if c := read(officialPEM); len(c.Subject.Names) < 5 || !strings.HasPrefix(c.Subject.SerialNumber, "EID-") {
		t.Errorf("official's subject %v lacks the title or the e-ID", c.Subject)
	}

	serial := strings.ToLower(cert.SerialNumber.Text(16))
	if code, out := run("cert", "revoke", "--serial", serial, "--reason", "keyCompromise"); code != exitOK || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if code, out := run("cert", "revoke", "--serial", serial, "--reason", "keyCompromise"); code != exitFailure || !strings.Contains(out, "already revoked") {
		t.Fatalf("revoke twice: %d %s", code, out)
	}
}
