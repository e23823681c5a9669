package ocsp

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/pki/pkitest"
)

// testCA is a throwaway root CA with a delegated OCSP signer.
type testCA struct {
	pkitest.Party
	signer pkitest.Party
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	ca := &testCA{Party: pkitest.NewRoot(t, name)}
	ca.signer = ca.OCSPSigner(t, name+" OCSP responder")
	return ca
}

// issue makes an end-entity certificate with the given serial.
func (ca *testCA) issue(t testing.TB, serial *big.Int) *x509.Certificate {
	t.Helper()
	return ca.Signer(t, "holder "+serial.Text(16), pkitest.WithSerial(serial)).Cert
}

// request is the DER OCSP request for cert, with the CertID hashed by h.
func (ca *testCA) request(t testing.TB, cert *x509.Certificate, h crypto.Hash) []byte {
	t.Helper()
	der, _ := pkitest.OCSPRequest(t, cert, ca.Cert, h)
	return der
}

// parsed is request with SHA-1, parsed.
func (ca *testCA) parsed(t testing.TB, cert *x509.Certificate) *xocsp.Request {
	t.Helper()
	_, req := pkitest.OCSPRequest(t, cert, ca.Cert, crypto.SHA1)
	return req
}

// mapSource is a Source backed by a map, counting its reads.
type mapSource = pkitest.Statuses[Status]

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
	f.good = f.ca.issue(t, pkitest.Serial(t))
	f.revoked = f.ca.issue(t, pkitest.Serial(t))
	f.unknown = f.ca.issue(t, pkitest.Serial(t))
	f.revokedAt = time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	f.src.Set(f.good.SerialNumber, Status{Known: true})
	f.src.Set(f.revoked.SerialNumber, Status{Known: true, Revoked: true, RevokedAt: f.revokedAt, Reason: xocsp.KeyCompromise})
	o := Options{Issuer: f.ca.Cert, Signer: f.ca.signer.Key, SignerCert: f.ca.signer.Cert, Source: f.src}
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
func selfSigned(f *fixture, o *Options) { o.Signer, o.SignerCert = f.ca.Key, f.ca.Cert }
