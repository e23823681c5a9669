package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"civitas/internal/kernel"
)

// Timestamp is a verified RFC 3161 time-stamp token.
type Timestamp struct {
	Time     time.Time     // genTime
	Accuracy time.Duration // zero when the token does not say
	TSA      *x509.Certificate
	Policy   asn1.ObjectIdentifier
	Hash     crypto.Hash // of the message imprint
	Serial   *big.Int
	// Certificates are those in the token; Chains, from the TSA's
	// certificate to a root, are filled in only by Verify, which knows the
	// roots.
	Certificates []*x509.Certificate
	Chains       [][]*x509.Certificate
}

// maxAccuracySeconds bounds the accuracy a token may claim, well beyond any
// real one, so that the Duration cannot overflow.
const maxAccuracySeconds = 1 << 20

// ParseTimestampToken verifies an RFC 3161 time-stamp token (a CMS
// SignedData over a TSTInfo) against the digest it should stamp: the
// message imprint equals digest (made with the imprint's hash, which
// TimestampHash tells: SHA-256, -384 or -512), the messageDigest and content-type
// attributes match the TSTInfo, the ESS signing-certificate(-v2) attribute
// names the TSA's certificate, and the TSA's signature verifies. The TSA's
// certificate is looked for in the token and then in certs. It does not
// check the TSA's chain: that needs roots, which Verify has.
func ParseTimestampToken(token, digest []byte, certs ...*x509.Certificate) (*Timestamp, error) {
	ts, imprint, err := parseToken(token, certs)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(imprint, digest) {
		return nil, fail(ErrImprintMismatch, "the token stamps another digest")
	}
	return ts, nil
}

// TimestampHash returns the hash of a token's message imprint, without
// checking anything else, so that a caller can hash the stamped data (a PDF
// document time-stamp's byte range) with it before ParseTimestampToken.
func TimestampHash(token []byte) (crypto.Hash, error) {
	sd, err := parseSignedData(token)
	if err != nil {
		return 0, err
	}
	if !sd.eContentType.Equal(oidTSTInfo) || !sd.hasEContent {
		return 0, malformed("not a time-stamp token")
	}
	var ts Timestamp
	if _, err := parseTSTInfo(sd.eContent, &ts); err != nil {
		return 0, err
	}
	return ts.Hash, nil
}

// parseToken verifies everything in a token but the imprint and the
// chain, and returns the token and its imprint.
func parseToken(token []byte, extra []*x509.Certificate) (*Timestamp, []byte, error) {
	sd, err := parseSignedData(token)
	if err != nil {
		return nil, nil, err
	}
	if !sd.eContentType.Equal(oidTSTInfo) || !sd.hasEContent {
		return nil, nil, malformed("not a time-stamp token")
	}
	if len(sd.signers) != 1 {
		return nil, nil, fail(ErrSignerCount, "%d signers on the token", len(sd.signers))
	}
	si := &sd.signers[0]
	cert := si.signerCert(sd.certs)
	if cert == nil {
		cert = si.signerCert(extra)
	}
	if cert == nil {
		return nil, nil, fail(ErrSignerNotFound, "the TSA's certificate is neither in the token nor given")
	}
	h, err := checkSigner(sd, si, cert)
	if err != nil {
		return nil, nil, err
	}
	// RFC 3161 §2.4.2 and RFC 5816: a token names the TSA's certificate,
	// so that another certificate for the same key cannot stand in for it.
	if find(si.signed, oidSigningCert) == nil && find(si.signed, oidSigningCertV2) == nil {
		return nil, nil, fail(ErrMissingAttribute, "no signing-certificate attribute on the token")
	}
	var md []byte
	v, err := signedValue(si, oidMessageDigest)
	if err == nil && (!v.ReadASN1Bytes(&md, cbasn1.OCTET_STRING) || !v.Empty()) {
		err = malformed("message-digest attribute of the token")
	}
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(md, digestOf(h, sd.eContent)) {
		return nil, nil, fail(ErrDigestMismatch, "the TSTInfo changed after the TSA signed it")
	}
	if err := verifySignerInfo(si, cert, h); err != nil {
		return nil, nil, err
	}
	ts := &Timestamp{TSA: cert, Certificates: sd.certs}
	imprint, err := parseTSTInfo(sd.eContent, ts)
	if err != nil {
		return nil, nil, err
	}
	return ts, imprint, nil
}

// parseTSTInfo reads a DER TSTInfo (RFC 3161 §2.4.2) into ts and returns
// the hashed message of its imprint.
func parseTSTInfo(der []byte, ts *Timestamp) ([]byte, error) {
	in := cryptobyte.String(der)
	var s cryptobyte.String
	var version int64
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) || !in.Empty() || !s.ReadASN1Integer(&version) || version != 1 {
		return nil, malformed("TSTInfo, or its version")
	}
	if !s.ReadASN1ObjectIdentifier(&ts.Policy) {
		return nil, malformed("TSTInfo policy")
	}
	var mi cryptobyte.String
	var alg algorithm
	var hashed []byte
	if !s.ReadASN1(&mi, cbasn1.SEQUENCE) || !readAlgorithm(&mi, &alg) ||
		!mi.ReadASN1Bytes(&hashed, cbasn1.OCTET_STRING) || !mi.Empty() {
		return nil, malformed("TSTInfo messageImprint")
	}
	var err error
	if ts.Hash, err = digestHash(alg); err != nil {
		return nil, err
	}
	if len(hashed) != ts.Hash.Size() {
		return nil, malformed("a %d-byte imprint for %v", len(hashed), ts.Hash)
	}
	ts.Serial = new(big.Int)
	if !s.ReadASN1Integer(ts.Serial) {
		return nil, malformed("TSTInfo serialNumber")
	}
	var gt cryptobyte.String
	if !s.ReadASN1(&gt, cbasn1.GeneralizedTime) {
		return nil, malformed("TSTInfo genTime")
	}
	if ts.Time, err = parseGenTime(string(gt)); err != nil {
		return nil, err
	}
	if s.PeekASN1Tag(cbasn1.SEQUENCE) {
		if ts.Accuracy, err = readAccuracy(&s); err != nil {
			return nil, err
		}
	}
	// ordering only tells how tokens of one TSA compare; it is read to
	// be skipped. (cryptobyte's ReadOptionalASN1Boolean is for a BOOLEAN
	// inside an explicit tag, not this universal one.)
	if s.PeekASN1Tag(cbasn1.BOOLEAN) {
		var ordering bool
		if !s.ReadASN1Boolean(&ordering) {
			return nil, malformed("TSTInfo ordering")
		}
	}
	if s.PeekASN1Tag(cbasn1.INTEGER) {
		if !s.ReadASN1Integer(new(big.Int)) {
			return nil, malformed("TSTInfo nonce")
		}
	}
	// The TSA's name and extensions are not needed to judge the token;
	// they are skipped, but must be well formed and in their place.
	for _, tag := range []cbasn1.Tag{tagExplicit0, tagImplicit1} {
		var skip cryptobyte.String
		var present bool
		if !s.ReadOptionalASN1(&skip, &present, tag) {
			return nil, malformed("TSTInfo tsa or extensions")
		}
	}
	if !s.Empty() {
		return nil, malformed("data after the TSTInfo's fields")
	}
	return hashed, nil
}

// parseGenTime reads a genTime: GeneralizedTime in UTC with optional
// fractions of a second (RFC 3161 §2.4.2), which cryptobyte's reader
// refuses.
func parseGenTime(s string) (time.Time, error) {
	if !strings.HasSuffix(s, "Z") || strings.ContainsRune(s, ',') {
		return time.Time{}, malformed("genTime %q is not UTC", s)
	}
	t, err := time.Parse("20060102150405.999999999Z", s)
	if err != nil {
		return time.Time{}, malformed("genTime %q: %v", s, err)
	}
	return t, nil
}

// readAccuracy reads an Accuracy: seconds, [0] millis and [1] micros, each
// optional.
func readAccuracy(s *cryptobyte.String) (time.Duration, error) {
	var acc cryptobyte.String
	var sec, ms, us int64
	if !s.ReadASN1(&acc, cbasn1.SEQUENCE) {
		return 0, malformed("TSTInfo accuracy")
	}
	ok := true
	if acc.PeekASN1Tag(cbasn1.INTEGER) {
		ok = acc.ReadASN1Integer(&sec) && sec >= 0 && sec <= maxAccuracySeconds
	}
	if ok && acc.PeekASN1Tag(tagMillis) {
		ok = acc.ReadASN1Int64WithTag(&ms, tagMillis) && ms >= 1 && ms <= 999
	}
	if ok && acc.PeekASN1Tag(tagMicros) {
		ok = acc.ReadASN1Int64WithTag(&us, tagMicros) && us >= 1 && us <= 999
	}
	if !ok || !acc.Empty() {
		return 0, malformed("TSTInfo accuracy")
	}
	return time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond + time.Duration(us)*time.Microsecond, nil
}

// signatureTimestamp verifies the signature time-stamps in the unsigned
// attributes, if any: each must stamp the signature value and chain to the
// TSA roots at its own time. It returns the earliest, the one that proves
// the signature existed soonest.
func signatureTimestamp(sd *signedData, si *signerInfo, o VerifyOptions) (*Timestamp, error) {
	var tokens []cryptobyte.String
	for _, a := range si.unsigned {
		if a.oid.Equal(oidSignatureTimeStamp) {
			tokens = append(tokens, a.values...)
		}
	}
	if len(tokens) > maxTimestamps {
		return nil, fail(ErrTooLarge, "%d signature time-stamps, at most %d", len(tokens), maxTimestamps)
	}
	roots := o.TSARoots
	if roots == nil {
		roots = o.Roots
	}
	var first *Timestamp
	for _, tok := range tokens {
		ts, imprint, err := parseToken(tok, sd.certs)
		if err != nil {
			return nil, fail(ErrTimestamp, "%s", causeText(err))
		}
		if !bytes.Equal(imprint, digestOf(ts.Hash, si.signature)) {
			return nil, fail(ErrTimestamp, "the token stamps other data than the signature value")
		}
		usage := []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
		if ts.Chains, err = verifyChain(ts.TSA, slices.Concat(ts.Certificates, sd.certs), roots, o.Intermediates, ts.Time, usage); err != nil {
			return nil, fail(ErrTimestamp, "the TSA's certificate: %s", causeText(err))
		}
		if first == nil || ts.Time.Before(first.Time) {
			first = ts
		}
	}
	return first, nil
}

// SignatureValue returns the signature value of the one SignerInfo: the
// data a signature time-stamp (CAdES-T, PAdES-B-T) stamps, hashed.
func SignatureValue(cms []byte) ([]byte, error) {
	sd, err := parseSignedData(cms)
	if err != nil {
		return nil, err
	}
	if len(sd.signers) != 1 {
		return nil, fail(ErrSignerCount, "%d signers", len(sd.signers))
	}
	return slices.Clone(sd.signers[0].signature), nil
}

// AddTimestamp adds token as an id-aa-signatureTimeStampToken unsigned
// attribute to the one SignerInfo of cms. The token must stamp the
// signature value and carry a valid TSA signature (its chain is left to
// Verify). The signed parts are copied byte for byte, so the signature
// stays valid.
func AddTimestamp(cms []byte, token []byte) ([]byte, error) {
	sd, err := parseSignedData(cms)
	if err != nil {
		return nil, err
	}
	if len(sd.signers) != 1 {
		return nil, fail(ErrSignerCount, "%d signers", len(sd.signers))
	}
	si := &sd.signers[0]
	ts, imprint, err := parseToken(token, sd.certs)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(imprint, digestOf(ts.Hash, si.signature)) {
		return nil, fail(ErrImprintMismatch, "the token stamps other data than the signature value")
	}
	// parseToken has read the token as exactly one DER element.
	return addUnsigned(sd, si, oidSignatureTimeStamp, token)
}

// addUnsigned writes the SignedData again with one more unsigned attribute
// on si, copying every other part as it was read.
func addUnsigned(sd *signedData, si *signerInfo, oid asn1.ObjectIdentifier, value []byte) ([]byte, error) {
	attr, err := encodeAttribute(oid, func(b *cryptobyte.Builder) { b.AddBytes(value) })
	if err != nil {
		return nil, kernel.Wrap(err, "cms: add an unsigned attribute")
	}
	list := [][]byte{attr}
	for _, a := range si.unsigned {
		list = append(list, a.raw)
	}
	unsigned, err := encodeSet(tagImplicit1, list)
	if err != nil {
		return nil, kernel.Wrap(err, "cms: add an unsigned attribute")
	}
	size := len(sd.digestAlgs) + len(sd.encap) + len(sd.certsRaw) + len(sd.crlsRaw) + len(si.sid) +
		len(si.digestAlg.raw) + len(si.signedRaw) + len(si.sigAlg.raw) + len(si.signature) + len(unsigned) + 64
	b := cryptobyte.NewBuilder(make([]byte, 0, size))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(tagExplicit0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(sd.version)
				b.AddBytes(sd.digestAlgs)
				b.AddBytes(sd.encap)
				b.AddBytes(sd.certsRaw)
				b.AddBytes(sd.crlsRaw)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(si.version)
						b.AddBytes(si.sid)
						b.AddBytes(si.digestAlg.raw)
						b.AddBytes(si.signedRaw)
						b.AddBytes(si.sigAlg.raw)
						b.AddASN1OctetString(si.signature)
						b.AddBytes(unsigned)
					})
				})
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, kernel.Wrap(err, "cms: add an unsigned attribute")
	}
	// What we write, Verify must be able to read.
	if len(out) > MaxSize {
		return nil, fail(ErrTooLarge, "%d bytes with the new attribute, at most %d", len(out), MaxSize)
	}
	return out, nil
}
