package ocsp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"time"

	// The hash functions a CertID may use must be linked in.
	_ "crypto/sha1"
	_ "crypto/sha512"

	"civitas/internal/kernel"
)

// The response is encoded here rather than by x/crypto/ocsp.CreateResponse,
// which puts extensions into singleExtensions (a nonce belongs in
// responseExtensions, where OpenSSL looks for it), names the responder by
// name only, and stamps producedAt from the wall clock to the minute.

var (
	oidBasicResponse = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidNonce         = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}
)

// certIDHashes are the CertID hash algorithms a request may use (those
// x/crypto/ocsp parses); a slot index into them keys the cached answers.
var certIDHashes = [...]crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

var certIDHashOIDs = [len(certIDHashes)]asn1.ObjectIdentifier{
	{1, 3, 14, 3, 2, 26},
	{2, 16, 840, 1, 101, 3, 4, 2, 1},
	{2, 16, 840, 1, 101, 3, 4, 2, 2},
	{2, 16, 840, 1, 101, 3, 4, 2, 3},
}

func hashSlot(h crypto.Hash) (int, bool) {
	for i, c := range certIDHashes {
		if c == h {
			return i, true
		}
	}
	return 0, false
}

// The ASN.1 of RFC 6960 §4.2.1, as much as a responder writes.
type ocspResponse struct {
	Status   asn1.Enumerated
	Response responseBytes `asn1:"explicit,tag:0"`
}

type responseBytes struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type basicResponse struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
	Certs              []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type responseData struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []singleResponse
	Extensions  []pkix.Extension `asn1:"optional,explicit,tag:1"`
}

type singleResponse struct {
	CertID     certID
	Good       asn1.Flag   `asn1:"tag:0,optional"`
	Revoked    revokedInfo `asn1:"tag:1,optional"`
	Unknown    asn1.Flag   `asn1:"tag:2,optional"`
	ThisUpdate time.Time   `asn1:"generalized"`
	NextUpdate time.Time   `asn1:"generalized,explicit,tag:0,optional"`
}

type certID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	SerialNumber  *big.Int
}

type revokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

// signingAlg is how the responder's key signs: the digest it signs and the
// AlgorithmIdentifier that names the pair.
type signingAlg struct {
	hash crypto.Hash // 0 for Ed25519, which signs the message itself
	id   pkix.AlgorithmIdentifier
}

func signingAlgorithm(pub crypto.PublicKey) (signingAlg, error) {
	ecdsaWith := func(h crypto.Hash, last int) signingAlg {
		return signingAlg{h, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, last}}}
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ecdsaWith(crypto.SHA256, 2), nil
		case elliptic.P384():
			return ecdsaWith(crypto.SHA384, 3), nil
		case elliptic.P521():
			return ecdsaWith(crypto.SHA512, 4), nil
		}
	case *rsa.PublicKey:
		return signingAlg{crypto.SHA256, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue}}, nil
	case ed25519.PublicKey:
		return signingAlg{0, pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 3, 101, 112}}}, nil
	}
	return signingAlg{}, fmt.Errorf("ocsp: unsupported signer key %T", pub)
}

// subjectPublicKey is the content of a certificate's subjectPublicKey BIT
// STRING, which CertID's issuerKeyHash and ResponderID's byKey hash.
func subjectPublicKey(c *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil || len(rest) > 0 {
		return nil, errors.New("ocsp: cannot read a certificate's public key")
	}
	return spki.PublicKey.RightAlign(), nil
}

// responderIDByKey is ResponderID's byKey [2] EXPLICIT KeyHash: the SHA-1
// of the signer's public key. It stays right when the signer certificate
// is renewed with the same key.
func responderIDByKey(signerKey []byte) []byte {
	inner, _ := asn1.Marshal(digest(crypto.SHA1, signerKey)) // an OCTET STRING cannot fail
	der, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: inner})
	return der
}

// sign reads serial's status from the Source and signs a response for it,
// with the CertID of hash slot and, if nonce is set, that nonce extension.
func (r *Responder) sign(ctx context.Context, serial *big.Int, slot int, nonce []byte) (*signed, error) {
	st, err := r.o.Source.Status(ctx, serial)
	if err != nil {
		return nil, kernel.E(kernel.Unavailable, "ocsp.error.try_later").WithCause(fmt.Errorf("ocsp: status of %s: %w", serial.Text(16), err))
	}
	now := r.now()
	single := singleResponse{
		CertID: certID{
			HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: certIDHashOIDs[slot], Parameters: asn1.NullRawValue},
			NameHash:      r.ids[slot].name,
			IssuerKeyHash: r.ids[slot].key,
			SerialNumber:  serial,
		},
		ThisUpdate: now,
		NextUpdate: now.Add(r.o.Validity),
	}
	switch {
	case !st.Known:
		single.Unknown = true
	case st.Revoked:
		at := st.RevokedAt.UTC().Truncate(time.Second)
		if st.RevokedAt.IsZero() {
			at = time.Unix(0, 0).UTC()
		}
		single.Revoked = revokedInfo{RevocationTime: at}
		// 7 is unassigned; 0 (unspecified) is left out, as RFC 5280 asks of CRLs.
		if st.Reason > 0 && st.Reason <= 10 && st.Reason != 7 {
			single.Revoked.Reason = asn1.Enumerated(st.Reason)
		}
	default:
		single.Good = true
	}
	data := responseData{
		ResponderID: asn1.RawValue{FullBytes: r.responderID},
		ProducedAt:  now,
		Responses:   []singleResponse{single},
	}
	if nonce != nil {
		data.Extensions = []pkix.Extension{{Id: oidNonce, Value: nonce}}
	}
	der, err := r.encode(data)
	if err != nil {
		return nil, kernel.Wrap(err, "ocsp: sign response")
	}
	s := &signed{der: der, thisUpdate: single.ThisUpdate, nextUpdate: single.NextUpdate}
	s.lastModified = s.thisUpdate.Format(http.TimeFormat)
	s.expires = s.nextUpdate.Format(http.TimeFormat)
	sum := sha256.Sum256(der)
	s.etag = `"` + hex.EncodeToString(sum[:16]) + `"`
	return s, nil
}

// encode signs data and wraps it as a successful OCSPResponse.
func (r *Responder) encode(data responseData) ([]byte, error) {
	tbs, err := asn1.Marshal(data)
	if err != nil {
		return nil, err
	}
	msg := tbs
	if r.alg.hash != 0 {
		msg = digest(r.alg.hash, tbs)
	}
	sig, err := r.o.Signer.Sign(rand.Reader, msg, r.alg.hash)
	if err != nil {
		return nil, err
	}
	basic := basicResponse{
		TBSResponseData:    asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: r.alg.id,
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	}
	for _, c := range r.certs {
		basic.Certs = append(basic.Certs, asn1.RawValue{FullBytes: c})
	}
	basicDER, err := asn1.Marshal(basic)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(ocspResponse{Response: responseBytes{ResponseType: oidBasicResponse, Response: basicDER}})
}
