package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
)

// TestSealDetached holds the .p7s form of seal, for any file:
// civitas seal --data DIR --agency CODE --in FILE --out FILE.p7s [--level B-B|B-T]
// OpenSSL, which nobody here wrote, and civitas verify --content both accept
// what it writes, and both refuse it once one byte of the file changes.
func TestSealDetached(t *testing.T) {
	dir := t.TempDir()
	dsn := dbtest.Migrated(t)
	if dsn != "" {
		t.Setenv("CIVITAS_DB", dsn)
	}
	run := func(args ...string) (int, string) {
		t.Helper()
		code, out, errs := civitas(t, append(args, "--data", dir)...)
		return code, out + errs
	}
	if code, out := run("demo", "--persons", "1000", "--seed", "3"); code != exitOK {
		t.Fatalf("demo: %s", out)
	}
	if code, out := run("ca", "init"); code != exitOK {
		t.Fatalf("ca init: %s", out)
	}
	if code, out := run("ca", "export", "--out", filepath.Join(dir, "ca")); code != exitOK {
		t.Fatalf("ca export: %s", out)
	}
	root := filepath.Join(dir, "ca", "root.pem")
	_, out := run("registry", "list", "agencies", "--limit", "1", "--json")
	var agency struct{ Code string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &agency); err != nil || agency.Code == "" {
		t.Fatalf("agencies: %s", out)
	}

	// Not a PDF, and not text either: CR LF and bytes that a text-mode
	// signer would change, so -binary matters.
	content := filepath.Join(dir, "biên bản.bin")
	data := bytes.Repeat([]byte("Biên bản họp\r\n\x00\xff\x1a"), 20_000)
	if err := os.WriteFile(content, data, 0o644); err != nil {
		t.Fatal(err)
	}
	bb, bt := filepath.Join(dir, "bb.p7s"), filepath.Join(dir, "bt.P7S")
	seal := func(out string, more ...string) []string {
		return append([]string{"seal", "--agency", agency.Code, "--in", content, "--out", out}, more...)
	}
	for _, s := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/B-LT", seal(bb, "--level", "B-LT"), exitUsage, "B-B or B-T only"},
		{"fail/B-LTA", seal(bb, "--level", "B-LTA"), exitUsage, "B-B or B-T only"},
		{"fail/visible", seal(bb, "--level", "B-T", "--visible"), exitUsage, "no page"},
		{"fail/seal image", seal(bb, "--level", "B-T", "--seal-image", content), exitUsage, "no page"},
		{"fail/reason", seal(bb, "--level", "B-T", "--reason", "x"), exitUsage, "--reason"},
		{"fail/no such file", []string{"seal", "--agency", agency.Code, "--in", filepath.Join(dir, "nope"), "--out", bb, "--level", "B-B"}, exitFailure, "--in"},
		{"fail/no such agency", []string{"seal", "--agency", "NO-SUCH", "--in", content, "--out", bb, "--level", "B-B"}, exitFailure, ""},
		{"ok/B-B", seal(bb, "--level", "B-B"), exitOK, "(detached CAdES) at B-B"},
		{"ok/B-T by default", seal(bt), exitOK, "(detached CAdES) at B-T"},
		{"ok/B-T, any case of .p7s", seal(bt, "--level", "B-T"), exitOK, "(detached CAdES) at B-T"},
	} {
		if s.name == "ok/B-B" && fileExists(bb) {
			t.Fatal("a failed seal left a file")
		}
		code, out := run(s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d %q; want exit %d and %q", s.name, code, out, s.code, s.want)
		}
	}

	openssl := func(args ...string) (string, error) {
		t.Helper()
		out, err := exec.Command("openssl", args...).CombinedOutput()
		return string(out), err
	}
	_, noOpenSSL := exec.LookPath("openssl")
	check := func(t *testing.T, p7s, level string, wantOK bool) {
		t.Helper()
		code, out := run("verify", p7s, "--content", content)
		if wantOK && (code != exitOK || !strings.Contains(out, "verdict: TOTAL_PASSED") || !strings.Contains(out, "level: PAdES "+level)) {
			t.Fatalf("civitas verify: exit %d\n%s", code, out)
		}
		if !wantOK && (code != exitFailure || !strings.Contains(out, "TOTAL_FAILED")) {
			t.Fatalf("civitas verify of changed content: exit %d\n%s", code, out)
		}
		if noOpenSSL != nil {
			t.Log("openssl is not on PATH: only civitas verify checked")
			return
		}
		// The flags of internal/cms/openssl_test.go; -cades also checks the
		// ESS signing-certificate-v2 attribute.
		out, err := openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", p7s, "-content", content,
			"-CAfile", root, "-purpose", "any", "-cades", "-out", os.DevNull)
		if ok := err == nil && strings.Contains(out, "Verification successful"); ok != wantOK {
			t.Fatalf("openssl cms -verify: %v, want success %v\n%s", err, wantOK, out)
		}
		if !wantOK {
			return
		}
		text, err := openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", p7s)
		if err != nil {
			t.Fatalf("openssl cms -print: %v\n%s", err, text)
		}
		for _, attr := range []string{"signingTime", "id-smime-aa-signingCertificateV2", "messageDigest"} {
			if !strings.Contains(text, attr) {
				t.Errorf("no %s in the .p7s", attr)
			}
		}
		if stamped := strings.Contains(text, "id-smime-aa-timeStampToken"); stamped != (level == "B-T") {
			t.Errorf("signature time-stamp present %v at %s", stamped, level)
		}
		if !strings.Contains(text, "eContent: <ABSENT>") {
			t.Errorf("the content is inside the .p7s, not beside it")
		}
	}
	t.Run("ok/B-B", func(t *testing.T) { check(t, bb, "B-B", true) })
	t.Run("ok/B-T", func(t *testing.T) { check(t, bt, "B-T", true) })

	// One byte of the file changed: OpenSSL and civitas verify both say no.
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(content, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("fail/changed content B-B", func(t *testing.T) { check(t, bb, "B-B", false) })
	t.Run("fail/changed content B-T", func(t *testing.T) { check(t, bt, "B-T", false) })
}
