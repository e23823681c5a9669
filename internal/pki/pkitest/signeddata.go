package pkitest

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
)

// CMS SignedData (RFC 5652) as a client reads it with encoding/asn1, to
// check the signatures and time-stamp tokens civitas writes independently
// of its own parser.

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// ContentInfo is the outer wrapper.
type ContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

// SignedData is the signed content. EContent is the [0] EXPLICIT wrapper
// of the content's OCTET STRING, absent (no FullBytes) in a detached
// signature; Content unwraps it.
type SignedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo struct {
		EContentType asn1.ObjectIdentifier
		EContent     asn1.RawValue `asn1:"optional,explicit,tag:0"`
	}
	Certificates []asn1.RawValue `asn1:"optional,set,tag:0"`
	SignerInfos  []SignerInfo    `asn1:"set"`
}

// SignerInfo is one signer's part; SignedAttrs is raw, [0] IMPLICIT as
// written.
type SignerInfo struct {
	Version            int
	SID                IssuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

// IssuerAndSerial names a certificate by its issuer and serial number.
type IssuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

// Attribute is a signed or unsigned attribute.
type Attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// Content is the encapsulated content's octets (a time-stamp token's
// TSTInfo), nil in a detached signature.
func (sd SignedData) Content(t testing.TB) []byte {
	t.Helper()
	if len(sd.EncapContentInfo.EContent.FullBytes) == 0 {
		return nil
	}
	var octets []byte
	if rest, err := asn1.Unmarshal(sd.EncapContentInfo.EContent.Bytes, &octets); err != nil || len(rest) != 0 {
		t.Fatalf("eContent is not one OCTET STRING: %v", err)
	}
	return octets
}

// SignedAttrsDER is the signer's signed attributes as the SET their
// signature covers.
func (si SignerInfo) SignedAttrsDER() []byte {
	return append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
}

// ParseSignedData reads a ContentInfo holding SignedData with one signer,
// strictly (nothing after any of its parts), and that signer's signed
// attributes; anything else fails the test.
func ParseSignedData(t testing.TB, der []byte) (SignedData, []Attribute) {
	t.Helper()
	var ci ContentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) != 0 || !ci.ContentType.Equal(oidSignedData) {
		t.Fatalf("ContentInfo: %v (content type %v, %d bytes after)", err, ci.ContentType, len(rest))
	}
	var sd SignedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		t.Fatalf("SignedData: %v", err)
	}
	if len(sd.SignerInfos) != 1 {
		t.Fatalf("%d signers", len(sd.SignerInfos))
	}
	var attrs []Attribute
	if rest, err := asn1.UnmarshalWithParams(sd.SignerInfos[0].SignedAttrsDER(), &attrs, "set"); err != nil || len(rest) != 0 {
		t.Fatalf("signed attributes: %v", err)
	}
	return sd, attrs
}
