package verify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"testing"

	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/pki/ocsp"
	"civitas/internal/pki/pkitest"
	"civitas/internal/verify"
	"civitas/internal/web"
)

var _ pades.Revocation = (*pkitest.Revocation)(nil)

// env is a pkitest.Hierarchy (a root with a citizens CA for signers and an
// officials CA for the TSA) with civitas's own TSA and OCSP responders for
// both CAs, signing their answers themselves, and the root's CRL; and a
// stranger, whose own root nobody here trusts. Its keys cost a few
// milliseconds: each test makes its own.
type env struct {
	*pkitest.Hierarchy
	strangerRoot, stranger pkitest.Party
	stamper                pki.LocalStamper
	rev                    *pkitest.Revocation
	trust                  pades.Trust
}

func newEnv(t testing.TB) *env {
	t.Helper()
	h := pkitest.NewHierarchy(t, pkitest.Options{})
	e := &env{Hierarchy: h, strangerRoot: pkitest.NewRoot(t, "Somebody Else's Root"), trust: pades.Trust{Roots: h.Roots()}}
	e.stranger = e.strangerRoot.Signer(t, "Người Lạ")
	e.stamper = pki.LocalStamper{TSA: h.Authority(t)}

	src := &pkitest.Statuses[ocsp.Status]{}
	for _, p := range []pkitest.Party{h.Signer, h.TSA} {
		src.Set(p.Cert.SerialNumber, ocsp.Status{Known: true})
	}
	e.rev = &pkitest.Revocation{Root: h.Root.Cert, CRL: h.CRL, Responders: map[*x509.Certificate]pkitest.Responder{}}
	for _, ca := range []pkitest.Party{h.Citizens, h.Officials} {
		r, err := ocsp.NewResponder(ocsp.Options{Issuer: ca.Cert, Signer: ca.Key, Source: src})
		if err != nil {
			t.Fatal(err)
		}
		e.rev.Responders[ca.Cert] = r
	}
	return e
}

// sign signs in with p at level; the stranger's chain is its own root.
func (e *env) sign(t testing.TB, in []byte, p pkitest.Party, level pades.Level) []byte {
	t.Helper()
	chain := e.Chain()
	if p.Cert.Equal(e.stranger.Cert) {
		chain = []*x509.Certificate{e.strangerRoot.Cert}
	}
	o := pades.Options{
		Level: level, Certificate: p.Cert, Chain: chain,
		Stamper: e.stamper, TSAChain: e.TSAChain(),
		Revocation: e.rev, PDF: pdf.SignOptions{Name: p.Cert.Subject.CommonName, Reason: "Xác nhận", Location: "Hà Nội"},
	}
	var f memFile
	if _, err := pades.Sign(context.Background(), &f, bytes.NewReader(in), int64(len(in)), p.Key, o); err != nil {
		t.Fatal(err)
	}
	return f.b
}

// server serves the pages and the API over a fresh database, as cmd does.
func (e *env) server(t testing.TB, o verify.Options) *httptest.Server {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: dbtest.Open(t), Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if o.Trust == nil {
		o.Trust = func(context.Context) (pades.Trust, error) { return e.trust, nil }
	}
	if err := verify.Mount(ws, o); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// memFile is an in-memory file, readable and writable at offsets.
type memFile struct{ b []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
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

// testPDF is a PDF 1.4 of one page with a classic cross-reference table.
func testPDF() []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(body string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [4 0 R] /Count 1 >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>")
	text := "BT /F1 24 Tf 72 720 Td (Trang 1) Tj ET\n"
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text))
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /ID [<0102030405060708090A0B0C0D0E0F10> <0102030405060708090A0B0C0D0E0F10>] >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// tamper changes one byte of the page's text, inside the signed range.
func tamper(t testing.TB, signed []byte) []byte {
	t.Helper()
	i := bytes.Index(signed, []byte("(Trang 1)"))
	if i < 0 {
		t.Fatal("no page text to tamper with")
	}
	bad := bytes.Clone(signed)
	bad[i+7] = '7'
	return bad
}
