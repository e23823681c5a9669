package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"civitas/internal/kernel"
)

// SignOptions say who signs and how.
type SignOptions struct {
	Certificate *x509.Certificate     // the signer's certificate
	Chain       []*x509.Certificate   // issuing CAs, included with the signer's certificate (in DER SET OF order)
	Hash        crypto.Hash           // SHA256 (the default), SHA384 or SHA512
	ContentType asn1.ObjectIdentifier // nil means id-data (1.2.840.113549.1.7.1)
	// SigningTime is the claimed time of signing. Zero leaves the attribute
	// out, as PAdES requires (the time goes in the PDF's /M); a CAdES .p7s
	// includes it.
	SigningTime time.Time
}

// Pending is a signature waiting for its signature value: the signed
// attributes are fixed, the key has not signed them yet.
//
// Prepare is deterministic: the same digest and options give the same
// bytes. A service that waits for a holder's approval may therefore keep
// the inputs instead of the Pending and call Prepare again.
type Pending struct {
	hash        crypto.Hash
	cert        *x509.Certificate
	certs       [][]byte // DER of the signer's certificate and the chain, without repeats
	contentType asn1.ObjectIdentifier
	attrs       []byte // the signed attributes as a DER SET
	digest      []byte // hash of attrs
}

// Prepare builds the signed attributes of a detached signature over content
// whose digest (with o.Hash) is contentDigest: content-type,
// message-digest, ESS signing-certificate-v2 and, if o.SigningTime is set,
// signing-time.
func Prepare(contentDigest []byte, o SignOptions) (*Pending, error) {
	if o.Certificate == nil {
		return nil, kernel.Wrap(errors.New("no signer certificate"), "cms: prepare")
	}
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if _, ok := oidOfHash(o.Hash); !ok {
		return nil, fail(ErrUnsupportedAlgorithm, "hash %v", o.Hash)
	}
	if len(contentDigest) != o.Hash.Size() {
		return nil, fail(ErrBadDigest, "%d bytes for %v", len(contentDigest), o.Hash)
	}
	if err := checkKey(o.Certificate.PublicKey); err != nil {
		return nil, err
	}
	if o.ContentType == nil {
		o.ContentType = oidData
	}
	p := &Pending{hash: o.Hash, cert: o.Certificate, contentType: slices.Clone(o.ContentType)}
	p.certs = append(p.certs, o.Certificate.Raw)
	for _, c := range o.Chain {
		if c == nil {
			return nil, kernel.Wrap(errors.New("a nil certificate in the chain"), "cms: prepare")
		}
		if !slices.ContainsFunc(p.certs, func(r []byte) bool { return bytes.Equal(r, c.Raw) }) {
			p.certs = append(p.certs, c.Raw)
		}
	}

	parts := make([][]byte, 0, 4)
	add := func(oid asn1.ObjectIdentifier, value cryptobyte.BuilderContinuation) error {
		der, err := encodeAttribute(oid, value)
		parts = append(parts, der)
		return err
	}
	errs := []error{
		add(oidContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(p.contentType) }),
		add(oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(contentDigest) }),
		add(oidSigningCertV2, func(b *cryptobyte.Builder) { addSigningCertificateV2(b, o.Certificate) }),
	}
	if !o.SigningTime.IsZero() {
		errs = append(errs, add(oidSigningTime, func(b *cryptobyte.Builder) { addTime(b, o.SigningTime) }))
	}
	if err := errors.Join(errs...); err != nil {
		// The only input that can fail to encode is the content type.
		return nil, kernel.Wrap(err, "cms: prepare: encode the signed attributes (content type %v)", o.ContentType)
	}
	attrs, err := encodeSet(cbasn1.SET, parts)
	if err != nil {
		return nil, kernel.Wrap(err, "cms: prepare")
	}
	p.attrs = attrs
	p.digest = digestOf(p.hash, attrs)
	return p, nil
}

// ToBeSigned returns the DER SET OF signed attributes (first byte 0x31):
// what the key signs, hashed with the hash of the options.
func (p *Pending) ToBeSigned() []byte { return slices.Clone(p.attrs) }

// Digest returns the hash of ToBeSigned: what a signer that takes a hash
// (a crypto.Signer, a remote signHash service) signs.
func (p *Pending) Digest() []byte { return slices.Clone(p.digest) }

// Hash returns the hash of the signature.
func (p *Pending) Hash() crypto.Hash { return p.hash }

// Finish completes the signature with the signature value over Digest: an
// ECDSA signature (ASN.1 DER, or the raw r||s that PKCS #11 tokens and some
// remote signers return) or an RSA PKCS #1 v1.5 signature. It checks the
// value with the certificate's public key first, so that a wrong key or a
// corrupted answer never leaves as a signature, and returns the DER
// ContentInfo with the SignedData, content absent.
func (p *Pending) Finish(signature []byte) ([]byte, error) {
	pub := p.cert.PublicKey
	if !verifySignature(pub, p.hash, p.digest, signature) {
		der, ok := rawECDSAToASN1(pub, signature)
		if !ok || !verifySignature(pub, p.hash, p.digest, der) {
			return nil, fail(ErrBadSignature, "the signature value does not verify with the certificate's key")
		}
		signature = der
	}
	out, err := p.encode(signature)
	if err != nil {
		return nil, kernel.Wrap(err, "cms: finish")
	}
	return out, nil
}

// SignWithKey signs the digest with key, an ECDSA key held in this process,
// and completes the signature as Finish does, but without verifying the
// value: the key is checked to be the certificate's, and a signature made
// here by crypto/ecdsa is right by construction (a verification costs two
// signatures' time, a third of sealing a small PDF). Keys behind a token or
// a remote service go through Finish, whose check stays.
func (p *Pending) SignWithKey(key *ecdsa.PrivateKey) ([]byte, error) {
	if !key.PublicKey.Equal(p.cert.PublicKey) {
		return nil, fail(ErrBadSignature, "the key is not the certificate's")
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, p.digest)
	if err != nil {
		return nil, kernel.Wrap(err, "cms: sign")
	}
	out, err := p.encode(sig)
	if err != nil {
		return nil, kernel.Wrap(err, "cms: finish")
	}
	return out, nil
}

// rawECDSAToASN1 converts an r||s signature, each half the size of the
// curve's order, to the ASN.1 form CMS carries.
func rawECDSAToASN1(pub crypto.PublicKey, sig []byte) ([]byte, bool) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, false
	}
	n := (k.Curve.Params().N.BitLen() + 7) / 8
	if len(sig) != 2*n {
		return nil, false
	}
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(sig[:n]))
		b.AddASN1BigInt(new(big.Int).SetBytes(sig[n:]))
	})
	der, err := b.Bytes()
	return der, err == nil
}

// encode writes the ContentInfo around the SignedData.
func (p *Pending) encode(signature []byte) ([]byte, error) {
	hashOID, _ := oidOfHash(p.hash)
	certs, err := encodeSet(tagExplicit0, p.certs)
	if err != nil {
		return nil, err
	}
	// RFC 5652 §5.1: version 1 for id-data content, issuerAndSerialNumber
	// and X.509 certificates only; 3 when the content type is another.
	version := int64(1)
	if !p.contentType.Equal(oidData) {
		version = 3
	}
	size := 256 + len(certs) + len(p.attrs) + len(signature) + len(p.cert.RawIssuer)
	b := cryptobyte.NewBuilder(make([]byte, 0, size))
	digestAlg := func(b *cryptobyte.Builder) {
		// Parameters absent for SHA-2, as RFC 5754 §2 says.
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(hashOID) })
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(version)
				b.AddASN1(cbasn1.SET, digestAlg)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo, no eContent
					b.AddASN1ObjectIdentifier(p.contentType)
				})
				b.AddBytes(certs)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1) // sid is issuerAndSerialNumber
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(p.cert.RawIssuer)
							b.AddASN1BigInt(p.cert.SerialNumber)
						})
						digestAlg(b)
						// signedAttrs [0] IMPLICIT: the same bytes as the SET
						// that was signed, under another tag (RFC 5652 §5.4).
						b.AddUint8(uint8(tagExplicit0))
						b.AddBytes(p.attrs[1:])
						addSignatureAlgorithm(b, p.cert.PublicKey, p.hash)
						b.AddASN1OctetString(signature)
					})
				})
			})
		})
	})
	return b.Bytes()
}

// Sign makes a detached signature in one step: Prepare, signer.Sign over
// Digest, Finish. The signer's key must be the certificate's.
func Sign(contentDigest []byte, signer crypto.Signer, o SignOptions) ([]byte, error) {
	p, err := Prepare(contentDigest, o)
	if err != nil {
		return nil, err
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(o.Certificate.PublicKey) {
		return nil, kernel.Wrap(errors.New("the signer's key is not the certificate's"), "cms: sign")
	}
	sig, err := signer.Sign(rand.Reader, p.digest, p.hash)
	if err != nil {
		// A key backend's own coded error (a locked token, a refusal)
		// keeps its code, so the caller can tell the user what happened.
		return nil, kernel.Wrap(err, "cms: sign")
	}
	return p.Finish(sig)
}
