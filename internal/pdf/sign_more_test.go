package pdf_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pdf"
)

// memFile is an in-memory io.WriterAt for tests.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[off:], p)
	return len(p), nil
}

// fakeCMS stands in for a CMS: a DER SEQUENCE of n bytes.
func fakeCMS(n int) []byte {
	b := []byte{0x30, 0x82, byte(n >> 8), byte(n)}
	return append(b, bytes.Repeat([]byte{0xab}, n)...)
}

func signMem(t testing.TB, in []byte, o pdf.SignOptions) ([]byte, []byte, error) {
	t.Helper()
	var m memFile
	var digest []byte
	err := pdf.Sign(&m, bytes.NewReader(in), int64(len(in)), o, func(d []byte) ([]byte, error) {
		digest = d
		return fakeCMS(300), nil
	})
	return m.b, digest, err
}

func wantKey(t testing.TB, err error, code kernel.Code, key string) {
	t.Helper()
	var e *kernel.Error
	if !errors.As(err, &e) || e.Code != code || e.Key != key {
		t.Fatalf("error %v, want %s %s", err, code, key)
	}
}

// TestTamper: one byte changed inside the first byte range breaks the
// signature for poppler and changes the digest DigestRanges computes.
func TestTamper(t *testing.T) {
	needTool(t, "openssl", "pdfsig")
	pki := newTestPKI(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(src, testPDF(1, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	signed := filepath.Join(dir, "signed.pdf")
	pki.signFile(t, 0, src, signed, pdf.SignOptions{})
	b, _ := os.ReadFile(signed)
	d, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	sigs, _ := d.Signatures()
	before, err := pdf.DigestRanges(bytes.NewReader(b), sigs[0].ByteRange, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("(Page 1"))
	b[i+1] = 'R' // "Rage 1": same length, same structure, other text
	tampered := filepath.Join(dir, "tampered.pdf")
	if err := os.WriteFile(tampered, b, 0o600); err != nil {
		t.Fatal(err)
	}
	after, _ := pdf.DigestRanges(bytes.NewReader(b), sigs[0].ByteRange, crypto.SHA256)
	if bytes.Equal(before, after) {
		t.Error("digest unchanged after tampering")
	}
	blocks := pdfsig(t, "", tampered)
	if len(blocks) != 1 || strings.Contains(blocks[0], "Signature is Valid.") || !strings.Contains(blocks[0], "Digest Mismatch") {
		t.Errorf("pdfsig on a tampered file:\n%s", strings.Join(blocks, ""))
	}
}

// TestVietnameseName: a non-ASCII /Name is written as UTF-16BE with BOM and
// read back as the same text, by us and by qpdf.
func TestVietnameseName(t *testing.T) {
	const name = "Nguyễn Thị Ánh"
	out, _, err := signMem(t, testPDF(1, 0), pdf.SignOptions{Name: name, Location: "Thành phố Hồ Chí Minh"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte(`/Name (\376\377\000N\000g\000u\000y\036\305\000n`)) {
		t.Error("/Name is not UTF-16BE with a byte-order mark")
	}
	d, err := pdf.Open(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	sigs, _ := d.Signatures()
	if len(sigs) != 1 || sigs[0].Name != name {
		t.Fatalf("read back %+v", sigs)
	}
	needTool(t, "qpdf")
	p := filepath.Join(t.TempDir(), "v.pdf")
	os.WriteFile(p, out, 0o600)
	js := run(t, "qpdf", "--json=2", "--json-key=qpdf", p)
	if !strings.Contains(js, `"/Name": "u:`+name+`"`) {
		t.Errorf("qpdf does not read the name as %q", name)
	}

	// pdfsig does not print /Name but prints the field name, also a text string.
	needTool(t, "pdfsig")
	out, _, err = signMem(t, testPDF(1, 0), pdf.SignOptions{Name: name, FieldName: "Chữ ký " + name})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, out, 0o600)
	if blocks := pdfsig(t, "", p); len(blocks) != 1 || !strings.Contains(blocks[0], "Signature Field Name: Chữ ký "+name) {
		t.Errorf("pdfsig:\n%s", strings.Join(blocks, ""))
	}
}

func TestSignOptions(t *testing.T) {
	in := testPDF(1, 0)
	signed, _, err := signMem(t, in, pdf.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	certified, _, err := signMem(t, in, pdf.SignOptions{DocMDP: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		o    pdf.SignOptions
		code kernel.Code
		key  string
	}{
		{"fail/sub_filter", in, pdf.SignOptions{SubFilter: "adbe.x509.rsa_sha1"}, kernel.Invalid, "pdf.error.bad_sub_filter"},
		{"fail/reserve", in, pdf.SignOptions{Reserve: 1 << 30}, kernel.Invalid, "pdf.error.bad_reserve"},
		{"fail/docmdp_value", in, pdf.SignOptions{DocMDP: 4}, kernel.Invalid, "pdf.error.bad_docmdp"},
		{"fail/docmdp_timestamp", in, pdf.SignOptions{DocMDP: 2, SubFilter: pdf.SubFilterRFC3161}, kernel.Invalid, "pdf.error.bad_docmdp"},
		{"fail/field_name_dot", in, pdf.SignOptions{FieldName: "a.b"}, kernel.Invalid, "pdf.error.bad_field_name"},
		{"fail/field_exists", signed, pdf.SignOptions{FieldName: "Signature1"}, kernel.Conflict, "pdf.error.field_exists"},
		{"fail/certify_after_signature", signed, pdf.SignOptions{DocMDP: 2}, kernel.Conflict, "pdf.error.certify_after_signature"},
		{"fail/certified_no_changes", certified, pdf.SignOptions{}, kernel.Forbidden, "pdf.error.certified_no_changes"},
		{"fail/garbage", []byte("garbage"), pdf.SignOptions{}, kernel.Invalid, "pdf.error.malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := signMem(t, tc.in, tc.o)
			wantKey(t, err, tc.code, tc.key)
		})
	}
	t.Run("fail/signature_too_large", func(t *testing.T) {
		var m memFile
		err := pdf.Sign(&m, bytes.NewReader(in), int64(len(in)), pdf.SignOptions{Reserve: 100}, func([]byte) ([]byte, error) { return fakeCMS(200), nil })
		wantKey(t, err, kernel.Invalid, "pdf.error.signature_too_large")
	})
	t.Run("ok/certified_then_signed", func(t *testing.T) {
		c2, _, err := signMem(t, in, pdf.SignOptions{DocMDP: 2})
		if err != nil {
			t.Fatal(err)
		}
		c3, _, err := signMem(t, c2, pdf.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := pdf.Open(bytes.NewReader(c3), int64(len(c3)))
		sigs, _ := d.Signatures()
		if len(sigs) != 2 || sigs[0].DocMDP != 2 || sigs[1].DocMDP != 0 || !sigs[0].CoversRevision || !sigs[1].CoversRevision {
			t.Fatalf("%+v", sigs)
		}
		cat, _ := d.Catalog()
		if _, ok := cat["Perms"].(pdf.Dict); !ok {
			t.Error("catalog lost /Perms")
		}
	})
	t.Run("ok/document_timestamp", func(t *testing.T) {
		ts, digest, err := signMem(t, signed, pdf.SignOptions{SubFilter: pdf.SubFilterRFC3161})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := pdf.Open(bytes.NewReader(ts), int64(len(ts)))
		sigs, _ := d.Signatures()
		if len(sigs) != 2 || sigs[1].Type != "DocTimeStamp" || sigs[1].SubFilter != "ETSI.RFC3161" || sigs[1].Revision != int64(len(ts)) {
			t.Fatalf("%+v", sigs)
		}
		if got, _ := pdf.DigestRanges(bytes.NewReader(ts), sigs[1].ByteRange, crypto.SHA256); !bytes.Equal(got, digest) {
			t.Error("DigestRanges differs from the digest given to sign")
		}
		if !bytes.Equal(sigs[1].Contents, fakeCMS(300)) {
			t.Error("Contents not read back without its padding")
		}
	})
	t.Run("ok/original_bytes_unchanged", func(t *testing.T) {
		if !bytes.Equal(signed[:len(in)], in) {
			t.Error("the original bytes changed")
		}
		sum := sha256.Sum256(in)
		if sum == sha256.Sum256(signed) {
			t.Error("nothing appended")
		}
	})
}

func TestOpenRefuses(t *testing.T) {
	valid := testPDF(1, 0)
	signed, _, err := signMem(t, valid, pdf.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("fail/encrypted", func(t *testing.T) {
		needTool(t, "qpdf")
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "enc.pdf")
		os.WriteFile(in, valid, 0o600)
		run(t, "qpdf", "--encrypt", "u", "o", "256", "--", in, out)
		b, _ := os.ReadFile(out)
		_, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
		wantKey(t, err, kernel.Invalid, "pdf.error.encrypted")
		_, _, err = signMem(t, b, pdf.SignOptions{})
		wantKey(t, err, kernel.Invalid, "pdf.error.encrypted")
	})
	for _, tc := range []struct{ name, in string }{
		{"fail/empty", ""},
		{"fail/garbage", strings.Repeat("garbage ", 100)},
		{"fail/no_startxref", "%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"},
		{"fail/startxref_loop", "%PDF-1.4\nxref\n0 1\n0000000000 65535 f\r\ntrailer\n<< /Size 1 /Prev 9 /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"},
		{"fail/deep_nesting", "%PDF-1.4\n" + strings.Repeat("[", 10000) + "\nstartxref\n9\n%%EOF\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pdf.Open(strings.NewReader(tc.in), int64(len(tc.in)))
			wantKey(t, err, kernel.Invalid, "pdf.error.malformed")
		})
	}
	t.Run("fail/truncated", func(t *testing.T) {
		// Cut anywhere: an error (or, cut at the end of the original
		// revision, that revision); never a panic.
		for n := 0; n < len(signed); n += 7 {
			d, err := pdf.Open(bytes.NewReader(signed[:n]), int64(n))
			if err != nil {
				if c := kernel.ErrorCode(err); c != kernel.Invalid {
					t.Fatalf("cut at %d: %v", n, err)
				}
				continue
			}
			d.Signatures()
		}
	})
}

func TestSignatureTime(t *testing.T) {
	at := time.Date(2025, 12, 31, 23, 59, 58, 0, time.FixedZone("", -(3*3600+30*60)))
	out, _, err := signMem(t, testPDF(1, 0), pdf.SignOptions{SignTime: at})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("/M (D:20251231235958-03'30')")) {
		t.Error("date not written as D:YYYYMMDDHHmmSS-HH'mm'")
	}
	d, _ := pdf.Open(bytes.NewReader(out), int64(len(out)))
	sigs, _ := d.Signatures()
	if !sigs[0].Time.Equal(at) {
		t.Errorf("read back %v", sigs[0].Time)
	}
	// A document time-stamp carries /M too: viewers that do not read the
	// token show it, and show the epoch without it.
	ts, _, err := signMem(t, out, pdf.SignOptions{SubFilter: pdf.SubFilterRFC3161, SignTime: at.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	d, _ = pdf.Open(bytes.NewReader(ts), int64(len(ts)))
	sigs, _ = d.Signatures()
	if len(sigs) != 2 || sigs[1].Type != "DocTimeStamp" || !sigs[1].Time.Equal(at.Add(time.Hour)) {
		t.Errorf("document time-stamp: %+v", sigs)
	}
}

// TestXrefKind: the update's cross-reference section is of the same kind
// as the file's last one.
func TestXrefKind(t *testing.T) {
	needTool(t, "qpdf")
	dir := t.TempDir()
	files := corpus(t, dir)
	for name, wantStream := range map[string]bool{"minimal": false, "hybrid": false, "linearized": false, "objstm": true, "v20": true} {
		b, _ := os.ReadFile(files[name])
		out, _, err := signMem(t, b, pdf.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		upd := out[len(b):]
		if got := bytes.Contains(upd, []byte("/Type /XRef")); got != wantStream || bytes.Contains(upd, []byte("\nxref\n")) == wantStream {
			t.Errorf("%s: update has an xref stream = %v, want %v", name, got, wantStream)
		}
		if !wantStream {
			// Classic entries are exactly 20 bytes.
			i := bytes.Index(upd, []byte("\nxref\n"))
			j := bytes.Index(upd, []byte("trailer"))
			for _, line := range strings.SplitAfter(string(upd[i+6:j]), "\n") {
				if strings.HasSuffix(line, " n\r\n") && len(line) != 20 {
					t.Errorf("%s: entry %q is %d bytes", name, line, len(line))
				}
			}
		}
	}
}

// TestWrongStreamLength: a stream whose /Length is wrong is measured up to
// its "endstream" instead, and the file still signs.
func TestWrongStreamLength(t *testing.T) {
	in := testPDF(1, 0)
	i := bytes.Index(in, []byte("/Length "))
	j := i + bytes.IndexByte(in[i:], ' ') + 1
	k := j + bytes.IndexByte(in[j:], ' ')
	want := string(in[j:k])
	bad := append([]byte(nil), in...)
	copy(bad[j:k], bytes.Repeat([]byte("9"), k-j)) // same width, offsets unchanged
	d, err := pdf.Open(bytes.NewReader(bad), int64(len(bad)))
	if err != nil {
		t.Fatal(err)
	}
	o, err := d.Object(pdf.Ref{Num: 6})
	s, ok := o.(*pdf.Stream)
	if err != nil || !ok || fmt.Sprint(s.Length) != want {
		t.Fatalf("stream %#v, %v; want length %s", o, err, want)
	}
	if _, _, err := signMem(t, bad, pdf.SignOptions{}); err != nil {
		t.Fatal(err)
	}
}
