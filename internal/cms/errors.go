package cms

import (
	"fmt"

	"civitas/internal/kernel"
)

// reason is one way a signature can fail. Each reason has its own message
// key, so a validation report can say which check failed and a user can read
// why in their language.
type reason struct {
	key  string // i18n catalogue key
	text string // English, for logs
}

func (r *reason) Error() string { return r.text }

func newReason(name, text string) error {
	return &reason{key: "cms.error." + name, text: "cms: " + text}
}

// The reasons, matchable with errors.Is on any error this package returns.
// Every error is a *kernel.Error with code Invalid and the reason's key,
// whose cause wraps the reason and says more for the logs.
var (
	// ErrMalformed: not one well-formed DER ContentInfo with a SignedData
	// (or, for a time-stamp token, a TSTInfo), or bytes after it.
	ErrMalformed = newReason("malformed", "malformed CMS signature")
	// ErrTooLarge: the input is over the size or count limits.
	ErrTooLarge = newReason("too_large", "the signature is too large")
	// ErrUnsupportedAlgorithm: a digest, signature or key algorithm we do
	// not accept (for example SHA-1, RSA-PSS, Ed25519, RSA under 2048 bits).
	ErrUnsupportedAlgorithm = newReason("unsupported_algorithm", "unsupported algorithm")
	// ErrBadDigest: the content digest given to Prepare or Sign does not
	// have the length of the chosen hash.
	ErrBadDigest = newReason("bad_digest", "the content digest does not fit the hash")
	// ErrNotDetached: the signature carries its content; PAdES and our
	// callers expect a detached signature.
	ErrNotDetached = newReason("not_detached", "the signature is not detached")
	// ErrSignerCount: not exactly one SignerInfo (PAdES allows one).
	ErrSignerCount = newReason("signer_count", "the signature does not have exactly one signer")
	// ErrSignerNotFound: the signer's certificate is not in the signature.
	ErrSignerNotFound = newReason("signer_not_found", "the signer's certificate is not in the signature")
	// ErrMissingAttribute: a required signed attribute is absent, or an
	// attribute appears twice.
	ErrMissingAttribute = newReason("missing_attribute", "a required signed attribute is missing or repeated")
	// ErrContentTypeMismatch: the content-type attribute is not the
	// encapsulated content type.
	ErrContentTypeMismatch = newReason("content_type_mismatch", "the content-type attribute does not match")
	// ErrDigestMismatch: the message-digest attribute is not the digest of
	// the content: the content changed after signing.
	ErrDigestMismatch = newReason("digest_mismatch", "the content does not match the signature")
	// ErrSigningCertificateMismatch: the ESS signing-certificate(-v2)
	// attribute names another certificate than the one that signed.
	ErrSigningCertificateMismatch = newReason("signing_certificate_mismatch", "the signing-certificate attribute names another certificate")
	// ErrBadSignature: the signature value does not verify with the
	// signer's public key.
	ErrBadSignature = newReason("bad_signature", "the signature does not verify")
	// ErrUntrusted: the signer's certificate does not chain to the roots.
	ErrUntrusted = newReason("untrusted", "the signer's certificate is not trusted")
	// ErrExpired: a certificate of the chain was not valid at the time of
	// validation (expired or not yet valid).
	ErrExpired = newReason("certificate_expired", "a certificate was not valid at the validation time")
	// ErrKeyUsage: the certificate may not be used for this kind of
	// signature (key usage or extended key usage).
	ErrKeyUsage = newReason("key_usage", "the certificate's key usage does not allow this signature")
	// ErrTimestamp: the signature time-stamp is present but does not
	// verify; the cause says why.
	ErrTimestamp = newReason("timestamp", "the signature time-stamp is not valid")
	// ErrImprintMismatch: a time-stamp token stamps another digest than
	// the one it should.
	ErrImprintMismatch = newReason("imprint_mismatch", "the time-stamp is for other data")
)

// fail builds the error for reason r, with details for the logs.
func fail(r error, format string, args ...any) error {
	key := "cms.error.malformed"
	if rr, ok := r.(*reason); ok {
		key = rr.key
	}
	return kernel.E(kernel.Invalid, key).WithCause(fmt.Errorf("%w: %s", r, fmt.Sprintf(format, args...)))
}

// malformed is the most frequent failure: bad or unexpected DER.
func malformed(format string, args ...any) error { return fail(ErrMalformed, format, args...) }

// causeText is the log text of err without its code and key, to nest one
// failure inside another without making it match the inner reason.
func causeText(err error) string {
	if ke, ok := err.(*kernel.Error); ok && ke.Err != nil {
		return ke.Err.Error()
	}
	return err.Error()
}
