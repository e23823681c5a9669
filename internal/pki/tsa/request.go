package tsa

import (
	"encoding/asn1"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// PKIFailureInfo bits (RFC 3161 §2.4.2) this TSA sends.
const (
	badAlg              = 0
	badRequest          = 2
	badDataFormat       = 5
	unacceptedPolicy    = 15
	unacceptedExtension = 16
	systemFailure       = 25
)

// refusal is why a query gets no token: a PKIFailureInfo bit and a short
// English statusString for the client's logs.
type refusal struct {
	bit  int
	text string
}

// tooLarge refuses a query over maxRequest bytes.
var tooLarge = refusal{badRequest, fmt.Sprintf("malformed request: larger than %d bytes", maxRequest)}

// query is what a token needs from a TimeStampReq. The slices point into
// the request and are copied into the response as they are.
type query struct {
	imprint []byte // the MessageImprint element, copied into TSTInfo
	nonce   []byte // the nonce INTEGER element, or nil
	certReq bool
}

// hashSizes are the imprint hashes we stamp. SHA-1 is not among them: its
// collisions let one token cover two documents.
var hashSizes = []struct {
	oid  asn1.ObjectIdentifier
	size int
}{{oidSHA256, 32}, {oidSHA384, 48}, {oidSHA512, 64}}

// parse reads a DER TimeStampReq (RFC 3161 §2.4.1). Anything that is not
// exactly one well-formed request is refused, because a token must attest
// to one unambiguous imprint.
func (a *Authority) parse(der []byte) (query, *refusal) {
	malformed := func(what string) (query, *refusal) {
		return query{}, &refusal{badRequest, "malformed request: " + what}
	}
	if len(der) > maxRequest {
		return query{}, &tooLarge
	}
	in := cryptobyte.String(der)
	var req cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) {
		return malformed("not a DER TimeStampReq")
	}
	if !in.Empty() {
		return malformed("bytes after the TimeStampReq")
	}
	var version int64
	if !req.ReadASN1Integer(&version) {
		return malformed("version")
	}
	if version != 1 {
		return malformed("version is not 1")
	}

	var q query
	var imprint, alg, hashed cryptobyte.String
	var hashOID asn1.ObjectIdentifier
	if !req.ReadASN1Element(&imprint, cbasn1.SEQUENCE) {
		return malformed("messageImprint")
	}
	q.imprint = imprint
	if !imprint.ReadASN1(&imprint, cbasn1.SEQUENCE) ||
		!imprint.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&hashOID) ||
		!imprint.ReadASN1(&hashed, cbasn1.OCTET_STRING) ||
		!imprint.Empty() {
		return malformed("messageImprint")
	}
	// Parameters of a SHA-2 AlgorithmIdentifier are absent or NULL (RFC 5754 §2).
	var null cryptobyte.String
	goodParams := alg.Empty() || (alg.ReadASN1(&null, cbasn1.NULL) && null.Empty() && alg.Empty())

	var policy asn1.ObjectIdentifier
	hasPolicy := req.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER)
	if hasPolicy && !req.ReadASN1ObjectIdentifier(&policy) {
		return malformed("reqPolicy")
	}
	if req.PeekASN1Tag(cbasn1.INTEGER) {
		var nonce cryptobyte.String
		if !req.ReadASN1Element(&nonce, cbasn1.INTEGER) {
			return malformed("nonce")
		}
		q.nonce = nonce
		if !nonce.ReadASN1Integer(new(big.Int)) { // checks the minimal encoding DER wants
			return malformed("nonce")
		}
	}
	// DER leaves out a BOOLEAN at its default, but some clients (Go's
	// encoding/asn1 among them) write certReq FALSE anyway; refusing them
	// would gain nothing, as both spellings mean the same.
	if req.PeekASN1Tag(cbasn1.BOOLEAN) && !req.ReadASN1Boolean(&q.certReq) {
		return malformed("certReq")
	}
	hasExtensions := req.PeekASN1Tag(tagExplicit0)
	if hasExtensions && !req.SkipASN1(tagExplicit0) {
		return malformed("extensions")
	}
	if !req.Empty() {
		return malformed("unexpected fields")
	}

	size := 0
	for _, h := range hashSizes {
		if h.oid.Equal(hashOID) {
			size = h.size
		}
	}
	switch {
	case size == 0 || !goodParams:
		return query{}, &refusal{badAlg, "hash algorithm not accepted: use SHA-256, SHA-384 or SHA-512"}
	case len(hashed) != size:
		return query{}, &refusal{badDataFormat, "the imprint's length does not match its hash algorithm"}
	case hasPolicy && !policy.Equal(a.policy):
		return query{}, &refusal{unacceptedPolicy, "policy not offered by this TSA: " + a.policy.String()}
	case hasExtensions:
		return query{}, &refusal{unacceptedExtension, "this TSA accepts no request extensions"}
	}
	return q, nil
}
