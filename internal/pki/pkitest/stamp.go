package pkitest

import (
	"encoding/asn1"
	"math/big"
	"testing"
)

// OIDSHA256 names SHA-256 in a message imprint.
var OIDSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}

// RFC 3161 time-stamp queries and responses, as a client writes and reads
// them: with encoding/asn1, independent of the TSA's own encoder.

// AlgorithmIdentifier is an algorithm and its optional parameters.
type AlgorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

// MessageImprint is the hash of what is stamped.
type MessageImprint struct {
	HashAlgorithm AlgorithmIdentifier
	HashedMessage []byte
}

// TimeStampReq is a query. CertReq is raw so that a test can write FALSE
// out, which DER leaves out.
type TimeStampReq struct {
	Version        int
	MessageImprint MessageImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        asn1.RawValue         `asn1:"optional"`
	Extensions     asn1.RawValue         `asn1:"optional"`
}

// True and False are the DER booleans, for TimeStampReq.CertReq.
var (
	True  = asn1.RawValue{FullBytes: []byte{0x01, 0x01, 0xff}}
	False = asn1.RawValue{FullBytes: []byte{0x01, 0x01, 0x00}}
)

// StampQuery is a valid query over a SHA-256 digest, with a nonce; certReq
// asks for the TSA's certificates in the token.
func StampQuery(digest []byte, certReq bool) TimeStampReq {
	q := TimeStampReq{
		Version:        1,
		MessageImprint: MessageImprint{HashAlgorithm: AlgorithmIdentifier{Algorithm: OIDSHA256}, HashedMessage: digest},
		Nonce:          big.NewInt(0x1234567890abcdef),
	}
	if certReq {
		q.CertReq = True
	}
	return q
}

// DER is the query's encoding.
func (q TimeStampReq) DER(t testing.TB) []byte {
	t.Helper()
	der, err := asn1.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// PKIStatusInfo is a response's status: 0 granted, 2 rejection.
type PKIStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

// TimeStampResp is a response: a status and, when granted, the token.
type TimeStampResp struct {
	Status PKIStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

// ParseStampResponse reads a response strictly: one DER value, nothing after.
func ParseStampResponse(t testing.TB, der []byte) TimeStampResp {
	t.Helper()
	var r TimeStampResp
	rest, err := asn1.Unmarshal(der, &r)
	if err != nil || len(rest) != 0 {
		t.Fatalf("the time-stamp response does not parse (%v, %d bytes left): %x", err, len(rest), der)
	}
	return r
}

// Stamp sends q to a TSA (its Respond method) and returns the token,
// failing the test unless the TSA grants it.
func Stamp(t testing.TB, respond func([]byte) []byte, q TimeStampReq) []byte {
	t.Helper()
	r := ParseStampResponse(t, respond(q.DER(t)))
	if r.Status.Status != 0 || len(r.Token.FullBytes) == 0 {
		t.Fatalf("no token: status %d %q", r.Status.Status, r.Status.StatusString)
	}
	return r.Token.FullBytes
}
