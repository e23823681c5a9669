package tsa_test

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
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"civitas/internal/pki"
	"civitas/internal/pki/tsa"
)

// pki.LocalStamper reaches the TSA through this interface.
var _ pki.Responder = (*tsa.Authority)(nil)

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}

	testPolicy = pki.PolicyTimestamp
)

// PKIFailureInfo bits, as a client reads them.
const (
	badAlg              = 0
	badRequest          = 2
	badDataFormat       = 5
	unacceptedPolicy    = 15
	unacceptedExtension = 16
	systemFailure       = 25
)

// testPKI is a throwaway hierarchy: root → issuing CA → TSA.
type testPKI struct {
	root, issuer, tsa *x509.Certificate
	key               crypto.Signer // the TSA's
}

// criticalTimeStamping is the TSA's extended key usage, by hand: crypto/x509
// would mark it non-critical, which RFC 3161 forbids.
func criticalTimeStamping() pkix.Extension {
	v, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: v}
}

func newECDSAKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rsaKey is made once: a 3072-bit key takes a while.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 3072) })

func newTestPKI(t testing.TB, tsaKey crypto.Signer) *testPKI {
	t.Helper()
	now := time.Now()
	rootKey, issuerKey := newECDSAKey(t), newECDSAKey(t)
	ca := func(cn string, serial int64) *x509.Certificate {
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Organization: []string{"civitas test"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		}
	}
	issue := func(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
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
	rootTmpl := ca("Test Root", 1)
	root := issue(rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	issuer := issue(ca("Test Officials CA", 2), root, issuerKey.Public(), rootKey)
	tsaCert := issue(&x509.Certificate{
		SerialNumber: new(big.Int).Lsh(big.NewInt(0x4a3f), 100), Subject: pkix.Name{CommonName: "Test TSA", Organization: []string{"civitas test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{criticalTimeStamping()},
	}, issuer, tsaKey.Public(), issuerKey)
	return &testPKI{root: root, issuer: issuer, tsa: tsaCert, key: tsaKey}
}

func (p *testPKI) options() tsa.Options {
	return tsa.Options{Signer: p.key, Certificate: p.tsa, Chain: []*x509.Certificate{p.issuer}, Policy: testPolicy, Accuracy: time.Second}
}

func newAuthority(t testing.TB, p *testPKI, edit ...func(*tsa.Options)) *tsa.Authority {
	t.Helper()
	o := p.options()
	for _, e := range edit {
		e(&o)
	}
	a, err := tsa.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// writePEM writes certificates to dir/name and returns the path.
func writePEM(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var buf bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Requests, as a client writes them.

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
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        asn1.RawValue         `asn1:"optional"` // raw, so a test can write FALSE explicitly
	Extensions     asn1.RawValue         `asn1:"optional"`
}

var (
	boolTrue  = asn1.RawValue{FullBytes: []byte{0x01, 0x01, 0xff}}
	boolFalse = asn1.RawValue{FullBytes: []byte{0x01, 0x01, 0x00}}
)

// sha256Req is a valid query over data, asking for the certificates, with
// a nonce.
func sha256Req(data string) timeStampReq {
	sum := sha256.Sum256([]byte(data))
	return timeStampReq{
		Version:        1,
		MessageImprint: messageImprint{HashAlgorithm: algorithmID{Algorithm: oidSHA256}, HashedMessage: sum[:]},
		Nonce:          big.NewInt(0x1234567890abcdef),
		CertReq:        boolTrue,
	}
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Responses, as a client reads them.

type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo struct {
		EContentType asn1.ObjectIdentifier
		EContent     []byte `asn1:"explicit,tag:0"`
	}
	Certificates []asn1.RawValue `asn1:"optional,set,tag:0"`
	SignerInfos  []signerInfo    `asn1:"set"`
}

type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type essCertIDv2 struct {
	CertHash     []byte
	IssuerSerial struct {
		Issuer []asn1.RawValue
		Serial *big.Int
	}
}

type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint asn1.RawValue
	SerialNumber   *big.Int
	GenTime        asn1.RawValue // raw, to check its spelling
	Accuracy       accuracy      `asn1:"optional"`
	Ordering       bool          `asn1:"optional"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,explicit,tag:0"`
}

// token is a checked token: its TSTInfo and genTime.
type token struct {
	info    tstInfo
	genTime time.Time
	certs   int
}

// parseResp reads a TimeStampResp strictly: one DER value, nothing after.
func parseResp(t testing.TB, der []byte) timeStampResp {
	t.Helper()
	var r timeStampResp
	rest, err := asn1.Unmarshal(der, &r)
	if err != nil || len(rest) != 0 {
		t.Fatalf("the response does not parse (%v, %d bytes left): %x", err, len(rest), der)
	}
	return r
}

// wantRefusal checks a refusal: status rejection, one failure bit, a text.
func wantRefusal(t testing.TB, der []byte, bit int) {
	t.Helper()
	r := parseResp(t, der)
	if r.Status.Status != 2 || len(r.Token.FullBytes) != 0 || len(r.Status.StatusString) == 0 {
		t.Fatalf("want a rejection with a text, got %+v", r)
	}
	fi := r.Status.FailInfo
	for i := range fi.BitLength {
		if (fi.At(i) == 1) != (i == bit) {
			t.Fatalf("failInfo %x/%d (%q), want bit %d alone", fi.Bytes, fi.BitLength, r.Status.StatusString, bit)
		}
	}
	if fi.BitLength != bit+1 {
		t.Fatalf("failInfo is %d bits long, want %d (DER drops trailing zero bits)", fi.BitLength, bit+1)
	}
}

// wantToken checks a granted response the way a verifier does: the CMS
// structure, the signed attributes and their DER order, the ESSCertIDv2,
// the signature with the TSA certificate, and the TSTInfo's spelling.
func wantToken(t testing.TB, der []byte, cert *x509.Certificate) token {
	t.Helper()
	r := parseResp(t, der)
	if r.Status.Status != 0 || len(r.Token.FullBytes) == 0 {
		t.Fatalf("want a token, got status %d %q", r.Status.Status, r.Status.StatusString)
	}
	var ci contentInfo
	if rest, err := asn1.Unmarshal(r.Token.FullBytes, &ci); err != nil || len(rest) != 0 || !ci.ContentType.Equal(oidSignedData) {
		t.Fatalf("ContentInfo: %v", err)
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		t.Fatalf("SignedData: %v", err)
	}
	if sd.Version != 3 || len(sd.DigestAlgorithms) != 1 || !sd.DigestAlgorithms[0].Algorithm.Equal(oidSHA256) ||
		!sd.EncapContentInfo.EContentType.Equal(oidTSTInfo) || len(sd.SignerInfos) != 1 {
		t.Fatalf("SignedData %+v", sd)
	}
	si := sd.SignerInfos[0]
	if si.Version != 1 || !bytes.Equal(si.SID.Issuer.FullBytes, cert.RawIssuer) || si.SID.Serial.Cmp(cert.SerialNumber) != 0 ||
		!si.DigestAlgorithm.Algorithm.Equal(oidSHA256) {
		t.Fatalf("SignerInfo %+v", si)
	}
	if si.SignedAttrs.Class != asn1.ClassContextSpecific || si.SignedAttrs.Tag != 0 || !si.SignedAttrs.IsCompound {
		t.Fatalf("signedAttrs are not [0] IMPLICIT")
	}
	signed := append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	var attrs []attribute
	if rest, err := asn1.UnmarshalWithParams(signed, &attrs, "set"); err != nil || len(rest) != 0 || len(attrs) != 3 {
		t.Fatalf("signed attributes: %v, %d", err, len(attrs))
	}
	for i := 1; i < len(attrs); i++ {
		if bytes.Compare(attrMarshal(t, attrs[i-1]), attrMarshal(t, attrs[i])) > 0 {
			t.Fatal("signed attributes are not in DER SET OF order")
		}
	}
	eContentDigest := sha256.Sum256(sd.EncapContentInfo.EContent)
	certHash := sha256.Sum256(cert.Raw)
	for _, a := range attrs {
		switch {
		case a.Type.Equal(oidContentType):
			var ct asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(a.Values.Bytes, &ct); err != nil || !ct.Equal(oidTSTInfo) {
				t.Fatalf("contentType %v", ct)
			}
		case a.Type.Equal(oidMessageDigest):
			var d []byte
			if _, err := asn1.Unmarshal(a.Values.Bytes, &d); err != nil || !bytes.Equal(d, eContentDigest[:]) {
				t.Fatal("messageDigest is not the TSTInfo's")
			}
		case a.Type.Equal(oidSigningCertV2):
			var sc struct{ Certs []essCertIDv2 }
			if _, err := asn1.Unmarshal(a.Values.Bytes, &sc); err != nil || len(sc.Certs) != 1 {
				t.Fatalf("signingCertificateV2: %v", err)
			}
			id := sc.Certs[0]
			if !bytes.Equal(id.CertHash, certHash[:]) || id.IssuerSerial.Serial.Cmp(cert.SerialNumber) != 0 ||
				len(id.IssuerSerial.Issuer) != 1 || id.IssuerSerial.Issuer[0].Tag != 4 || !bytes.Equal(id.IssuerSerial.Issuer[0].Bytes, cert.RawIssuer) {
				t.Fatalf("ESSCertIDv2 %+v", id)
			}
		default:
			t.Fatalf("unexpected signed attribute %v", a.Type)
		}
	}
	alg := x509.ECDSAWithSHA256
	if _, ok := cert.PublicKey.(*rsa.PublicKey); ok {
		alg = x509.SHA256WithRSA
	}
	if err := cert.CheckSignature(alg, signed, si.Signature); err != nil {
		t.Fatalf("signature: %v", err)
	}

	var info tstInfo
	if rest, err := asn1.Unmarshal(sd.EncapContentInfo.EContent, &info); err != nil || len(rest) != 0 {
		t.Fatalf("TSTInfo: %v", err)
	}
	if info.Version != 1 || !info.Policy.Equal(testPolicy) || info.Ordering || info.SerialNumber.Sign() <= 0 {
		t.Fatalf("TSTInfo %+v", info)
	}
	if info.GenTime.Tag != asn1.TagGeneralizedTime {
		t.Fatalf("genTime has tag %d", info.GenTime.Tag)
	}
	s := string(info.GenTime.Bytes)
	gt, err := time.Parse("20060102150405.999999999Z", s)
	if err != nil || gt.Format("20060102150405.999999Z") != s {
		t.Fatalf("genTime %q is not UTC GeneralizedTime without trailing zeros (%v)", s, err)
	}
	if len(info.TSA.Bytes) == 0 {
		t.Fatal("no tsa name")
	}
	return token{info: info, genTime: gt, certs: len(sd.Certificates)}
}

func attrMarshal(t testing.TB, a attribute) []byte {
	t.Helper()
	return marshal(t, a)
}
