package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Reading an RFC 3161 time-stamp token (a CMS SignedData over a TSTInfo),
// for `audit verify`: it checks the tokens on the audit checkpoints with the
// TSA certificate of the hierarchy, without the TSA's code.

var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSHA384        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,optional,tag:0"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    algorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm algorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        asn1.RawValue // GeneralizedTime with fractions, which encoding/asn1 refuses
	Accuracy       asn1.RawValue `asn1:"optional"`
	Ordering       bool          `asn1:"optional,default:false"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,explicit,tag:0"`
	Extensions     asn1.RawValue `asn1:"optional,tag:1"`
}

func hashOf(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

// verifyTimestamp checks that token is a time-stamp over digest (SHA-256)
// signed by the key of tsaCert, and returns the time it attests.
// errOtherSigner is a token signed by another certificate than the one
// it is checked against.
var errOtherSigner = errors.New("signed by another certificate than the TSA's")

func verifyTimestamp(token, digest []byte, tsaCert *x509.Certificate) (time.Time, error) {
	var ci contentInfo
	if rest, err := asn1.Unmarshal(token, &ci); err != nil || len(rest) != 0 || !ci.ContentType.Equal(oidSignedData) {
		return time.Time{}, errors.New("not a CMS SignedData")
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return time.Time{}, fmt.Errorf("SignedData does not parse: %v", err)
	}
	if !sd.EncapContentInfo.EContentType.Equal(oidTSTInfo) || len(sd.EncapContentInfo.EContent) == 0 {
		return time.Time{}, errors.New("not a TSTInfo")
	}
	if len(sd.SignerInfos) != 1 {
		return time.Time{}, fmt.Errorf("%d signers, want 1", len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]
	var sid issuerAndSerial
	if _, err := asn1.Unmarshal(si.SID.FullBytes, &sid); err != nil || sid.Serial == nil ||
		sid.Serial.Cmp(tsaCert.SerialNumber) != 0 || !bytes.Equal(sid.Issuer.FullBytes, tsaCert.RawIssuer) {
		return time.Time{}, errOtherSigner
	}
	h, ok := hashOf(si.DigestAlgorithm.Algorithm)
	if !ok {
		return time.Time{}, errors.New("unknown digest algorithm")
	}
	if len(si.SignedAttrs.FullBytes) == 0 {
		return time.Time{}, errors.New("no signed attributes")
	}
	// The signature covers the attributes as a DER SET, not as the [0]
	// IMPLICIT field they are stored in (RFC 5652 §5.4).
	signed := append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	var gotDigest, gotType bool
	for rest := si.SignedAttrs.Bytes; len(rest) > 0; {
		var a attribute
		var err error
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return time.Time{}, errors.New("signed attributes do not parse")
		}
		switch {
		case a.Type.Equal(oidMessageDigest):
			var md []byte
			if _, err := asn1.Unmarshal(a.Values.Bytes, &md); err != nil {
				return time.Time{}, errors.New("messageDigest does not parse")
			}
			e := h.New()
			e.Write(sd.EncapContentInfo.EContent)
			if !bytes.Equal(md, e.Sum(nil)) {
				return time.Time{}, errors.New("the TSTInfo was changed after signing")
			}
			gotDigest = true
		case a.Type.Equal(oidContentType):
			var ct asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(a.Values.Bytes, &ct); err != nil || !ct.Equal(oidTSTInfo) {
				return time.Time{}, errors.New("contentType is not TSTInfo")
			}
			gotType = true
		}
	}
	if !gotDigest || !gotType {
		return time.Time{}, errors.New("messageDigest or contentType attribute missing")
	}
	e := h.New()
	e.Write(signed)
	sum := e.Sum(nil)
	switch k := tsaCert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		ok = ecdsa.VerifyASN1(k, sum, si.Signature)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, h, sum, si.Signature) == nil
	default:
		ok = false
	}
	if !ok {
		return time.Time{}, errors.New("the TSA's signature does not verify")
	}
	var info tstInfo
	if rest, err := asn1.Unmarshal(sd.EncapContentInfo.EContent, &info); err != nil || len(rest) != 0 {
		return time.Time{}, errors.New("TSTInfo does not parse")
	}
	if !info.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA256) || !bytes.Equal(info.MessageImprint.HashedMessage, digest) {
		return time.Time{}, errors.New("it stamps another digest")
	}
	if info.GenTime.Tag != asn1.TagGeneralizedTime {
		return time.Time{}, errors.New("genTime is not a GeneralizedTime")
	}
	// time.Parse takes the fractional seconds RFC 3161 allows after the
	// seconds field though the layout does not name them.
	at, err := time.Parse("20060102150405Z0700", string(info.GenTime.Bytes))
	if err != nil {
		return time.Time{}, errors.New("genTime does not parse")
	}
	return at, nil
}
