package pades_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/pades"
	"civitas/internal/pki"
	"civitas/internal/pki/ocsp"
	"civitas/internal/pki/pkitest"
)

var (
	_ pades.Stamper    = pki.LocalStamper{}
	_ pades.Revocation = (*pkitest.Revocation)(nil)
	_ ocsp.Source      = (*pkitest.Statuses[ocsp.Status])(nil)
)

// env is a small national PKI, a pkitest.Hierarchy: a root; a citizens CA
// (with a delegated OCSP signer) issuing to people (Signer is one) and the
// agency seal; an officials CA issuing the TSA's certificate; civitas's own
// TSA and OCSP responders for both CAs, and a CRL from the root for the two
// CAs. Its keys cost a few milliseconds: each test makes its own.
type env struct {
	*pkitest.Hierarchy
	leader, seal pkitest.Party
	revoked      pkitest.Party // revoked 30 minutes ago
	stamper      pki.LocalStamper
	rev          *pkitest.Revocation
	trust        pades.Trust
}

func newEnv(t testing.TB) *env {
	t.Helper()
	h := pkitest.NewHierarchy(t, pkitest.Options{})
	e := &env{Hierarchy: h,
		leader:  h.Citizens.Signer(t, "Trần Văn Bình"),
		seal:    h.Citizens.Signer(t, "UBND Phường 1"),
		revoked: h.Citizens.Signer(t, "Lê Văn Cũ"),
		trust:   pades.Trust{Roots: h.Roots()},
	}
	e.stamper = pki.LocalStamper{TSA: h.Authority(t)}

	// The citizens CA answers OCSP through its delegated signer, the
	// officials CA signs its answers itself.
	src := &pkitest.Statuses[ocsp.Status]{}
	for _, p := range []pkitest.Party{h.Signer, e.leader, e.seal, h.TSA} {
		src.Set(p.Cert.SerialNumber, ocsp.Status{Known: true})
	}
	src.Set(e.revoked.Cert.SerialNumber, ocsp.Status{Known: true, Revoked: true, RevokedAt: time.Now().Add(-30 * time.Minute), Reason: xocsp.KeyCompromise})
	citizensOCSP, err := ocsp.NewResponder(ocsp.Options{Issuer: h.Citizens.Cert, Signer: h.OCSP.Key, SignerCert: h.OCSP.Cert, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	officialsOCSP, err := ocsp.NewResponder(ocsp.Options{Issuer: h.Officials.Cert, Signer: h.Officials.Key, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	e.rev = &pkitest.Revocation{Root: h.Root.Cert, CRL: h.CRL, Responders: map[*x509.Certificate]pkitest.Responder{
		h.Citizens.Cert: citizensOCSP, h.Officials.Cert: officialsOCSP,
	}}
	return e
}

// options for a signer at a level, with everything the levels need.
func (e *env) options(p pkitest.Party, level pades.Level, name string) pades.Options {
	return pades.Options{
		Level: level, Certificate: p.Cert, Chain: e.Chain(),
		Stamper: e.stamper, TSAChain: e.TSAChain(),
		Revocation: e.rev, PDF: pdfOptions(name),
	}
}

// memFile is an in-memory file, readable and writable at offsets.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		if end <= int64(cap(m.b)) {
			m.b = m.b[:end] // room made beforehand, as a file's pages would be
		} else {
			m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
		}
	}
	copy(m.b[off:], p)
	return len(p), nil
}

func (m *memFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// writeTestPDF writes a PDF 1.4 with a classic table: pages pages and
// padding bytes of comments in page 1's content.
func writeTestPDF(w io.Writer, pages int, padding int64) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var n int64
	var offs []int64
	out := func(format string, args ...any) {
		k, _ := fmt.Fprintf(bw, format, args...)
		n += int64(k)
	}
	obj := func(body string) {
		offs = append(offs, n)
		out("%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	out("%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")
	var kids []string
	for i := 0; i < pages; i++ {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := 0; i < pages; i++ {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		text := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (Trang %d) Tj ET\n", i+1)
		var pad int64
		if i == 0 {
			pad = padding
		}
		offs = append(offs, n)
		out("%d 0 obj\n<< /Length %d >>\nstream\n%s", len(offs), int64(len(text))+pad, text)
		line := "%" + strings.Repeat("x", 98) + "\n"
		for left := pad; left > 0; left -= int64(len(line)) {
			if left < int64(len(line)) {
				out("%s", strings.Repeat("\n", int(left)))
				break
			}
			out("%s", line)
		}
		out("\nendstream\nendobj\n")
	}
	xref := n
	out("xref\n0 %d\n0000000000 65535 f\r\n", len(offs)+1)
	for _, o := range offs {
		out("%010d 00000 n\r\n", o)
	}
	out("trailer\n<< /Size %d /Root 1 0 R /ID [<0102030405060708090A0B0C0D0E0F10> <0102030405060708090A0B0C0D0E0F10>] >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return bw.Flush()
}

func testPDF(pages int, padding int64) []byte {
	var b bytes.Buffer
	if err := writeTestPDF(&b, pages, padding); err != nil {
		panic(err)
	}
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

// corpus writes the kinds of input files into dir: hand-written PDF 1.4,
// qpdf's object streams, and ghostscript's multi-page output.
func corpus(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	minimal := filepath.Join(dir, "minimal.pdf")
	if err := os.WriteFile(minimal, testPDF(2, 0), 0o600); err != nil {
		t.Fatal(err)
	}
	files["minimal"] = minimal
	if _, err := exec.LookPath("qpdf"); err == nil {
		p := filepath.Join(dir, "objstm.pdf")
		run(t, "qpdf", "--object-streams=generate", minimal, p)
		files["objstm"] = p
	}
	if _, err := exec.LookPath("gs"); err == nil {
		ps := filepath.Join(dir, "pages.ps")
		src := "%!PS\n/Helvetica findfont 24 scalefont setfont\n72 700 moveto (Trang 1) show showpage\n72 700 moveto (Trang 2) show showpage\n72 700 moveto (Trang 3) show showpage\n"
		if err := os.WriteFile(ps, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "gs.pdf")
		run(t, "gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-sOutputFile="+p, ps)
		files["gs"] = p
	}
	return files
}

// nssDB makes an NSS database that trusts our root, for pdfsig.
func (e *env) nssDB(t testing.TB) string {
	t.Helper()
	needTool(t, "certutil")
	dir := t.TempDir()
	db := filepath.Join(dir, "nss")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	rootPEM := pkitest.WritePEM(t, dir, "root.pem", e.Root.Cert)
	run(t, "certutil", "-N", "-d", "sql:"+db, "--empty-password")
	run(t, "certutil", "-A", "-d", "sql:"+db, "-n", "civitas-root", "-t", "CT,C,C", "-i", rootPEM)
	return "sql:" + db
}

var sigBlock = regexp.MustCompile(`(?m)^Signature #\d+:`)

// pdfsig runs poppler's verifier and splits its report per signature. Our
// certificates name no OCSP server, so it checks nothing online; its
// -no-ocsp flag is not used because poppler 22.12 then reports every
// certificate as "Unknown issue with Certificate".
func pdfsig(t testing.TB, nss, file string) []string {
	t.Helper()
	out, _ := exec.Command("pdfsig", "-nssdir", nss, file).CombinedOutput() // non-zero for invalid signatures
	idx := sigBlock.FindAllStringIndex(string(out), -1)
	var blocks []string
	for i, loc := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		blocks = append(blocks, string(out[loc[0]:end]))
	}
	return blocks
}

// signFile signs in into out (a new file) and returns out's size.
func signFile(t testing.TB, in, out string, key crypto.Signer, o pades.Options) int64 {
	t.Helper()
	src, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	st, _ := src.Stat()
	dst, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	n, err := pades.Sign(context.Background(), dst, src, st.Size(), key, o)
	if err != nil {
		t.Fatalf("sign %s at %s: %v", filepath.Base(in), o.Level, err)
	}
	if fst, _ := dst.Stat(); fst.Size() != n {
		t.Fatalf("Sign returned size %d, file has %d", n, fst.Size())
	}
	return n
}

func validateFile(t testing.TB, e *env, path string, trust pades.Trust, online pades.Revocation) *pades.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := pades.Validate(context.Background(), f, st.Size(), trust, online)
	if err != nil {
		t.Fatalf("validate %s: %v", filepath.Base(path), err)
	}
	return rep
}
