package pdf_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/pdf"
)

// A page with more after it: one file of three pages in one font, which
// qpdf finds sound and pdftotext reads page by page.
func TestWritePageMore(t *testing.T) {
	font := systemFont(t)
	p := pdf.Page{Font: font, Texts: pageLines, Lang: "vi", More: []pdf.PageBody{
		{Texts: []pdf.PageText{{Text: "Trang hai: lịch sử sử dụng", X: 48, Y: 780, Size: 12}}},
		{Texts: []pdf.PageText{{Text: "Trang ba", X: 48, Y: 780, Size: 12}}, Rules: []pdf.PageRule{{X1: 48, Y1: 770, X2: 200, Y2: 770, Width: 1}}},
	}}
	b, err := pdf.WritePage(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pdf.Open(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	one, err := pdf.WritePage(pdf.Page{Font: font, Texts: pageLines, Lang: "vi"})
	if err != nil || !bytes.Contains(one, []byte("/Count 1")) || !bytes.Contains(b, []byte("/Count 3")) {
		t.Fatalf("page counts: %v", err)
	}
	file := filepath.Join(t.TempDir(), "pages.pdf")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	pageTool(t, "qpdf", "pdftotext")
	if out, err := exec.Command("qpdf", "--check", file).CombinedOutput(); err != nil || !strings.Contains(string(out), "No syntax or stream encoding errors") {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	for page, want := range map[string]string{"1": "Ủy ban nhân dân", "2": "Trang hai: lịch sử sử dụng", "3": "Trang ba"} {
		out, err := exec.Command("pdftotext", "-f", page, "-l", page, file, "-").Output()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("page %s: %v %q, want %q", page, err, out, want)
		}
	}
}
