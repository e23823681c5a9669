package pades

import (
	"bytes"
	"crypto/x509"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// These read, without checking anything, who claims to have signed a CMS
// SignedData (a signature or a time-stamp token) and the certificates it
// carries: to name the signer in a report when the signature does not
// verify, and to find a TSA's chain for the DSS. Nothing read here is
// trusted; internal/cms does the checks.

const maxCerts = 64

var (
	tagCerts = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagCRLs  = cbasn1.Tag(1).ContextSpecific().Constructed()
)

// signedDataParts returns the certificates of a SignedData and the issuer
// and serial of its first signer (nil when it names its certificate by
// key identifier or does not parse).
func signedDataParts(der []byte) (certs []*x509.Certificate, issuer []byte, serial *big.Int) {
	in := cryptobyte.String(der)
	var ci, content, sd cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).ContextSpecific().Constructed()) || !content.ReadASN1(&sd, cbasn1.SEQUENCE) {
		return nil, nil, nil
	}
	if !sd.SkipASN1(cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.SkipASN1(cbasn1.SEQUENCE) {
		return nil, nil, nil
	}
	var raw cryptobyte.String
	var present bool
	if !sd.ReadOptionalASN1(&raw, &present, tagCerts) {
		return nil, nil, nil
	}
	for len(raw) > 0 && len(certs) < maxCerts {
		var c cryptobyte.String
		var tag cbasn1.Tag
		if !raw.ReadAnyASN1Element(&c, &tag) {
			break
		}
		if tag != cbasn1.SEQUENCE {
			continue // attribute certificates and other kinds
		}
		if cert, err := x509.ParseCertificate(c); err == nil {
			certs = append(certs, cert)
		}
	}
	if !sd.SkipOptionalASN1(tagCRLs) {
		return certs, nil, nil
	}
	var sis, si, sid cryptobyte.String
	if !sd.ReadASN1(&sis, cbasn1.SET) || !sis.ReadASN1(&si, cbasn1.SEQUENCE) || !si.SkipASN1(cbasn1.INTEGER) {
		return certs, nil, nil
	}
	if !si.ReadASN1(&sid, cbasn1.SEQUENCE) {
		return certs, nil, nil
	}
	var name cryptobyte.String
	serial = new(big.Int)
	if !sid.ReadASN1Element(&name, cbasn1.SEQUENCE) || !sid.ReadASN1Integer(serial) {
		return certs, nil, nil
	}
	return certs, name, serial
}

// claimedSigner is the certificate the first signer of der names, if
// der carries it.
func claimedSigner(der []byte) (*x509.Certificate, []*x509.Certificate) {
	certs, issuer, serial := signedDataParts(der)
	if issuer == nil {
		return nil, certs
	}
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, issuer) && c.SerialNumber.Cmp(serial) == 0 {
			return c, certs
		}
	}
	return nil, certs
}

// tokenSigner is the TSA certificate a time-stamp token names.
func tokenSigner(token []byte) *x509.Certificate {
	c, _ := claimedSigner(token)
	return c
}

// tokenCerts are the certificates a token carries.
func tokenCerts(token []byte) []*x509.Certificate {
	certs, _, _ := signedDataParts(token)
	return certs
}
