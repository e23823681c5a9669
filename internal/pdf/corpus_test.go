package pdf_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// countingWriter tracks offsets while a test PDF is generated.
type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeTestPDF writes a small but complete PDF 1.4 with a classic table:
// pages pages, and padding bytes of comment lines in page 1's content stream
// (to make big files without big memory).
func writeTestPDF(w io.Writer, pages int, padding int64) error {
	cw := &countingWriter{w: bufio.NewWriterSize(w, 64<<10)}
	var offs []int64
	obj := func(body string) {
		offs = append(offs, cw.n)
		fmt.Fprintf(cw, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	fmt.Fprint(cw, "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	var kids []string
	for i := 0; i < pages; i++ {
		kids = append(kids, fmt.Sprintf("%d 0 R", 5+2*i))
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	obj("<< /Producer (civitas test) /Title <FEFF004E0067007501BB0079> >>")
	for i := 0; i < pages; i++ {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 6+2*i))
		text := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (Page %d \\(test\\)) Tj ET\n", i+1)
		var pad int64
		if i == 0 {
			pad = padding
		}
		offs = append(offs, cw.n)
		fmt.Fprintf(cw, "%d 0 obj\n<< /Length %d >>\nstream\n%s", len(offs), int64(len(text))+pad, text)
		line := "%" + strings.Repeat("x", 98) + "\n"
		for left := pad; left > 0; {
			n := min(left, int64(len(line)))
			if n < int64(len(line)) {
				fmt.Fprint(cw, strings.Repeat("\n", int(n)))
			} else {
				fmt.Fprint(cw, line)
			}
			left -= n
		}
		fmt.Fprint(cw, "\nendstream\nendobj\n")
	}
	xref := cw.n
	fmt.Fprintf(cw, "xref\n0 %d\n0000000000 65535 f\r\n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(cw, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(cw, "trailer\n<< /Size %d /Root 1 0 R /Info 4 0 R /ID [<0102030405060708090A0B0C0D0E0F10> <0102030405060708090A0B0C0D0E0F10>] >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return cw.w.Flush()
}

func testPDF(pages int, padding int64) []byte {
	var b bytes.Buffer
	if err := writeTestPDF(&b, pages, padding); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// hybridPDF builds a hybrid-reference file: the classic table leaves out
// object 2 (the page tree), which only the /XRefStm stream lists, inside
// object stream 6.
func hybridPDF() []byte {
	var b bytes.Buffer
	offs := map[int]int{}
	obj := func(n int, body string) {
		offs[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
	}
	b.WriteString("%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
	obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>")
	content := "BT /F1 24 Tf 72 720 Td (Hybrid) Tj ET"
	obj(4, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	obj(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	head := "2 0 "
	body := "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
	obj(6, fmt.Sprintf("<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n%s%s\nendstream", len(head), len(head)+len(body), head, body))
	// Xref stream: one entry, object 2 in object stream 6 at index 0.
	obj(7, "<< /Type /XRef /Size 8 /W [1 2 1] /Index [2 1] /Length 4 >>\nstream\n\x02\x00\x06\x00\nendstream")
	xref := b.Len()
	b.WriteString("xref\n0 2\n0000000000 65535 f\r\n")
	fmt.Fprintf(&b, "%010d 00000 n\r\n", offs[1])
	b.WriteString("3 5\n")
	for n := 3; n <= 7; n++ {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", offs[n])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n", offs[7], xref)
	return b.Bytes()
}

func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed", n)
		}
	}
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// corpus builds the test files into dir: hand-written ones always, and
// qpdf and ghostscript rewrites when the tools are installed.
func corpus(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name+".pdf")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files[name] = p
		return p
	}
	minimal := write("minimal", testPDF(2, 0))
	write("hybrid", hybridPDF())
	if _, err := exec.LookPath("qpdf"); err == nil {
		for name, args := range map[string][]string{
			"objstm":     {"--object-streams=generate"},
			"linearized": {"--linearize"},
			"qdf":        {"--qdf"},
			"v20":        {"--force-version=2.0", "--object-streams=generate"},
		} {
			p := filepath.Join(dir, name+".pdf")
			run(t, "qpdf", append(args, minimal, p)...)
			files[name] = p
		}
	}
	if _, err := exec.LookPath("gs"); err == nil {
		ps := filepath.Join(dir, "pages.ps")
		src := "%!PS\n% Nguyễn Thị Ánh — giấy xác nhận\n/Helvetica findfont 24 scalefont setfont\n" +
			"72 700 moveto (Trang 1) show showpage\n72 700 moveto (Trang 2) show showpage\n72 700 moveto (Trang 3) show showpage\n"
		if err := os.WriteFile(ps, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "gs.pdf")
		run(t, "gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-sOutputFile="+p, ps)
		files["gs"] = p
	}
	return files
}
