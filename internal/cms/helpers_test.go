package cms_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/cms"
	"civitas/internal/kernel"
	"civitas/internal/pki/tsa"
)

// testPKI is a throwaway hierarchy: root → issuing CA → signer, and a TSA
// under the same issuing CA.
type testPKI struct {
	root, issuer, signer, tsa *x509.Certificate
	rootKey, issuerKey        crypto.Signer
	key, tsaKey               crypto.Signer
}

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3}

func newECDSAKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rsaKey is made once: an RSA key takes a while.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsaKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// criticalTimeStamping is the TSA's extended key usage, by hand: crypto/x509
// would mark it non-critical, which RFC 3161 forbids.
func criticalTimeStamping() pkix.Extension {
	v, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: v}
}

func issue(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// leafTemplate is a signer's certificate valid from an hour ago for a day.
func leafTemplate(cn string, serial int64) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"civitas test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
}

func newTestPKI(t testing.TB, key crypto.Signer) *testPKI {
	t.Helper()
	now := time.Now()
	p := &testPKI{rootKey: newECDSAKey(t, elliptic.P256()), issuerKey: newECDSAKey(t, elliptic.P256()), key: key, tsaKey: newECDSAKey(t, elliptic.P256())}
	ca := func(cn string, serial int64) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"civitas test"}},
			NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(48 * time.Hour),
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		}
	}
	rootTmpl := ca("Test Root", 1)
	p.root = issue(t, rootTmpl, rootTmpl, p.rootKey.Public(), p.rootKey)
	p.issuer = issue(t, ca("Test Officials CA", 2), p.root, p.issuerKey.Public(), p.rootKey)
	p.signer = issue(t, leafTemplate("Nguyễn Văn A", 0x1234567890), p.issuer, key.Public(), p.issuerKey)
	p.tsa = issue(t, &x509.Certificate{
		SerialNumber: new(big.Int).Lsh(big.NewInt(0x4a3f), 100), Subject: pkix.Name{CommonName: "Test TSA", Organization: []string{"civitas test"}},
		// Valid since before the signer's certificate, so that tests can
		// stamp at times the signer's certificate no longer covers.
		NotBefore: now.Add(-6 * time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{criticalTimeStamping()},
	}, p.issuer, p.tsaKey.Public(), p.issuerKey)
	return p
}

func (p *testPKI) signOptions() cms.SignOptions {
	return cms.SignOptions{Certificate: p.signer, Chain: []*x509.Certificate{p.issuer}}
}

func (p *testPKI) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

func (p *testPKI) verifyOptions() cms.VerifyOptions {
	return cms.VerifyOptions{Roots: p.roots()}
}

// authority is a TSA of the test hierarchy, from civitas's own TSA code;
// clock is nil for the real time.
func (p *testPKI) authority(t testing.TB, clock func() time.Time) *tsa.Authority {
	t.Helper()
	a, err := tsa.New(tsa.Options{Signer: p.tsaKey, Certificate: p.tsa, Chain: []*x509.Certificate{p.issuer}, Policy: testPolicy, Accuracy: time.Second, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Time-stamp requests and responses, as a client writes and reads them.

type algorithmID struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type messageImprint struct {
	HashAlgorithm algorithmID
	HashedMessage []byte
}

type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	Nonce          *big.Int `asn1:"optional"`
	CertReq        bool     `asn1:"optional,default:false"`
}

type timeStampResp struct {
	Status struct {
		Status int
		Rest   asn1.RawValue `asn1:"optional"`
	}
	Token asn1.RawValue `asn1:"optional"`
}

// stamp asks the TSA for a token over the SHA-256 digest.
func stamp(t testing.TB, a *tsa.Authority, digest []byte, certReq bool) []byte {
	t.Helper()
	req, err := asn1.Marshal(timeStampReq{
		Version:        1,
		MessageImprint: messageImprint{HashAlgorithm: algorithmID{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}}, HashedMessage: digest},
		Nonce:          big.NewInt(42),
		CertReq:        certReq,
	})
	if err != nil {
		t.Fatal(err)
	}
	var resp timeStampResp
	if rest, err := asn1.Unmarshal(a.Respond(req), &resp); err != nil || len(rest) != 0 || resp.Status.Status != 0 {
		t.Fatalf("no token: %v, status %d", err, resp.Status.Status)
	}
	return resp.Token.FullBytes
}

// signatureStamp asks the TSA for a signature time-stamp for sig.
func signatureStamp(t testing.TB, a *tsa.Authority, sig []byte) []byte {
	t.Helper()
	v, err := cms.SignatureValue(sig)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(v)
	return stamp(t, a, d[:], true)
}

func sign(t testing.TB, digest []byte, key crypto.Signer, o cms.SignOptions) []byte {
	t.Helper()
	sig, err := cms.Sign(digest, key, o)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func randomContent(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sum256(b []byte) []byte {
	d := sha256.Sum256(b)
	return d[:]
}

// wantReason checks that err is the package's coded error for reason.
func wantReason(t testing.TB, err, reason error) {
	t.Helper()
	if !errors.Is(err, reason) {
		t.Fatalf("error %v, want %v", err, reason)
	}
	if kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("error code %q, want invalid", kernel.ErrorCode(err))
	}
	if key, _ := kernel.ErrorKey(err); !strings.HasPrefix(key, "cms.error.") {
		t.Fatalf("message key %q", key)
	}
}

// writePEM writes certificates to dir/name and returns the path.
func writePEM(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return writeFile(t, dir, name, buf.Bytes())
}

func writeKey(t testing.TB, dir, name string, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not on PATH")
	}
}

// openssl runs openssl and fails the test if it fails.
func openssl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
