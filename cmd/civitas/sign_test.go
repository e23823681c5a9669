package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/db/dbtest"
	"civitas/internal/pdf"
	"civitas/internal/pdf/pdftest"
)

// TestSealAndVerify holds the fixed contracts:
// civitas seal --data DIR --agency CODE --in IN.pdf --out OUT.pdf [--level ...] [--visible]
// civitas verify FILE [--json] (exit 0 only when every signature passes)
func TestSealAndVerify(t *testing.T) {
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
	_, out := run("registry", "list", "agencies", "--limit", "1", "--json")
	var agency struct{ Code string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &agency); err != nil || agency.Code == "" {
		t.Fatalf("agencies: %s", out)
	}
	in, notPDF := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(in, pdftest.Tiny(), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(notPDF, []byte("Biên bản họp, không phải PDF\n"), 0o644)
	sealed := filepath.Join(dir, "sealed.pdf")
	for _, s := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/no agency", []string{"seal", "--in", in, "--out", sealed}, exitUsage, "--agency"},
		{"fail/bad level", []string{"seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--level", "B-X"}, exitUsage, "--level"},
		{"fail/seal image not an image", []string{"seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--visible", "--seal-image", notPDF}, exitFailure, "PNG or JPEG"},
		{"fail/seal image without visible", []string{"seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--seal-image", notPDF}, exitUsage, "--visible"},
		{"fail/no such agency", []string{"seal", "--agency", "NO-SUCH", "--in", in, "--out", sealed}, exitFailure, ""},
		{"fail/not a pdf", []string{"seal", "--agency", agency.Code, "--in", notPDF, "--out", sealed}, exitFailure, "PDF"},
		{"ok/seal", []string{"seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--level", "B-LTA"}, exitOK, "at B-LTA"},
		{"ok/verify", []string{"verify", sealed}, exitOK, "verdict: TOTAL_PASSED"},
		{"fail/verify nothing", []string{"verify"}, exitUsage, "one file"},
	} {
		code, out := run(s.args...)
		if code != s.code || !strings.Contains(out, s.want) {
			t.Fatalf("%s: exit %d %q; want exit %d and %q", s.name, code, out, s.code, s.want)
		}
	}
	code, out := run("verify", sealed, "--json")
	var rep struct {
		Verdict    string
		Signatures []struct {
			Level             string
			DocumentTimestamp bool
		}
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); err != nil || code != exitOK || rep.Verdict != "TOTAL_PASSED" ||
		len(rep.Signatures) != 2 || rep.Signatures[0].Level != "B-LTA" || !rep.Signatures[1].DocumentTimestamp {
		t.Fatalf("verify --json: exit %d %v %s", code, err, out)
	}
	// One byte changed inside the signed range: exit 1, TOTAL_FAILED.
	b, _ := os.ReadFile(sealed)
	i := bytes.Index(b, []byte("/MediaBox"))
	b[i+1] = 'N'
	tampered := filepath.Join(dir, "tampered.pdf")
	_ = os.WriteFile(tampered, b, 0o644)
	if code, out := run("verify", tampered); code != exitFailure || !strings.Contains(out, "TOTAL_FAILED") {
		t.Fatalf("tampered: exit %d %s", code, out)
	}
	// Without this province's data and no --trust, nothing is trusted.
	if dsn != "" {
		return // the database is named by CIVITAS_DB, not by --data
	}
	if code, out, errs := civitas(t, "verify", sealed, "--data", t.TempDir()); code != exitUsage || !strings.Contains(out+errs, "--trust") {
		t.Fatalf("no roots: exit %d %s", code, out+errs)
	}
}

// TestSealVisible: civitas seal --visible --seal-image draws the agency's
// name, the signing time and the reason on page 1, in a font poppler finds
// embedded, and the seal still verifies.
func TestSealVisible(t *testing.T) {
	for _, tool := range []string{"pdftotext", "pdffonts"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (poppler-utils)", tool)
		}
	}
	if _, err := pdf.SystemFont(); err != nil {
		t.Skip("no system font: install fonts-dejavu-core")
	}
	dir := t.TempDir()
	if dsn := dbtest.Migrated(t); dsn != "" {
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
	_, out := run("registry", "list", "agencies", "--limit", "1", "--json")
	var agency struct{ Code string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &agency); err != nil || agency.Code == "" {
		t.Fatalf("agencies: %s", out)
	}
	in, seal, sealed := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "seal.png"), filepath.Join(dir, "sealed.pdf")
	if err := os.WriteFile(in, pdftest.Tiny(), 0o644); err != nil {
		t.Fatal(err)
	}
	// A red ring on a transparent ground, as seals are.
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			if d := (x-32)*(x-32) + (y-32)*(y-32); d < 900 && d > 600 {
				img.Set(x, y, color.NRGBA{200, 0, 0, 255})
			}
		}
	}
	var pb bytes.Buffer
	if err := png.Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seal, pb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := run("seal", "--agency", agency.Code, "--in", in, "--out", sealed, "--level", "B-LTA",
		"--visible", "--seal-image", seal, "--reason", "Sao y bản chính")
	if code != exitOK {
		t.Fatalf("seal --visible: exit %d %s", code, out)
	}
	// "sealed IN as OUT at LEVEL by NAME (certificate SERIAL)"
	name := out[strings.Index(out, " by ")+4 : strings.LastIndex(out, " (certificate")]
	text, err := exec.Command("pdftotext", "-f", "1", "-l", "1", sealed, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, text)
	}
	for _, want := range []string{name, "Ngày ký / Signed: 20", "Lý do / Reason: Sao y bản chính"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("page 1 text lacks %q:\n%s", want, text)
		}
	}
	fonts, err := exec.Command("pdffonts", sealed).CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^[A-Z]{6}\+\S+\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes`).Match(fonts) {
		t.Errorf("pdffonts: %v\n%s", err, fonts)
	}
	if code, out := run("verify", sealed); code != exitOK || !strings.Contains(out, "verdict: TOTAL_PASSED") {
		t.Fatalf("verify: exit %d %s", code, out)
	}
}
