package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"sync"
	"testing"
	"time"
)

// Party is a certificate with its private key.
type Party struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Key returns a new P-256 key, the kind civitas makes by default.
func Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	return ECKey(t, elliptic.P256())
}

// ECKey returns a new ECDSA key on curve.
func ECKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var rsaKeys sync.Map // bits -> func() (*rsa.PrivateKey, error)

// RSAKey returns an RSA key of bits bits, made once per size in a test
// binary: RSA keys take a while, and no test needs two of one size.
func RSAKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	gen, _ := rsaKeys.LoadOrStore(bits, sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, bits) }))
	k, err := gen.(func() (*rsa.PrivateKey, error))()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Serial returns a random positive serial number of 127 bits, as a CA
// draws them.
func Serial(t testing.TB) *big.Int {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	b[0] = b[0]&0x3f | 0x40
	return new(big.Int).SetBytes(b)
}

// Option changes a certificate before it is made.
type Option func(*spec)

type spec struct {
	tmpl *x509.Certificate
	key  crypto.Signer
}

// WithKey certifies key instead of a new P-256 key.
func WithKey(key crypto.Signer) Option { return func(s *spec) { s.key = key } }

// WithSerial gives the certificate serial instead of a random one.
func WithSerial(serial *big.Int) Option {
	return func(s *spec) { s.tmpl.SerialNumber = serial }
}

// WithValidity makes the certificate valid from notBefore to notAfter
// instead of from two hours ago for two days.
func WithValidity(notBefore, notAfter time.Time) Option {
	return func(s *spec) { s.tmpl.NotBefore, s.tmpl.NotAfter = notBefore, notAfter }
}

// WithTemplate changes anything else of the template: the subject, the
// key usages, extensions.
func WithTemplate(edit func(*x509.Certificate)) Option { return func(s *spec) { edit(s.tmpl) } }

// Object identifiers of the extensions the profiles write by hand.
var (
	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamp   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
)

// template is the profile every certificate starts from: a subject of the
// common name in a test organisation, valid from two hours ago (time-stamps
// and OCSP answers made "an hour ago" still fall inside it) for two days.
func template(cn string, keyUsage x509.KeyUsage) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		Subject:   pkix.Name{CommonName: cn, Organization: []string{"civitas test"}, Country: []string{"VN"}},
		NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: keyUsage,
	}
}

// issue makes tmpl, with opts applied, under parent (self-signed when
// parent is nil).
func issue(t testing.TB, parent *Party, tmpl *x509.Certificate, opts []Option) Party {
	t.Helper()
	s := &spec{tmpl: tmpl}
	for _, o := range opts {
		o(s)
	}
	if s.key == nil {
		s.key = Key(t)
	}
	if s.tmpl.SerialNumber == nil {
		s.tmpl.SerialNumber = Serial(t)
	}
	issuerCert, issuerKey := s.tmpl, s.key
	if parent != nil {
		issuerCert, issuerKey = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, s.tmpl, issuerCert, s.key.Public(), issuerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Party{Cert: c, Key: s.key}
}

func caTemplate(cn string) *x509.Certificate {
	c := template(cn, x509.KeyUsageCertSign|x509.KeyUsageCRLSign)
	c.BasicConstraintsValid, c.IsCA = true, true
	return c
}

// NewRoot makes a self-signed root CA.
func NewRoot(t testing.TB, cn string, opts ...Option) Party {
	t.Helper()
	return issue(t, nil, caTemplate(cn), opts)
}

// CA makes a CA certified by p.
func (p Party) CA(t testing.TB, cn string, opts ...Option) Party {
	t.Helper()
	return issue(t, &p, caTemplate(cn), opts)
}

// Signer makes a signer's certificate (a person, an official, an agency's
// seal) certified by p: digital signature and non-repudiation.
func (p Party) Signer(t testing.TB, cn string, opts ...Option) Party {
	t.Helper()
	return issue(t, &p, template(cn, x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment), opts)
}

// TSA makes a time-stamping unit's certificate certified by p, with the
// timeStamping extended key usage marked critical as RFC 3161 §2.3 wants
// (crypto/x509 would not mark it: it is written by hand).
func (p Party) TSA(t testing.TB, cn string, opts ...Option) Party {
	t.Helper()
	c := template(cn, x509.KeyUsageDigitalSignature)
	c.ExtraExtensions = []pkix.Extension{CriticalTimeStamping()}
	return issue(t, &p, c, opts)
}

// CriticalTimeStamping is the extended key usage extension of a TSA's
// certificate: timeStamping alone, critical.
func CriticalTimeStamping() pkix.Extension {
	v, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamp})
	return pkix.Extension{Id: oidExtKeyUsage, Critical: true, Value: v}
}

// OCSPSigner makes the certificate of a responder delegated by p to sign
// its OCSP answers: OCSPSigning, and id-pkix-ocsp-nocheck so that clients
// need not ask about the responder itself.
func (p Party) OCSPSigner(t testing.TB, cn string, opts ...Option) Party {
	t.Helper()
	c := template(cn, x509.KeyUsageDigitalSignature)
	c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	c.ExtraExtensions = []pkix.Extension{{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}}}
	return issue(t, &p, c, opts)
}

// CRL makes p's CRL, current for a day, revoking the given entries.
func (p Party) CRL(t testing.TB, revoked ...x509.RevocationListEntry) []byte {
	t.Helper()
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: revoked,
	}, p.Cert, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Pool is a certificate pool of certs, for x509.VerifyOptions.Roots and
// the like.
func Pool(certs ...*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// FailingSigner stands for a key backend that cannot sign (a locked or
// unplugged token) or whose library panics: its public key is the embedded
// Signer's, its Sign returns Err (a plain error when nil) or panics.
type FailingSigner struct {
	crypto.Signer
	Err    error
	Panics bool
}

// Sign fails.
func (f FailingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	if f.Panics {
		panic("token library bug")
	}
	if f.Err == nil {
		return nil, errors.New("token unplugged")
	}
	return nil, f.Err
}
