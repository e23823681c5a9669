package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// VerifyOptions say what to trust and when.
type VerifyOptions struct {
	// Roots are the trust anchors. Nil trusts nothing: the system's roots
	// are for the web, not for signatures.
	Roots *x509.CertPool
	// Intermediates help build the chain, with the certificates in the
	// signature.
	Intermediates *x509.CertPool
	// At is the time at which the chain must be valid. Zero means the time
	// of the signature time-stamp if there is one, else now.
	At time.Time
	// KeyUsages the signer's certificate must allow; nil allows any.
	KeyUsages []x509.ExtKeyUsage
	// TSARoots are the trust anchors for signature time-stamps; nil means
	// Roots.
	TSARoots *x509.CertPool
}

// Result is what a verified signature says.
type Result struct {
	Signer       *x509.Certificate
	Chains       [][]*x509.Certificate // from the signer to a root, as crypto/x509 builds them
	Certificates []*x509.Certificate   // all the certificates in the signature
	SigningTime  time.Time             // claimed by the signer, zero if absent
	Timestamp    *Timestamp            // the verified signature time-stamp, nil if none
	Hash         crypto.Hash
}

// DigestAlgorithm returns the hash the signature's signer used, without
// checking anything else, so that a caller can hash the content with it
// before calling Verify.
func DigestAlgorithm(cms []byte) (crypto.Hash, error) {
	sd, err := parseSignedData(cms)
	if err != nil {
		return 0, err
	}
	if len(sd.signers) != 1 {
		return 0, fail(ErrSignerCount, "%d signers", len(sd.signers))
	}
	return digestHash(sd.signers[0].digestAlg)
}

// Verify checks a detached signature over content whose digest, with the
// signer's digest algorithm (see DigestAlgorithm), is contentDigest: the
// structure, exactly one signer, the content-type and message-digest
// attributes, the ESS signing-certificate attribute if present, the
// signature, a signature time-stamp if present, and the chain of the
// signer's certificate to o.Roots at o.At.
//
// Errors are *kernel.Error with code Invalid; errors.Is tells which check
// failed (ErrDigestMismatch, ErrBadSignature, ErrUntrusted, ...).
func Verify(cms []byte, contentDigest []byte, o VerifyOptions) (*Result, error) {
	sd, err := parseSignedData(cms)
	if err != nil {
		return nil, err
	}
	if len(sd.signers) != 1 {
		return nil, fail(ErrSignerCount, "%d signers", len(sd.signers))
	}
	if sd.hasEContent {
		return nil, fail(ErrNotDetached, "the content is inside the signature")
	}
	si := &sd.signers[0]
	cert := si.signerCert(sd.certs)
	if cert == nil {
		return nil, fail(ErrSignerNotFound, "no certificate matches the sid")
	}
	h, err := checkSigner(sd, si, cert)
	if err != nil {
		return nil, err
	}
	res := &Result{Signer: cert, Certificates: sd.certs, Hash: h}

	var md []byte
	v, err := signedValue(si, oidMessageDigest)
	if err == nil && (!v.ReadASN1Bytes(&md, cbasn1.OCTET_STRING) || !v.Empty()) {
		err = malformed("message-digest attribute")
	}
	if err != nil {
		return nil, err
	}
	if len(contentDigest) != h.Size() || !bytes.Equal(md, contentDigest) {
		return nil, fail(ErrDigestMismatch, "the message-digest attribute is not the digest of the content")
	}
	if a := find(si.signed, oidSigningTime); a != nil {
		v, err := a.single()
		if err != nil {
			return nil, err
		}
		if !readTime(&v, &res.SigningTime) || !v.Empty() {
			return nil, malformed("signing-time attribute")
		}
	}

	if err := verifySignerInfo(si, cert, h); err != nil {
		return nil, err
	}

	if res.Timestamp, err = signatureTimestamp(sd, si, o); err != nil {
		return nil, err
	}
	at := o.At
	if at.IsZero() && res.Timestamp != nil {
		at = res.Timestamp.Time
	}
	if at.IsZero() {
		at = time.Now()
	}
	usages := o.KeyUsages
	if len(usages) == 0 {
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	}
	if res.Chains, err = verifyChain(cert, sd.certs, o.Roots, o.Intermediates, at, usages); err != nil {
		return nil, err
	}
	return res, nil
}

// checkSigner does the checks common to signatures and time-stamp tokens
// that come before the signature: the digest algorithm is one we accept
// and among the SignedData's, signed attributes are present with a
// content-type equal to the eContentType, the ESS signing-certificate
// attribute, if any, names cert, and the signature algorithm fits the key.
// It returns the signer's hash.
func checkSigner(sd *signedData, si *signerInfo, cert *x509.Certificate) (crypto.Hash, error) {
	h, err := digestHash(si.digestAlg)
	if err != nil {
		return 0, err
	}
	listed := false
	for _, a := range sd.digestList {
		listed = listed || a.oid.Equal(si.digestAlg.oid)
	}
	if !listed {
		return 0, malformed("the signer's digest algorithm is not among the SignedData's")
	}
	// Without signed attributes the signature would be over the content
	// itself; CAdES and PAdES require them, and so do we.
	if si.signedRaw == nil {
		return 0, fail(ErrMissingAttribute, "no signed attributes")
	}
	var ct asn1.ObjectIdentifier
	v, err := signedValue(si, oidContentType)
	if err == nil && (!v.ReadASN1ObjectIdentifier(&ct) || !v.Empty()) {
		err = malformed("content-type attribute")
	}
	if err != nil {
		return 0, err
	}
	if !ct.Equal(sd.eContentType) {
		return 0, fail(ErrContentTypeMismatch, "content-type attribute %v, eContentType %v", ct, sd.eContentType)
	}
	if _, err := checkSigningCertificate(si.signed, cert); err != nil {
		return 0, err
	}
	if err := checkSignatureAlgorithm(si.sigAlg, h, cert.PublicKey); err != nil {
		return 0, err
	}
	return h, nil
}

// signedValue is the one value of a signed attribute that must be present.
func signedValue(si *signerInfo, oid asn1.ObjectIdentifier) (cryptobyte.String, error) {
	a := find(si.signed, oid)
	if a == nil {
		return nil, fail(ErrMissingAttribute, "no %v attribute", oid)
	}
	return a.single()
}

// verifySignerInfo checks the signature over the signed attributes. They
// are signed as a SET, not as the [0] IMPLICIT field that carries them
// (RFC 5652 §5.4), so the first byte is swapped before hashing.
func verifySignerInfo(si *signerInfo, cert *x509.Certificate, h crypto.Hash) error {
	w := h.New()
	w.Write([]byte{0x31})
	w.Write(si.signedRaw[1:])
	if !verifySignature(cert.PublicKey, h, w.Sum(nil), si.signature) {
		return fail(ErrBadSignature, "the signature value does not verify with the signer's key")
	}
	return nil
}

// verifyChain builds a chain from cert to roots, valid at at, allowing
// usages, with the intermediates and the signature's certificates. The
// leaf's key usage, if the certificate restricts it, must allow signing.
func verifyChain(cert *x509.Certificate, embedded []*x509.Certificate, roots, intermediates *x509.CertPool, at time.Time, usages []x509.ExtKeyUsage) ([][]*x509.Certificate, error) {
	if cert.KeyUsage != 0 && cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return nil, fail(ErrKeyUsage, "neither digitalSignature nor nonRepudiation")
	}
	if roots == nil {
		roots = x509.NewCertPool()
	}
	pool := x509.NewCertPool()
	if intermediates != nil {
		pool = intermediates.Clone()
	}
	for _, c := range embedded {
		pool.AddCert(c)
	}
	chains, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, CurrentTime: at, KeyUsages: usages})
	if err == nil {
		return chains, nil
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		switch invalid.Reason {
		case x509.Expired:
			return nil, fail(ErrExpired, "at %s: %v", at.UTC().Format(time.RFC3339), err)
		case x509.IncompatibleUsage:
			return nil, fail(ErrKeyUsage, "%v", err)
		}
	}
	return nil, fail(ErrUntrusted, "%v", err)
}
