package exchange

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"civitas/internal/jose"
)

// ReceiptType is the typ of a receipt's JWS header.
const ReceiptType = "civitas-exchange-receipt+jwt"

// ReceiptClaims are what a receipt says: who asked which service about
// whom, why, in which case, when, and the SHA-256 of the exact bytes of
// the data sent.
type ReceiptClaims struct {
	Issuer     string   `json:"iss"`      // the providing province's public URL
	Provider   string   `json:"provider"` // the agency that answered (its seal signed)
	Consumer   string   `json:"consumer"` // as the provider's grants name it
	Service    string   `json:"service"`
	Subject    string   `json:"subject"` // the citizen ID or enterprise code asked about
	Purpose    string   `json:"purpose"`
	CaseRef    string   `json:"case_ref"`
	IssuedAt   int64    `json:"iat"`
	DataSHA256 string   `json:"data_sha256"` // unpadded base64url
	Fields     []string `json:"fields"`      // the fields the data carries
	ID         string   `json:"jti"`         // the query's entry in the provider's log
}

// DataDigest is the data_sha256 of data: unpadded base64url of SHA-256
// over exactly these bytes.
func DataDigest(data []byte) string {
	sum := sha256.Sum256(data)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// receiptHeader is the protected header of the receipts a seal signs.
func receiptHeader(seal cachedSeal) jose.Header {
	return jose.Header{Alg: seal.alg, Typ: ReceiptType, Kid: seal.kid, Extra: map[string]any{"x5c": seal.x5c}}
}

// signReceipt signs claims with a provider's seal, under the header the
// seal encoded once.
func signReceipt(seal cachedSeal, c ReceiptClaims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	h := seal.header
	if h.Encoded == "" {
		if h, err = jose.EncodeHeader(receiptHeader(seal)); err != nil {
			return "", err
		}
	}
	return jose.SignEncoded(seal.signer, h, payload)
}

// errReceipt is the error of every receipt that does not verify.
var errReceipt = errors.New("exchange: receipt does not verify")

// VerifyReceipt checks a receipt: its x5c chain leads to one of roots at
// the receipt's time, and the seal's key signed it. It returns the claims
// and the seal's certificate; the caller compares the claims with what it
// asked and received.
func VerifyReceipt(receipt string, roots *x509.CertPool) (ReceiptClaims, *x509.Certificate, error) {
	j, err := jose.Parse(receipt)
	if err != nil {
		return ReceiptClaims{}, nil, fmt.Errorf("%w: %v", errReceipt, err)
	}
	var x5c []string
	if raw, ok := j.RawHeader["x5c"]; !ok || json.Unmarshal(raw, &x5c) != nil || len(x5c) == 0 || len(x5c) > 5 {
		return ReceiptClaims{}, nil, fmt.Errorf("%w: no x5c", errReceipt)
	}
	var chain []*x509.Certificate
	for _, b64 := range x5c {
		der, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return ReceiptClaims{}, nil, fmt.Errorf("%w: x5c encoding", errReceipt)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return ReceiptClaims{}, nil, fmt.Errorf("%w: x5c certificate", errReceipt)
		}
		chain = append(chain, c)
	}
	var c ReceiptClaims
	if err := json.Unmarshal(j.Payload, &c); err != nil {
		return ReceiptClaims{}, nil, fmt.Errorf("%w: payload", errReceipt)
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: time.Unix(c.IssuedAt, 0),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return ReceiptClaims{}, nil, fmt.Errorf("%w: chain: %v", errReceipt, err)
	}
	if err := j.Verify(chain[0].PublicKey, jose.ES256, jose.ES384, jose.RS256, jose.PS256); err != nil {
		return ReceiptClaims{}, nil, fmt.Errorf("%w: %v", errReceipt, err)
	}
	if j.Header.Typ != ReceiptType {
		return ReceiptClaims{}, nil, fmt.Errorf("%w: typ", errReceipt)
	}
	return c, chain[0], nil
}
