package cms

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// encodeAttribute writes one Attribute with a single value.
func encodeAttribute(oid asn1.ObjectIdentifier, value cryptobyte.BuilderContinuation) ([]byte, error) {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, value)
	})
	return b.Bytes()
}

// encodeSet writes a DER SET OF the given elements, sorted by their
// encodings (X.690 §11.6), under tag.
func encodeSet(tag cbasn1.Tag, elems [][]byte) ([]byte, error) {
	sorted := slices.Clone(elems)
	slices.SortFunc(sorted, bytes.Compare)
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(tag, func(b *cryptobyte.Builder) {
		for _, e := range sorted {
			b.AddBytes(e)
		}
	})
	return b.Bytes()
}

// addTime writes a CMS Time: UTCTime for 1950 to 2049 and GeneralizedTime
// otherwise (RFC 5652 §11.3), in UTC to the second.
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC().Truncate(time.Second)
	if y := t.Year(); y >= 1950 && y < 2050 {
		b.AddASN1UTCTime(t)
		return
	}
	b.AddASN1GeneralizedTime(t)
}

// readTime reads a CMS Time, either form.
func readTime(s *cryptobyte.String, out *time.Time) bool {
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		return s.ReadASN1UTCTime(out)
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		return s.ReadASN1GeneralizedTime(out)
	}
	return false
}

// addSigningCertificateV2 writes the SigningCertificateV2 of RFC 5035 for
// cert: one ESSCertIDv2 with the SHA-256 hash of the certificate (the
// default hashAlgorithm, so DER leaves it out) and its IssuerSerial. It
// binds the signature to this certificate, so a second certificate for the
// same key cannot be passed off as the signer's.
func addSigningCertificateV2(b *cryptobyte.Builder, cert *x509.Certificate) {
	sum := sha256.Sum256(cert.Raw)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2
				b.AddASN1OctetString(sum[:])
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
						b.AddASN1(tagDirectoryName, func(b *cryptobyte.Builder) { b.AddBytes(cert.RawIssuer) })
					})
					b.AddASN1BigInt(cert.SerialNumber)
				})
			})
		})
	})
}

// checkSigningCertificate checks the ESS signing-certificate attributes
// (v1, RFC 2634 §5.4, and v2, RFC 5035) that are present against cert: the
// first ESSCertID names the signer. It reports whether any was present.
func checkSigningCertificate(attrs []attribute, cert *x509.Certificate) (bool, error) {
	found := false
	for _, v2 := range []bool{false, true} {
		oid := oidSigningCert
		if v2 {
			oid = oidSigningCertV2
		}
		a := find(attrs, oid)
		if a == nil {
			continue
		}
		found = true
		v, err := a.single()
		if err != nil {
			return found, err
		}
		if err := checkESSCertID(v, v2, cert); err != nil {
			return found, err
		}
	}
	return found, nil
}

// checkESSCertID reads a SigningCertificate(V2) value and compares its first
// ESSCertID(v2) with cert.
func checkESSCertID(v cryptobyte.String, v2 bool, cert *x509.Certificate) error {
	var sc, ids, id cryptobyte.String
	if !v.ReadASN1(&sc, cbasn1.SEQUENCE) || !v.Empty() ||
		!sc.ReadASN1(&ids, cbasn1.SEQUENCE) || !ids.ReadASN1(&id, cbasn1.SEQUENCE) {
		return malformed("signing-certificate attribute")
	}
	// What follows (more ESSCertIDs for the chain, policies) is not read:
	// only the first identifies the signer.
	h := crypto.SHA1
	if v2 {
		h = crypto.SHA256 // the DEFAULT of ESSCertIDv2's hashAlgorithm
		if id.PeekASN1Tag(cbasn1.SEQUENCE) {
			var a algorithm
			if !readAlgorithm(&id, &a) {
				return malformed("ESSCertIDv2 hashAlgorithm")
			}
			var err error
			if h, err = digestHash(a); err != nil {
				return err
			}
		}
	}
	var certHash []byte
	if !id.ReadASN1Bytes(&certHash, cbasn1.OCTET_STRING) {
		return malformed("ESSCertID certHash")
	}
	if !bytes.Equal(certHash, digestOf(h, cert.Raw)) {
		return fail(ErrSigningCertificateMismatch, "the certificate hash is another certificate's")
	}
	if id.Empty() {
		return nil
	}
	var is, names cryptobyte.String
	serial := new(big.Int)
	if !id.ReadASN1(&is, cbasn1.SEQUENCE) || !id.Empty() ||
		!is.ReadASN1(&names, cbasn1.SEQUENCE) || !is.ReadASN1Integer(serial) || !is.Empty() {
		return malformed("ESSCertID issuerSerial")
	}
	issuerMatches := false
	for !names.Empty() {
		var name cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1(&name, &tag) {
			return malformed("ESSCertID issuer")
		}
		if tag == tagDirectoryName && bytes.Equal(name, cert.RawIssuer) {
			issuerMatches = true
		}
	}
	if !issuerMatches || serial.Cmp(cert.SerialNumber) != 0 {
		return fail(ErrSigningCertificateMismatch, "the issuer and serial number are another certificate's")
	}
	return nil
}
