package pki

import (
	"context"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// Responder answers RFC 3161 time-stamp queries (internal/pki/tsa does).
type Responder interface {
	Respond(req []byte) []byte
}

// LocalStamper stamps digests with a time-stamping unit in this process,
// through the same protocol an outside client uses.
type LocalStamper struct{ TSA Responder }

var oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type messageImprint struct {
	HashAlgorithm algorithmIdentifier
	HashedMessage []byte
}

type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	Nonce          *big.Int `asn1:"optional"`
	CertReq        bool     `asn1:"optional,default:false"`
}

type pkiStatusInfo struct {
	Status       int
	StatusString asn1.RawValue  `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

// Stamp implements Stamper: it returns the DER time-stamp token (a CMS
// SignedData) over a SHA-256 digest.
func (l LocalStamper) Stamp(_ context.Context, digest []byte) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	req, err := asn1.Marshal(timeStampReq{Version: 1, Nonce: nonce, CertReq: true,
		MessageImprint: messageImprint{HashAlgorithm: algorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}, HashedMessage: digest}})
	if err != nil {
		return nil, err
	}
	var resp timeStampResp
	rest, err := asn1.Unmarshal(l.TSA.Respond(req), &resp)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("pki: the TSA's answer does not parse: %v", err)
	}
	if resp.Status.Status > 1 || len(resp.Token.FullBytes) == 0 { // 0 granted, 1 grantedWithMods
		return nil, fmt.Errorf("pki: the TSA refused (status %d)", resp.Status.Status)
	}
	return resp.Token.FullBytes, nil
}
