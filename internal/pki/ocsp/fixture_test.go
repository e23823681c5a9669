package ocsp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"
)

// testCA is a throwaway CA with a delegated OCSP signer.
type testCA struct {
	cert       *x509.Certificate
	key        *ecdsa.PrivateKey
	signerCert *x509.Certificate
	signerKey  *ecdsa.PrivateKey
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomSerial(t testing.TB) *big.Int {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] = b[0]&0x3f | 0x40
	return new(big.Int).SetBytes(b)
}

func create(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	now := time.Now()
	ca := &testCA{key: newKey(t), signerKey: newKey(t)}
	root := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{Country: []string{"VN"}, Organization: []string{"civitas test"}, CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	ca.cert = create(t, root, root, ca.key.Public(), ca.key)
	ca.signerCert = create(t, &x509.Certificate{
		SerialNumber: randomSerial(t),
		Subject:      pkix.Name{CommonName: name + " OCSP responder"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		// id-pkix-ocsp-nocheck: clients need not ask about the signer itself.
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}, Value: []byte{0x05, 0x00}}},
	}, ca.cert, ca.signerKey.Public(), ca.key)
	return ca
}

// issue makes an end-entity certificate with the given serial.
func (ca *testCA) issue(t testing.TB, serial *big.Int) *x509.Certificate {
	t.Helper()
	return create(t, &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "holder " + serial.Text(16)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}, ca.cert, newKey(t).Public(), ca.key)
}

// request is the DER OCSP request for cert, with the CertID hashed by h.
func (ca *testCA) request(t testing.TB, cert *x509.Certificate, h crypto.Hash) []byte {
	t.Helper()
	der, err := xocsp.CreateRequest(cert, ca.cert, &xocsp.RequestOptions{Hash: h})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// parsed is request, parsed.
func (ca *testCA) parsed(t testing.TB, cert *x509.Certificate) *xocsp.Request {
	t.Helper()
	req, err := xocsp.ParseRequest(ca.request(t, cert, crypto.SHA1))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// mapSource is a Source backed by a map, counting its reads.
type mapSource struct {
	mu    sync.Mutex
	m     map[string]Status
	err   error
	delay time.Duration
	calls atomic.Int64
}

func (s *mapSource) Status(ctx context.Context, serial *big.Int) (Status, error) {
	s.calls.Add(1)
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return Status{}, s.err
	}
	return s.m[serial.Text(16)], nil
}

func (s *mapSource) set(serial *big.Int, st Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]Status{}
	}
	s.m[serial.Text(16)] = st
}

func (s *mapSource) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

var _ Source = (*mapSource)(nil)

var errStoreDown = errors.New("database is down")

// fixture is one CA with a good, a revoked and an unknown leaf, and its
// Responder.
type fixture struct {
	ca                     *testCA
	good, revoked, unknown *x509.Certificate
	revokedAt              time.Time
	src                    *mapSource
	r                      *Responder
}

func newFixture(t testing.TB, name string, edit func(*fixture, *Options)) *fixture {
	t.Helper()
	f := &fixture{ca: newTestCA(t, name), src: &mapSource{}}
	f.good = f.ca.issue(t, randomSerial(t))
	f.revoked = f.ca.issue(t, randomSerial(t))
	f.unknown = f.ca.issue(t, randomSerial(t))
	f.revokedAt = time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	f.src.set(f.good.SerialNumber, Status{Known: true})
	f.src.set(f.revoked.SerialNumber, Status{Known: true, Revoked: true, RevokedAt: f.revokedAt, Reason: xocsp.KeyCompromise})
	o := Options{Issuer: f.ca.cert, Signer: f.ca.signerKey, SignerCert: f.ca.signerCert, Source: f.src}
	if edit != nil {
		edit(f, &o)
	}
	r, err := NewResponder(o)
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	return f
}

// writePEM writes certificates to dir/name and returns the path.
func writePEM(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// withExtensions re-encodes an OCSP request with requestExtensions.
func withExtensions(t testing.TB, der []byte, exts ...pkix.Extension) []byte {
	t.Helper()
	var req struct {
		TBS struct {
			RequestList asn1.RawValue
			Extensions  []pkix.Extension `asn1:"explicit,tag:2,optional"`
		}
	}
	if _, err := asn1.Unmarshal(der, &req); err != nil {
		t.Fatal(err)
	}
	req.TBS.Extensions = exts
	out, err := asn1.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func nonceExtension(t testing.TB, n []byte) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidNonce, Value: v}
}

// tbsView is what x/crypto/ocsp does not expose of a successful response:
// the responder ID, producedAt and the responseExtensions.
type tbsView struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   asn1.RawValue
	Extensions  []pkix.Extension `asn1:"optional,explicit,tag:1"`
}

// tbsOf reads der's tbsResponseData.
func tbsOf(t testing.TB, der []byte) tbsView {
	t.Helper()
	var resp struct {
		Status asn1.Enumerated
		Bytes  struct {
			Type     asn1.ObjectIdentifier
			Response []byte
		} `asn1:"explicit,tag:0"`
	}
	var basic struct{ TBS tbsView }
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(resp.Bytes.Response, &basic); err != nil {
		t.Fatal(err)
	}
	return basic.TBS
}

// selfSigned makes a fixture's CA sign its own responses.
func selfSigned(f *fixture, o *Options) { o.Signer, o.SignerCert = f.ca.key, f.ca.cert }
