package tsa_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"civitas/internal/pki"
	"civitas/internal/pki/pkitest"
	"civitas/internal/pki/tsa"
)

// pki.LocalStamper reaches the TSA through this interface.
var _ pki.Responder = (*tsa.Authority)(nil)

var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidTSTInfo       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
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

// newTestPKI is a hierarchy whose TSA certifies tsaKey: root → officials'
// CA → TSA, among others.
func newTestPKI(t testing.TB, tsaKey crypto.Signer) *pkitest.Hierarchy {
	t.Helper()
	return pkitest.NewHierarchy(t, pkitest.Options{TSA: []pkitest.Option{pkitest.WithKey(tsaKey)}})
}

// sha256Req is a valid query over data, asking for the certificates, with
// a nonce.
func sha256Req(data string) pkitest.TimeStampReq {
	sum := sha256.Sum256([]byte(data))
	return pkitest.StampQuery(sum[:], true)
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

// wantRefusal checks a refusal: status rejection, one failure bit, a text.
func wantRefusal(t testing.TB, der []byte, bit int) {
	t.Helper()
	r := pkitest.ParseStampResponse(t, der)
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
	r := pkitest.ParseStampResponse(t, der)
	if r.Status.Status != 0 || len(r.Token.FullBytes) == 0 {
		t.Fatalf("want a token, got status %d %q", r.Status.Status, r.Status.StatusString)
	}
	sd, attrs := pkitest.ParseSignedData(t, r.Token.FullBytes)
	if sd.Version != 3 || len(sd.DigestAlgorithms) != 1 || !sd.DigestAlgorithms[0].Algorithm.Equal(oidSHA256) ||
		!sd.EncapContentInfo.EContentType.Equal(oidTSTInfo) {
		t.Fatalf("SignedData %+v", sd)
	}
	si := sd.SignerInfos[0]
	if si.Version != 1 || !bytes.Equal(si.SID.Issuer.FullBytes, cert.RawIssuer) || si.SID.Serial.Cmp(cert.SerialNumber) != 0 ||
		!si.DigestAlgorithm.Algorithm.Equal(oidSHA256) || len(si.UnsignedAttrs.FullBytes) != 0 {
		t.Fatalf("SignerInfo %+v", si)
	}
	if si.SignedAttrs.Class != asn1.ClassContextSpecific || si.SignedAttrs.Tag != 0 || !si.SignedAttrs.IsCompound {
		t.Fatalf("signedAttrs are not [0] IMPLICIT")
	}
	signed := si.SignedAttrsDER()
	if len(attrs) != 3 {
		t.Fatalf("%d signed attributes, want 3", len(attrs))
	}
	for i := 1; i < len(attrs); i++ {
		if bytes.Compare(attrMarshal(t, attrs[i-1]), attrMarshal(t, attrs[i])) > 0 {
			t.Fatal("signed attributes are not in DER SET OF order")
		}
	}
	eContentDigest := sha256.Sum256(sd.Content(t))
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
	if rest, err := asn1.Unmarshal(sd.Content(t), &info); err != nil || len(rest) != 0 {
		t.Fatalf("TSTInfo: %v", err)
	}
	if info.Version != 1 || !info.Policy.Equal(pkitest.TSAPolicy) || info.Ordering || info.SerialNumber.Sign() <= 0 {
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

func attrMarshal(t testing.TB, a pkitest.Attribute) []byte {
	t.Helper()
	return marshal(t, a)
}
