package verify_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/pki/ocsp"
	"civitas/internal/pki/tsa"
	"civitas/internal/verify"
	"civitas/internal/web"
)

// The PKI below is a smaller copy of internal/pades's test environment
// (tests cannot import another package's test files).

var _ pades.Revocation = (*revocationSource)(nil)

type party struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// env is a root with a citizens CA (for signers) and an officials CA (for
// the TSA), OCSP for both CAs, the root's CRL; and a stranger, whose own
// root nobody here trusts.
type env struct {
	root, citizensCA, officialsCA party
	citizen, tsaCert              party
	strangerRoot, stranger        party
	stamper                       pki.LocalStamper
	rev                           *revocationSource
	trust                         pades.Trust
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serials atomic.Int64

func issue(t testing.TB, tmpl *x509.Certificate, parent *party, key *ecdsa.PrivateKey) party {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(1000 + serials.Add(1))
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-2*time.Hour), time.Now().Add(48*time.Hour)
	issuerCert, issuerKey := tmpl, key
	if parent != nil {
		issuerCert, issuerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuerCert, &key.PublicKey, issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return party{cert: c, key: key}
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:  pkix.Name{CommonName: cn, Organization: []string{"civitas test"}, Country: []string{"VN"}},
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
}

func personTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		Subject:  pkix.Name{CommonName: cn, Organization: []string{"civitas test"}, Country: []string{"VN"}},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
}

var (
	envOnce sync.Once
	shared  *env
)

// newEnv builds the PKI once per test binary.
func newEnv(t testing.TB) *env {
	t.Helper()
	envOnce.Do(func() { shared = buildEnv(t) })
	if shared == nil {
		t.Fatal("test PKI could not be built")
	}
	return shared
}

func buildEnv(t testing.TB) *env {
	e := &env{}
	e.root = issue(t, caTemplate("Civitas Test Root"), nil, newKey(t))
	e.citizensCA = issue(t, caTemplate("Civitas Citizens CA"), &e.root, newKey(t))
	e.officialsCA = issue(t, caTemplate("Civitas Officials CA"), &e.root, newKey(t))
	e.citizen = issue(t, personTemplate("Nguyễn Thị Ánh"), &e.citizensCA, newKey(t))
	e.strangerRoot = issue(t, caTemplate("Somebody Else's Root"), nil, newKey(t))
	e.stranger = issue(t, personTemplate("Người Lạ"), &e.strangerRoot, newKey(t))

	// The TSA's extended key usage must be critical (RFC 3161 §2.3).
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	tsaTmpl := personTemplate("Civitas TSA")
	tsaTmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tsaTmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}
	e.tsaCert = issue(t, tsaTmpl, &e.officialsCA, newKey(t))
	authority, err := tsa.New(tsa.Options{Signer: e.tsaCert.key, Certificate: e.tsaCert.cert, Chain: []*x509.Certificate{e.officialsCA.cert},
		Policy: asn1.ObjectIdentifier(pki.PolicyTimestamp), Accuracy: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.stamper = pki.LocalStamper{TSA: authority}

	src := &mapSource{m: map[string]ocsp.Status{}}
	for _, p := range []party{e.citizen, e.tsaCert} {
		src.m[p.cert.SerialNumber.Text(16)] = ocsp.Status{Known: true}
	}
	responders := map[*x509.Certificate]*ocsp.Responder{}
	for _, ca := range []party{e.citizensCA, e.officialsCA} {
		r, err := ocsp.NewResponder(ocsp.Options{Issuer: ca.cert, Signer: ca.key, Source: src})
		if err != nil {
			t.Fatal(err)
		}
		responders[ca.cert] = r
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour),
	}, e.root.cert, e.root.key)
	if err != nil {
		t.Fatal(err)
	}
	e.rev = &revocationSource{root: e.root.cert, crl: crl, responders: responders}
	roots := x509.NewCertPool()
	roots.AddCert(e.root.cert)
	e.trust = pades.Trust{Roots: roots}
	return e
}

// sign signs in with p at level; the stranger's chain is its own root.
func (e *env) sign(t testing.TB, in []byte, p party, level pades.Level) []byte {
	t.Helper()
	chain := []*x509.Certificate{e.citizensCA.cert, e.root.cert}
	if p.cert.Equal(e.stranger.cert) {
		chain = []*x509.Certificate{e.strangerRoot.cert}
	}
	o := pades.Options{
		Level: level, Certificate: p.cert, Chain: chain,
		Stamper: e.stamper, TSAChain: []*x509.Certificate{e.tsaCert.cert, e.officialsCA.cert, e.root.cert},
		Revocation: e.rev, PDF: pdf.SignOptions{Name: p.cert.Subject.CommonName, Reason: "Xác nhận", Location: "Hà Nội"},
	}
	var f memFile
	if _, err := pades.Sign(context.Background(), &f, bytes.NewReader(in), int64(len(in)), p.key, o); err != nil {
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

type mapSource struct {
	mu sync.Mutex
	m  map[string]ocsp.Status
}

func (s *mapSource) Status(_ context.Context, serial *big.Int) (ocsp.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[serial.Text(16)], nil
}

// revocationSource answers as a relying party's client would: OCSP from
// the issuing CA for each certificate, the root's CRL for the CAs.
type revocationSource struct {
	root       *x509.Certificate
	crl        []byte
	responders map[*x509.Certificate]*ocsp.Responder
}

func (r *revocationSource) Evidence(ctx context.Context, chain []*x509.Certificate) ([][]byte, [][]byte, error) {
	var ocsps, crls [][]byte
	for i := 0; i+1 < len(chain); i++ {
		c, issuer := chain[i], chain[i+1]
		if issuer.Equal(r.root) {
			crls = append(crls, r.crl)
			continue
		}
		for ca, resp := range r.responders {
			if !ca.Equal(issuer) {
				continue
			}
			der, err := xocsp.CreateRequest(c, issuer, nil)
			if err != nil {
				return nil, nil, err
			}
			req, err := xocsp.ParseRequest(der)
			if err != nil {
				return nil, nil, err
			}
			answer, err := resp.Response(ctx, req)
			if err != nil {
				return nil, nil, err
			}
			ocsps = append(ocsps, answer)
		}
	}
	return ocsps, crls, nil
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
