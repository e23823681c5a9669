package pdf_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"civitas/internal/pdf"
)

// discardAt is an io.WriterAt that keeps nothing.
type discardAt struct{}

func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// BenchmarkSign1MiB: the PDF side of signing a 1 MiB file, with a real
// ECDSA P-256 signature over the digest (the CMS is a fixed stand-in).
func BenchmarkSign1MiB(b *testing.B) {
	in := testPDF(1, 1<<20)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cms := fakeCMS(3000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		err := pdf.Sign(discardAt{}, bytes.NewReader(in), int64(len(in)), pdf.SignOptions{Name: "Nguyễn Thị Ánh"}, func(d []byte) ([]byte, error) {
			_, err := ecdsa.SignASN1(rand.Reader, key, d)
			return cms, err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignVisible: BenchmarkSign1MiB with a visible appearance:
// Vietnamese and Arabic lines and a PNG seal, so shaping, the font subset
// and the appearance stream are built for each signature. The font and the
// image are parsed once, outside the loop, as a sealing service does.
func BenchmarkSignVisible(b *testing.B) {
	in := testPDF(1, 1<<20)
	look := &pdf.Appearance{Font: systemFont(b), Image: parseImage(b, sealPNG(b, true)), Lines: []string{
		"Ủy ban nhân dân tỉnh Bắc Ninh", "Ký ngày: 2026-11-26T10:04:05+07:00", "Lý do: Sao y bản chính", "السبب: الموافقة",
	}}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cms := fakeCMS(3000)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		err := pdf.Sign(discardAt{}, bytes.NewReader(in), int64(len(in)), pdf.SignOptions{Name: "Nguyễn Thị Ánh", Appearance: look}, func(d []byte) ([]byte, error) {
			_, err := ecdsa.SignASN1(rand.Reader, key, d)
			return cms, err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseFont is what each process pays once for DejaVu Sans.
func BenchmarkParseFont(b *testing.B) {
	data, err := os.ReadFile("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
	if err != nil {
		b.Skip("DejaVu Sans not installed (fonts-dejavu-core)")
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pdf.ParseFont(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawHashAndSign1MiB is the floor: SHA-256 of the same bytes and
// one ECDSA signature, with no PDF work at all.
func BenchmarkRawHashAndSign1MiB(b *testing.B) {
	in := testPDF(1, 1<<20)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(in)
		if _, err := ecdsa.SignASN1(rand.Reader, key, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSignLargeFileMemory: signing a 200 MiB file streams it; the heap
// never holds the file (allocations stay far below its size).
func TestSignLargeFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 400 MiB to disk")
	}
	dir := t.TempDir()
	inPath := filepath.Join(dir, "big.pdf")
	f, err := os.Create(inPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeTestPDF(f, 2, 200<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	in, _ := os.Open(inPath)
	defer in.Close()
	st, _ := in.Stat()
	out, _ := os.Create(filepath.Join(dir, "signed.pdf"))
	defer out.Close()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var digest []byte
	err = pdf.Sign(out, in, st.Size(), pdf.SignOptions{}, func(d []byte) ([]byte, error) { digest = d; return fakeCMS(2000), nil })
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("file %d MiB, allocated %d KiB, heap in use %d KiB", st.Size()>>20, alloc>>10, after.HeapInuse>>10)
	if alloc > 32<<20 {
		t.Errorf("allocated %d MiB to sign a %d MiB file", alloc>>20, st.Size()>>20)
	}

	// The result verifies as far as the PDF side goes.
	ost, _ := out.Stat()
	d, err := pdf.Open(out, ost.Size())
	if err != nil {
		t.Fatal(err)
	}
	sigs, _ := d.Signatures()
	if len(sigs) != 1 || !sigs[0].CoversRevision || sigs[0].Revision != ost.Size() {
		t.Fatalf("%+v", sigs)
	}
	got, _ := pdf.DigestRanges(out, sigs[0].ByteRange, crypto.SHA256)
	if !bytes.Equal(got, digest) {
		t.Error("digest differs")
	}
}
