package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math"
	"math/big"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"civitas/internal/kernel"
)

// Options configure an Authority. Clock and Serial are called from
// concurrent requests, so they must be safe for concurrent use, and Serial
// must never repeat a number.
type Options struct {
	Signer      crypto.Signer            // the TSA key: ECDSA (normally P-256) or RSA
	Certificate *x509.Certificate        // the TSA certificate, with the critical timeStamping EKU
	Chain       []*x509.Certificate      // the issuing CA(s) above it, issuer first; sent when the client asks for certificates
	Policy      asn1.ObjectIdentifier    // the TSA policy, written in every token; required
	Accuracy    time.Duration            // how far genTime may be from UTC; 0 leaves accuracy out of the tokens
	Clock       func() time.Time         // nil means time.Now
	Serial      func() (*big.Int, error) // nil means random positive 128-bit serial numbers
}

// Authority answers time-stamp queries. It is safe for concurrent use.
type Authority struct {
	signer    crypto.Signer
	clock     func() time.Time
	serial    func() (*big.Int, error)
	policy    asn1.ObjectIdentifier
	notBefore time.Time
	notAfter  time.Time

	// DER computed once in New, so that a response costs one signature, two
	// SHA-256 hashes and a few small encodings.
	tstHead  []byte // TSTInfo version and policy
	accuracy []byte // TSTInfo accuracy, empty when Options.Accuracy is 0
	tsaName  []byte // TSTInfo tsa: [0] directoryName of the TSA certificate's subject
	sdHead   []byte // SignedData version and digestAlgorithms
	certs    []byte // SignedData certificates [0]: the TSA certificate and Chain
	siHead   []byte // SignerInfo version, sid and digestAlgorithm
	attrs    []byte // the signed attributes as a SET, with a zero messageDigest value
	digestAt int    // offset of the messageDigest value in attrs
	sigAlg   []byte // SignerInfo signatureAlgorithm

	// last is the genTime of the latest token, in microseconds since the
	// epoch: tokens must never go back in time, even if the clock does.
	last atomic.Int64
}

// maxRequest bounds a query: a real one is under 200 bytes, and a limit
// keeps a flood of large bodies cheap to refuse.
const maxRequest = 4 << 10

var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCertV2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidExtKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 37}
	tagExplicit0         = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagDirectoryName     = cbasn1.Tag(4).ContextSpecific().Constructed()
	tagMillis, tagMicros = cbasn1.Tag(0).ContextSpecific(), cbasn1.Tag(1).ContextSpecific()
)

// New checks the options and prepares everything a response needs that does
// not depend on the query.
func New(o Options) (*Authority, error) {
	if err := check(o); err != nil {
		return nil, err
	}
	a := &Authority{
		signer:    o.Signer,
		clock:     o.Clock,
		serial:    o.Serial,
		policy:    slices.Clone(o.Policy),
		notBefore: o.Certificate.NotBefore,
		notAfter:  o.Certificate.NotAfter,
	}
	a.last.Store(math.MinInt64) // no token yet: any clock reading is later
	if a.clock == nil {
		a.clock = time.Now
	}
	if a.serial == nil {
		a.serial = randomSerial
	}
	cert := o.Certificate
	var err error
	build := func(f cryptobyte.BuilderContinuation) []byte {
		if err != nil {
			return nil
		}
		var b cryptobyte.Builder
		f(&b)
		var out []byte
		out, err = b.Bytes()
		return out
	}
	sha256ID := build(func(b *cryptobyte.Builder) {
		// Parameters absent for SHA-2, as RFC 5754 §2 says.
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSHA256) })
	})

	a.tstHead = build(func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(o.Policy)
	})
	a.accuracy = build(func(b *cryptobyte.Builder) { addAccuracy(b, o.Accuracy) })
	a.tsaName = build(func(b *cryptobyte.Builder) {
		// GeneralName is a CHOICE, so both tags are explicit.
		b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
			b.AddASN1(tagDirectoryName, func(b *cryptobyte.Builder) { b.AddBytes(cert.RawSubject) })
		})
	})

	a.sdHead = build(func(b *cryptobyte.Builder) {
		b.AddASN1Int64(3) // eContentType is not id-data (RFC 5652 §5.1)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(sha256ID) })
	})
	// A DER SET OF is sorted by encoding; the order costs nothing here.
	raws := [][]byte{cert.Raw}
	for _, c := range o.Chain {
		raws = append(raws, c.Raw)
	}
	slices.SortFunc(raws, bytes.Compare)
	a.certs = build(func(b *cryptobyte.Builder) {
		b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
			for _, r := range raws {
				b.AddBytes(r)
			}
		})
	})

	a.siHead = build(func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // sid is issuerAndSerialNumber
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(cert.RawIssuer)
			b.AddASN1BigInt(cert.SerialNumber)
		})
		b.AddBytes(sha256ID)
	})
	if err == nil {
		a.attrs, a.digestAt, err = signedAttributes(cert)
	}
	a.sigAlg = build(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if _, ok := o.Signer.Public().(*rsa.PublicKey); ok {
				b.AddASN1ObjectIdentifier(oidSHA256WithRSA)
				b.AddASN1NULL() // RFC 4055 §5: NULL for the PKCS #1 v1.5 algorithms
				return
			}
			b.AddASN1ObjectIdentifier(oidECDSAWithSHA256) // parameters absent (RFC 5758 §3.2)
		})
	})
	if err != nil {
		return nil, kernel.Wrap(err, "tsa: encode the fixed parts of a token")
	}
	return a, nil
}

// signedAttributes encodes the signed attributes: contentType,
// messageDigest and signingCertificateV2. A DER SET OF is sorted by
// encoding, and the order does not depend on the digest (the attributes
// differ before it), so it is sorted once here with a zero digest that
// Respond overwrites at the returned offset.
func signedAttributes(cert *x509.Certificate) ([]byte, int, error) {
	attr := func(oid asn1.ObjectIdentifier, value cryptobyte.BuilderContinuation) *cryptobyte.Builder {
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b
	}
	certHash := sha256.Sum256(cert.Raw)
	parts := []*cryptobyte.Builder{
		attr(oidContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidTSTInfo) }),
		attr(oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(make([]byte, sha256.Size)) }),
		attr(oidSigningCertV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2; hashAlgorithm left at its default, SHA-256
						b.AddASN1OctetString(certHash[:])
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
								b.AddASN1(tagDirectoryName, func(b *cryptobyte.Builder) { b.AddBytes(cert.RawIssuer) })
							})
							b.AddASN1BigInt(cert.SerialNumber)
						})
					})
				})
			})
		}),
	}
	list := make([][]byte, len(parts))
	for i, p := range parts {
		der, err := p.Bytes()
		if err != nil {
			return nil, 0, err
		}
		list[i] = der
	}
	digest := list[1]
	slices.SortFunc(list, bytes.Compare)
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range list {
			b.AddBytes(e)
		}
	})
	set, err := b.Bytes()
	if err != nil {
		return nil, 0, err
	}
	// The messageDigest attribute ends with its value; find where it lands.
	at := len(set)
	for i := len(list) - 1; &list[i][0] != &digest[0]; i-- {
		at -= len(list[i])
	}
	return set, at - sha256.Size, nil
}

// addAccuracy writes the Accuracy of RFC 3161 §2.4.2, rounded up to whole
// microseconds so the token never claims more than the TSA promises. Zero
// fields are left out: millis and micros must be 1 to 999.
func addAccuracy(b *cryptobyte.Builder, d time.Duration) {
	if d <= 0 {
		return
	}
	us := int64((d + time.Microsecond - 1) / time.Microsecond)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if s := us / 1e6; s > 0 {
			b.AddASN1Int64(s)
		}
		if ms := us / 1e3 % 1e3; ms > 0 {
			b.AddASN1Int64WithTag(ms, tagMillis)
		}
		if µs := us % 1e3; µs > 0 {
			b.AddASN1Int64WithTag(µs, tagMicros)
		}
	})
}

// check refuses options that would make tokens no verifier accepts, so a
// misconfigured TSA fails at start-up rather than on its first query.
func check(o Options) error {
	bad := func(msg string) error { return kernel.Wrap(errors.New(msg), "tsa: options") }
	switch {
	case o.Signer == nil:
		return bad("no signer")
	case o.Certificate == nil:
		return bad("no certificate")
	case len(o.Policy) == 0:
		return bad("no policy")
	case o.Accuracy < 0:
		return bad("negative accuracy")
	}
	if _, err := asn1.Marshal(o.Policy); err != nil {
		return bad("the policy is not an object identifier")
	}
	switch o.Signer.Public().(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return bad("the key must be ECDSA or RSA")
	}
	pub, ok := o.Signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(o.Certificate.PublicKey) {
		return bad("the signer's key is not the certificate's")
	}
	// RFC 3161 §2.3: the certificate has one extended key usage,
	// timeStamping, and the extension is critical.
	if len(o.Certificate.ExtKeyUsage) != 1 || o.Certificate.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(o.Certificate.UnknownExtKeyUsage) != 0 {
		return bad("the certificate's extended key usage must be timeStamping alone")
	}
	for _, e := range o.Certificate.Extensions {
		if e.Id.Equal(oidExtKeyUsage) && !e.Critical {
			return bad("the certificate's extended key usage must be critical")
		}
	}
	child := o.Certificate
	for _, c := range o.Chain {
		if c == nil {
			return bad("a nil certificate in the chain")
		}
		if err := child.CheckSignatureFrom(c); err != nil {
			return kernel.Wrap(err, "tsa: options: the chain does not go up from the certificate")
		}
		child = c
	}
	return nil
}

// randomSerial gives a random positive 128-bit serial number: unique
// without any shared state, and it tells nothing about how busy the TSA is.
func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}
