package pades_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/pades"
	"civitas/internal/pki"
	"civitas/internal/pki/ocsp"
	"civitas/internal/pki/tsa"
)

var (
	_ pades.Stamper    = pki.LocalStamper{}
	_ pades.Revocation = (*revocationSource)(nil)
	_ ocsp.Source      = (*mapSource)(nil)
)

// party is a certificate holder with its key.
type party struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// env is a small national PKI: a root; a citizens CA (with a delegated OCSP
// signer) issuing to people and the agency seal; an officials CA issuing
// the TSA's certificate; OCSP responders for both CAs and a CRL from the
// root for the two CAs.
type env struct {
	root, citizensCA, officialsCA party
	citizen, leader, seal         party
	revoked                       party // revoked 30 minutes ago
	tsaCert                       party
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
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-2 * time.Hour)
		tmpl.NotAfter = time.Now().Add(48 * time.Hour)
	}
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

// newEnv builds the PKI once per test binary: keys and responders are
// expensive enough to share, and nothing in them changes.
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
	e.leader = issue(t, personTemplate("Trần Văn Bình"), &e.citizensCA, newKey(t))
	e.seal = issue(t, personTemplate("UBND Phường 1"), &e.citizensCA, newKey(t))
	e.revoked = issue(t, personTemplate("Lê Văn Cũ"), &e.citizensCA, newKey(t))

	// The TSA's extended key usage must be critical (RFC 3161 §2.3), which
	// crypto/x509 does not write: by hand.
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

	// The citizens CA answers OCSP through a delegated signer, the
	// officials CA signs its answers itself.
	ocspTmpl := personTemplate("Civitas Citizens OCSP")
	ocspTmpl.KeyUsage = x509.KeyUsageDigitalSignature
	ocspTmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	ocspTmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}, Value: []byte{0x05, 0x00}}}
	delegate := issue(t, ocspTmpl, &e.citizensCA, newKey(t))
	src := &mapSource{m: map[string]ocsp.Status{}}
	for _, p := range []party{e.citizen, e.leader, e.seal, e.tsaCert} {
		src.m[p.cert.SerialNumber.Text(16)] = ocsp.Status{Known: true}
	}
	src.m[e.revoked.cert.SerialNumber.Text(16)] = ocsp.Status{Known: true, Revoked: true, RevokedAt: time.Now().Add(-30 * time.Minute), Reason: xocsp.KeyCompromise}
	citizensOCSP, err := ocsp.NewResponder(ocsp.Options{Issuer: e.citizensCA.cert, Signer: delegate.key, SignerCert: delegate.cert, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	officialsOCSP, err := ocsp.NewResponder(ocsp.Options{Issuer: e.officialsCA.cert, Signer: e.officialsCA.key, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour),
	}, e.root.cert, e.root.key)
	if err != nil {
		t.Fatal(err)
	}
	e.rev = &revocationSource{root: e.root.cert, crl: crl, responders: map[*x509.Certificate]*ocsp.Responder{
		e.citizensCA.cert: citizensOCSP, e.officialsCA.cert: officialsOCSP,
	}}

	roots := x509.NewCertPool()
	roots.AddCert(e.root.cert)
	e.trust = pades.Trust{Roots: roots}
	return e
}

// options for a signer at a level, with everything the levels need.
func (e *env) options(p party, level pades.Level, name string) pades.Options {
	return pades.Options{
		Level: level, Certificate: p.cert, Chain: []*x509.Certificate{e.citizensCA.cert, e.root.cert},
		Stamper: e.stamper, TSAChain: []*x509.Certificate{e.tsaCert.cert, e.officialsCA.cert, e.root.cert},
		Revocation: e.rev, PDF: pdfOptions(name),
	}
}

// mapSource is an ocsp.Source over a map of serials.
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
// the issuing CA's responder for each certificate, the root's CRL for the
// CAs under it.
type revocationSource struct {
	root       *x509.Certificate
	crl        []byte
	responders map[*x509.Certificate]*ocsp.Responder
	calls      atomic.Int64
}

func (r *revocationSource) Evidence(ctx context.Context, chain []*x509.Certificate) ([][]byte, [][]byte, error) {
	r.calls.Add(1)
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
	rootPEM := filepath.Join(dir, "root.pem")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.root.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
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
