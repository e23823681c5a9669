package pdf_test

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"testing"
	"time"

	"civitas/internal/pdf"
	"civitas/internal/pdf/pdftest"
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
		// A visible box walks the page tree and reads its boxes.
		m = memFile{}
		pdf.Sign(&m, bytes.NewReader(b), int64(len(b)), pdf.SignOptions{Reserve: 64, Appearance: &pdf.Appearance{Page: 2}}, func([]byte) ([]byte, error) { return []byte{0x30, 0}, nil })
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("took %v on %d bytes", el, len(b))
		}
	})
}

// FuzzImage: hostile seal images are refused or parsed, within the size
// limits, and a parsed one can be drawn; never a panic or a hang.
func FuzzImage(f *testing.F) {
	f.Add(sealPNG(f, true))
	f.Add(sealPNG(f, false))
	var jb bytes.Buffer
	jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 8, 8)), nil)
	f.Add(jb.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	tiny := pdftest.Tiny()
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		im, err := pdf.ParseImage(b)
		if err != nil {
			return
		}
		var m memFile
		if err := pdf.Sign(&m, bytes.NewReader(tiny), int64(len(tiny)), pdf.SignOptions{Reserve: 64, Appearance: &pdf.Appearance{Image: im}},
			func([]byte) ([]byte, error) { return []byte{0x30, 0}, nil }); err != nil {
			t.Fatalf("sign with a parsed image: %v", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("took %v on %d bytes", el, len(b))
		}
	})
}
