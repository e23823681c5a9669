package pdf_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"civitas/internal/pdf"
)

// FuzzOpen: hostile files are opened, listed and fully resolved quickly,
// or refused; never a panic or a hang. Signing them must not panic either.
func FuzzOpen(f *testing.F) {
	minimal := testPDF(1, 0)
	f.Add(minimal)
	f.Add(hybridPDF())
	if signed, _, err := signMem(f, minimal, pdf.SignOptions{Name: "Nguyễn"}); err == nil {
		f.Add(signed)
	}
	if _, err := os.Stat("/usr/bin/qpdf"); err == nil {
		dir := f.TempDir()
		for _, name := range []string{"objstm", "linearized"} {
			if b, err := os.ReadFile(corpus(f, dir)[name]); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("%PDF-1.7\ngarbage\nstartxref\n9\n%%EOF"))
	f.Add([]byte("%PDF-1.5\n1 0 obj<</Type/XRef/Size 2/W[1 1 1]/Length 99>>stream\n\x01\x09\x00\nendstream\nendobj\nstartxref\n9\n%%EOF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		d, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		sigs, _ := d.Signatures()
		for _, s := range sigs {
			d.ChangesSince(s.Revision)
		}
		d.DSS()
		d.Version()
		for _, r := range d.Refs() {
			d.Object(r)
		}
		var m memFile
		pdf.AddDSS(&m, bytes.NewReader(b), int64(len(b)), pdf.DSS{Certs: [][]byte{{0x30, 0}}})
		m = memFile{}
		pdf.Sign(&m, bytes.NewReader(b), int64(len(b)), pdf.SignOptions{Reserve: 64}, func([]byte) ([]byte, error) { return []byte{0x30, 0}, nil })
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("took %v on %d bytes", el, len(b))
		}
	})
}
