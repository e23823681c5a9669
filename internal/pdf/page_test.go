package pdf_test

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"civitas/internal/pdf"
)

// pageTool skips when a verifier is not installed, but fails in CI
// (CI=true), where .ci/run installs every one.
func pageTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed, and CI must have it (.ci/run installs it)", n)
			}
			t.Skipf("%s not installed", n)
		}
	}
}

var pageLines = []pdf.PageText{
	{Text: "Ủy ban nhân dân tỉnh Bắc Ninh", X: 48, Y: 780, Size: 18, Color: pdf.Color{0.05, 0.17, 0.42}},
	{Text: "Giấy chứng nhận quyền sử dụng đất", X: 48, Y: 750, Size: 12},
	{Text: "شهادة حق استخدام الأرض", X: pdf.A4Width - 48, Y: 730, Size: 12, Align: pdf.AlignRight},
	{Text: "Ngày cấp: 06/03/2026", X: pdf.A4Width / 2, Y: 700, Size: 10, Align: pdf.AlignCenter},
}

// TestWritePage writes a new one-page document and has qpdf, our reader
// and pdftotext check it: the structure is sound, the Vietnamese comes
// back exactly, the Arabic in logical order, and the same page gives the
// same bytes.
func TestWritePage(t *testing.T) {
	font := systemFont(t)
	p := pdf.Page{Font: font, Texts: pageLines, Title: "Giấy chứng nhận", Lang: "vi", Created: time.Date(2026, 3, 6, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600)),
		Rules: []pdf.PageRule{{X1: 48, Y1: 740, X2: pdf.A4Width - 48, Y2: 740, Width: 0.8}}}
	b, err := pdf.WritePage(p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := pdf.WritePage(p)
	if err != nil || !bytes.Equal(b, again) {
		t.Fatalf("the same page gave other bytes (%v)", err)
	}
	d, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if v := d.Version(); v != "1.7" {
		t.Errorf("version %q", v)
	}
	if sigs, err := d.Signatures(); err != nil || len(sigs) != 0 {
		t.Errorf("signatures %v %v", sigs, err)
	}
	file := filepath.Join(t.TempDir(), "page.pdf")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("qpdf", func(t *testing.T) {
		pageTool(t, "qpdf")
		if out, err := exec.Command("qpdf", "--check", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
			t.Fatalf("qpdf --check: %v\n%s", err, out)
		}
	})
	t.Run("pdftotext", func(t *testing.T) {
		pageTool(t, "pdftotext")
		out, err := exec.Command("pdftotext", "-layout", file, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		text := bidiMarks.Replace(string(out))
		for _, want := range []string{"Ủy ban nhân dân tỉnh Bắc Ninh", "Giấy chứng nhận quyền sử dụng đất", "Ngày cấp: 06/03/2026", "شهادة", "استخدام", "الأرض"} {
			if !strings.Contains(text, want) {
				t.Errorf("pdftotext lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "ةداهش") {
			t.Errorf("Arabic comes back reversed:\n%s", text)
		}
	})
	t.Run("pdftotext -bbox", func(t *testing.T) {
		pageTool(t, "pdftotext")
		out, err := exec.Command("pdftotext", "-bbox", file, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		// The right-aligned line ends at the right margin; the centred
		// line spans TextWidth about the middle of the page.
		words := regexp.MustCompile(`<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>`).FindAllStringSubmatch(string(out), -1)
		box := map[string][2]float64{}
		for _, m := range words {
			lo, _ := strconv.ParseFloat(m[1], 64)
			hi, _ := strconv.ParseFloat(m[2], 64)
			box[m[3]] = [2]float64{lo, hi}
		}
		w := font.TextWidth("Ngày cấp: 06/03/2026", 10)
		if w < 80 || w > 130 {
			t.Errorf("TextWidth %v for 20 letters at 10 pt", w)
		}
		near := func(got, want float64) bool { return math.Abs(got-want) < 1 }
		if b, ok := box["Ngày"]; !ok || !near(b[0], pdf.A4Width/2-w/2) {
			t.Errorf("the centred line starts at %v, want %v:\n%s", b, pdf.A4Width/2-w/2, out)
		}
		if b, ok := box["06/03/2026"]; !ok || !near(b[1], pdf.A4Width/2+w/2) {
			t.Errorf("the centred line ends at %v, want %v", b, pdf.A4Width/2+w/2)
		}
		if b, ok := box["ةداهش"]; !ok /* -bbox lists glyphs in visual order */ || !near(b[1], pdf.A4Width-48) {
			t.Errorf("the Arabic line ends at %v, want the right margin %v", b, pdf.A4Width-48)
		}
		if a, b := font.TextWidth("Ngày cấp: ", 10)+font.TextWidth("06/03/2026", 10), w; !near(a, b) || !near(font.TextWidth("Ngày", 20), 2*font.TextWidth("Ngày", 10)) {
			t.Errorf("widths do not add up: %v and %v", a, b)
		}
	})
}

func TestWritePageRefuses(t *testing.T) {
	font := systemFont(t)
	for name, p := range map[string]pdf.Page{
		"fail/no font":       {Texts: pageLines},
		"fail/size NaN":      {Font: font, Width: math.NaN(), Height: 10},
		"fail/negative size": {Font: font, Width: -1, Height: 10},
		"fail/text size 0":   {Font: font, Texts: []pdf.PageText{{Text: "x", X: 1, Y: 1}}},
		"fail/text at Inf":   {Font: font, Texts: []pdf.PageText{{Text: "x", X: math.Inf(1), Y: 1, Size: 10}}},
		"fail/rule width 0":  {Font: font, Rules: []pdf.PageRule{{X1: 1, Y1: 1, X2: 2, Y2: 2}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pdf.WritePage(p); err == nil {
				t.Fatal("written")
			}
		})
	}
	t.Run("ok/an empty page", func(t *testing.T) {
		b, err := pdf.WritePage(pdf.Page{Font: font})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pdf.Open(bytes.NewReader(b), int64(len(b))); err != nil {
			t.Fatal(err)
		}
	})
}
