package cms

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxSize bounds the signatures and tokens this package reads. A PAdES
// signature with its chain and a time-stamp is a few tens of kilobytes; the
// bound keeps hostile input cheap to refuse.
const MaxSize = 1 << 20

// Counts a real signature stays far below; each bounds the work a hostile
// one can cause.
const (
	maxCertificates     = 50
	maxSigners          = 8
	maxDigestAlgorithms = 8
	maxAttributes       = 64
	maxValues           = 16
	maxTimestamps       = 4
)

// signedData is a parsed SignedData. The raw fields are whole DER elements
// of the input, so that AddTimestamp can write them back unchanged.
type signedData struct {
	version      int64
	digestAlgs   []byte // the digestAlgorithms SET
	digestList   []algorithm
	encap        []byte // the EncapsulatedContentInfo
	eContentType asn1.ObjectIdentifier
	eContent     []byte
	hasEContent  bool
	certsRaw     []byte // the certificates [0] element, nil when absent
	certs        []*x509.Certificate
	crlsRaw      []byte // the crls [1] element, nil when absent
	signers      []signerInfo
}

// signerInfo is a parsed SignerInfo.
type signerInfo struct {
	version     int64
	sid         []byte   // the whole sid element
	issuer      []byte   // issuerAndSerialNumber: the issuer Name element
	serial      *big.Int // issuerAndSerialNumber: the serial number
	keyID       []byte   // subjectKeyIdentifier, when that is the sid
	digestAlg   algorithm
	signedRaw   []byte // the signedAttrs [0] element, nil when absent
	signed      []attribute
	sigAlg      algorithm
	signature   []byte
	unsigned    []attribute
	hasUnsigned bool
}

// attribute is one Attribute of a SET OF Attribute.
type attribute struct {
	raw    []byte // the whole element
	oid    asn1.ObjectIdentifier
	values []cryptobyte.String // each value element, with its header
}

// parseSignedData reads a DER ContentInfo holding a SignedData, strictly:
// one element and nothing after it, definite minimal lengths (cryptobyte
// refuses anything else), and each part where RFC 5652 puts it.
func parseSignedData(der []byte) (*signedData, error) {
	if len(der) > MaxSize {
		return nil, fail(ErrTooLarge, "%d bytes, at most %d", len(der), MaxSize)
	}
	in := cryptobyte.String(der)
	var ci, content, body cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, malformed("not one DER ContentInfo")
	}
	if !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(oidSignedData) {
		return nil, malformed("the content is not a SignedData")
	}
	if !ci.ReadASN1(&content, tagExplicit0) || !ci.Empty() ||
		!content.ReadASN1(&body, cbasn1.SEQUENCE) || !content.Empty() {
		return nil, malformed("ContentInfo")
	}
	return parseSignedDataBody(body)
}

// parseSignedDataBody reads the fields of a SignedData SEQUENCE.
func parseSignedDataBody(s cryptobyte.String) (*signedData, error) {
	sd := &signedData{}
	if !s.ReadASN1Integer(&sd.version) {
		return nil, malformed("SignedData version")
	}
	// RFC 5652 §5.1: 1 or 3 for what we read; 4 and 5 only mean other
	// kinds of certificates or CRLs are present, which we skip.
	switch sd.version {
	case 1, 3, 4, 5:
	default:
		return nil, malformed("SignedData version %d", sd.version)
	}

	var algs cryptobyte.String
	if !s.ReadASN1Element(&algs, cbasn1.SET) {
		return nil, malformed("digestAlgorithms")
	}
	sd.digestAlgs = algs
	algs = inner(algs)
	for !algs.Empty() {
		if len(sd.digestList) == maxDigestAlgorithms {
			return nil, fail(ErrTooLarge, "more than %d digest algorithms", maxDigestAlgorithms)
		}
		var a algorithm
		if !readAlgorithm(&algs, &a) {
			return nil, malformed("digestAlgorithms")
		}
		sd.digestList = append(sd.digestList, a)
	}

	var encap cryptobyte.String
	if !s.ReadASN1Element(&encap, cbasn1.SEQUENCE) {
		return nil, malformed("encapContentInfo")
	}
	sd.encap = encap
	encap = inner(encap)
	if !encap.ReadASN1ObjectIdentifier(&sd.eContentType) {
		return nil, malformed("eContentType")
	}
	if !encap.Empty() {
		var ec cryptobyte.String
		if !encap.ReadASN1(&ec, tagExplicit0) || !encap.Empty() ||
			!ec.ReadASN1Bytes(&sd.eContent, cbasn1.OCTET_STRING) || !ec.Empty() {
			return nil, malformed("eContent")
		}
		sd.hasEContent = true
	}

	if s.PeekASN1Tag(tagExplicit0) {
		var certs cryptobyte.String
		if !s.ReadASN1Element(&certs, tagExplicit0) {
			return nil, malformed("certificates")
		}
		sd.certsRaw = certs
		certs = inner(certs)
		n := 0
		for !certs.Empty() {
			if n++; n > maxCertificates {
				return nil, fail(ErrTooLarge, "more than %d certificates", maxCertificates)
			}
			var el cryptobyte.String
			var tag cbasn1.Tag
			if !certs.ReadAnyASN1Element(&el, &tag) {
				return nil, malformed("certificates")
			}
			// Attribute and other certificates (the tagged choices of
			// CertificateChoices) cannot help build an X.509 chain.
			if tag != cbasn1.SEQUENCE {
				continue
			}
			c, err := x509.ParseCertificate(el)
			if err != nil {
				return nil, malformed("a certificate does not parse: %v", err)
			}
			sd.certs = append(sd.certs, c)
		}
	}
	if s.PeekASN1Tag(tagImplicit1) {
		// Revocation data is for a validation service to fetch and judge;
		// it is carried through unread.
		var crls cryptobyte.String
		if !s.ReadASN1Element(&crls, tagImplicit1) {
			return nil, malformed("crls")
		}
		sd.crlsRaw = crls
	}

	var infos cryptobyte.String
	if !s.ReadASN1(&infos, cbasn1.SET) || !s.Empty() {
		return nil, malformed("signerInfos, or data after them")
	}
	for !infos.Empty() {
		if len(sd.signers) == maxSigners {
			return nil, fail(ErrTooLarge, "more than %d signers", maxSigners)
		}
		var si cryptobyte.String
		if !infos.ReadASN1(&si, cbasn1.SEQUENCE) {
			return nil, malformed("SignerInfo")
		}
		info, err := parseSignerInfo(si)
		if err != nil {
			return nil, err
		}
		sd.signers = append(sd.signers, info)
	}
	return sd, nil
}

// parseSignerInfo reads the fields of a SignerInfo SEQUENCE.
func parseSignerInfo(s cryptobyte.String) (signerInfo, error) {
	var si signerInfo
	if !s.ReadASN1Integer(&si.version) {
		return si, malformed("SignerInfo version")
	}
	var sid cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1Element(&sid, &tag) {
		return si, malformed("sid")
	}
	si.sid = sid
	switch {
	case tag == cbasn1.SEQUENCE && si.version == 1:
		var ias, issuer cryptobyte.String
		si.serial = new(big.Int)
		if !sid.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
			!ias.ReadASN1Integer(si.serial) || !ias.Empty() {
			return si, malformed("issuerAndSerialNumber")
		}
		si.issuer = issuer
	case tag == tagSubjectKeyID && si.version == 3:
		if !sid.ReadASN1Bytes(&si.keyID, tagSubjectKeyID) {
			return si, malformed("subjectKeyIdentifier")
		}
	default:
		// RFC 5652 §5.3 ties the version to the kind of sid.
		return si, malformed("SignerInfo version %d with sid tag %#x", si.version, uint8(tag))
	}
	if !readAlgorithm(&s, &si.digestAlg) {
		return si, malformed("SignerInfo digestAlgorithm")
	}
	if s.PeekASN1Tag(tagExplicit0) {
		var signed cryptobyte.String
		if !s.ReadASN1Element(&signed, tagExplicit0) {
			return si, malformed("signedAttrs")
		}
		si.signedRaw = signed
		var err error
		if si.signed, err = parseAttributes(inner(signed), true); err != nil {
			return si, err
		}
	}
	if !readAlgorithm(&s, &si.sigAlg) {
		return si, malformed("SignerInfo signatureAlgorithm")
	}
	if !s.ReadASN1Bytes(&si.signature, cbasn1.OCTET_STRING) {
		return si, malformed("SignerInfo signature")
	}
	if s.PeekASN1Tag(tagImplicit1) {
		var unsigned cryptobyte.String
		if !s.ReadASN1(&unsigned, tagImplicit1) {
			return si, malformed("unsignedAttrs")
		}
		var err error
		if si.unsigned, err = parseAttributes(unsigned, false); err != nil {
			return si, err
		}
		si.hasUnsigned = true
	}
	if !s.Empty() {
		return si, malformed("data after the SignerInfo")
	}
	return si, nil
}

// parseAttributes reads the contents of a SET OF Attribute. Signed
// attributes must be in DER order with each type once (RFC 5652 §5.3):
// their bytes are what was signed, and a verifier that re-encodes them, as
// OpenSSL does, would otherwise check other bytes than we do.
func parseAttributes(s cryptobyte.String, signed bool) ([]attribute, error) {
	var list []attribute
	for !s.Empty() {
		if len(list) == maxAttributes {
			return nil, fail(ErrTooLarge, "more than %d attributes", maxAttributes)
		}
		var a attribute
		var el, body, values cryptobyte.String
		if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) {
			return nil, malformed("attribute")
		}
		body = inner(el)
		if !body.ReadASN1ObjectIdentifier(&a.oid) ||
			!body.ReadASN1(&values, cbasn1.SET) || !body.Empty() {
			return nil, malformed("attribute")
		}
		a.raw = el
		for !values.Empty() {
			if len(a.values) == maxValues {
				return nil, fail(ErrTooLarge, "more than %d values in attribute %v", maxValues, a.oid)
			}
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !values.ReadAnyASN1Element(&v, &tag) {
				return nil, malformed("value of attribute %v", a.oid)
			}
			a.values = append(a.values, v)
		}
		if len(a.values) == 0 {
			return nil, malformed("attribute %v without a value", a.oid)
		}
		if signed {
			if n := len(list); n > 0 && bytes.Compare(list[n-1].raw, a.raw) > 0 {
				return nil, malformed("signed attributes not in DER order")
			}
			for _, b := range list {
				if b.oid.Equal(a.oid) {
					return nil, fail(ErrMissingAttribute, "signed attribute %v twice", a.oid)
				}
			}
		}
		list = append(list, a)
	}
	return list, nil
}

// inner is the contents of an element already read whole, which
// ReadASN1Element has checked.
func inner(el cryptobyte.String) cryptobyte.String {
	var tag cbasn1.Tag
	var body cryptobyte.String
	el.ReadAnyASN1(&body, &tag)
	return body
}

// find returns the attribute of type oid, or nil.
func find(list []attribute, oid asn1.ObjectIdentifier) *attribute {
	for i := range list {
		if list[i].oid.Equal(oid) {
			return &list[i]
		}
	}
	return nil
}

// single returns the one value of a signed attribute that RFC 5652 §11
// and RFC 5035 allow only one value for.
func (a *attribute) single() (cryptobyte.String, error) {
	if len(a.values) != 1 {
		return nil, fail(ErrMissingAttribute, "attribute %v with %d values", a.oid, len(a.values))
	}
	return a.values[0], nil
}

// signerCert finds the certificate a SignerInfo names among certs.
func (si *signerInfo) signerCert(certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if si.keyID != nil {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.keyID) {
				return c
			}
			continue
		}
		if c.SerialNumber.Cmp(si.serial) == 0 && bytes.Equal(c.RawIssuer, si.issuer) {
			return c
		}
	}
	return nil
}
