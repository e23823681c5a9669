// Package pdftest makes small PDFs for the tests of packages that sign or
// check PDFs. Tests only: nothing in civitas serves these files.
package pdftest

import (
	"bytes"
	"fmt"
)

// Tiny is a one-page PDF 1.4 with a classic cross-reference table, the
// smallest file a signer must handle.
func Tiny() []byte {
	var b bytes.Buffer
	var offs []int
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for _, body := range []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
		"<< /Length 0 >>\nstream\n\nendstream",
	} {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}
