package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha1" // ESS signing-certificate (v1) hashes
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/asn1"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidData                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidTSTInfo             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidSigningCert         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSignatureTimeStamp  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	oidSigningCertV2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA256              = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384              = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512              = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECPublicKey         = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA256     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidRSAEncryption       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	tagExplicit0           = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagImplicit1           = cbasn1.Tag(1).ContextSpecific().Constructed()
	tagDirectoryName       = cbasn1.Tag(4).ContextSpecific().Constructed()
	tagSubjectKeyID        = cbasn1.Tag(0).ContextSpecific()
	tagMillis, tagMicros   = cbasn1.Tag(0).ContextSpecific(), cbasn1.Tag(1).ContextSpecific()
	derNull                = []byte{0x05, 0x00}
	rsaMinBits, rsaMaxBits = 2048, 8192
)

// digests are the hashes we sign and accept. SHA-1 is not among them: its
// collisions let one signature cover two documents.
var digests = []struct {
	oid        asn1.ObjectIdentifier
	hash       crypto.Hash
	ecdsa, rsa asn1.ObjectIdentifier // signature algorithms with this hash
}{
	{oidSHA256, crypto.SHA256, oidECDSAWithSHA256, oidSHA256WithRSA},
	{oidSHA384, crypto.SHA384, oidECDSAWithSHA384, oidSHA384WithRSA},
	{oidSHA512, crypto.SHA512, oidECDSAWithSHA512, oidSHA512WithRSA},
}

func hashByOID(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, d := range digests {
		if d.oid.Equal(oid) {
			return d.hash, true
		}
	}
	return 0, false
}

func oidOfHash(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	for _, d := range digests {
		if d.hash == h {
			return d.oid, true
		}
	}
	return nil, false
}

// digestOf hashes data with h, which must be one of digests.
func digestOf(h crypto.Hash, data []byte) []byte {
	w := h.New()
	w.Write(data)
	return w.Sum(nil)
}

// algorithm is a parsed AlgorithmIdentifier.
type algorithm struct {
	raw    []byte // the whole element, to copy as it is
	oid    asn1.ObjectIdentifier
	params []byte // the parameters element, nil when absent
}

// readAlgorithm reads an AlgorithmIdentifier: an OID and at most one
// parameters element.
func readAlgorithm(s *cryptobyte.String, out *algorithm) bool {
	var el, body cryptobyte.String
	if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) {
		return false
	}
	body = inner(el)
	if !body.ReadASN1ObjectIdentifier(&out.oid) {
		return false
	}
	out.raw = el
	out.params = nil
	if !body.Empty() {
		var p cryptobyte.String
		var tag cbasn1.Tag
		if !body.ReadAnyASN1Element(&p, &tag) || !body.Empty() {
			return false
		}
		out.params = p
	}
	return true
}

// nullOrAbsent: RFC 5754 §2 and RFC 4055 §5 let the SHA-2 and PKCS #1
// identifiers come with NULL parameters or none.
func (a algorithm) nullOrAbsent() bool {
	return a.params == nil || slices.Equal(a.params, derNull)
}

// digestHash is the hash a digestAlgorithm names, if we accept it.
func digestHash(a algorithm) (crypto.Hash, error) {
	h, ok := hashByOID(a.oid)
	if !ok {
		return 0, fail(ErrUnsupportedAlgorithm, "digest algorithm %v", a.oid)
	}
	if !a.nullOrAbsent() {
		return 0, malformed("parameters on digest algorithm %v", a.oid)
	}
	return h, nil
}

// checkKey refuses keys too weak or too odd to trust: ECDSA on curves other
// than P-256, P-384 and P-521, RSA under 2048 or over 8192 bits (the upper
// bound keeps a hostile certificate from making verification slow).
func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fail(ErrUnsupportedAlgorithm, "ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < rsaMinBits || n > rsaMaxBits {
			return fail(ErrUnsupportedAlgorithm, "RSA key of %d bits", n)
		}
		return nil
	}
	return fail(ErrUnsupportedAlgorithm, "public key type %T", pub)
}

// checkSignatureAlgorithm accepts a SignerInfo's signatureAlgorithm for a
// key and a digestAlgorithm: ECDSA or RSA PKCS #1 v1.5 with the same hash.
// The bare key OIDs (id-ecPublicKey, rsaEncryption) are accepted too: OpenSSL
// writes rsaEncryption for RSA, and RFC 5652 §10.1.2 allows it.
func checkSignatureAlgorithm(a algorithm, h crypto.Hash, pub crypto.PublicKey) error {
	if err := checkKey(pub); err != nil {
		return err
	}
	_, isEC := pub.(*ecdsa.PublicKey)
	for _, d := range digests {
		switch {
		case a.oid.Equal(d.ecdsa):
			if !isEC {
				return fail(ErrUnsupportedAlgorithm, "%v with a non-ECDSA key", a.oid)
			}
			if a.params != nil { // RFC 5758 §3.2: parameters absent
				return malformed("parameters on %v", a.oid)
			}
			if d.hash != h {
				return fail(ErrUnsupportedAlgorithm, "signature algorithm %v with digest %v", a.oid, h)
			}
			return nil
		case a.oid.Equal(d.rsa):
			if isEC {
				return fail(ErrUnsupportedAlgorithm, "%v with a non-RSA key", a.oid)
			}
			if !a.nullOrAbsent() {
				return malformed("parameters on %v", a.oid)
			}
			if d.hash != h {
				return fail(ErrUnsupportedAlgorithm, "signature algorithm %v with digest %v", a.oid, h)
			}
			return nil
		}
	}
	switch {
	case a.oid.Equal(oidECPublicKey) && isEC:
		return nil // parameters, if any, name the curve, which the certificate fixes
	case a.oid.Equal(oidRSAEncryption) && !isEC:
		if !a.nullOrAbsent() {
			return malformed("parameters on rsaEncryption")
		}
		return nil
	}
	return fail(ErrUnsupportedAlgorithm, "signature algorithm %v for a %T", a.oid, pub)
}

// verifySignature checks sig over digest (already hashed with h).
func verifySignature(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, digest, sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
	}
	return false
}

// addSignatureAlgorithm writes the signatureAlgorithm we use for a key and
// hash: ecdsa-with-SHA* without parameters, sha*WithRSAEncryption with NULL.
func addSignatureAlgorithm(b *cryptobyte.Builder, pub crypto.PublicKey, h crypto.Hash) {
	for _, d := range digests {
		if d.hash != h {
			continue
		}
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if _, ok := pub.(*rsa.PublicKey); ok {
				b.AddASN1ObjectIdentifier(d.rsa)
				b.AddASN1NULL()
				return
			}
			b.AddASN1ObjectIdentifier(d.ecdsa)
		})
	}
}
