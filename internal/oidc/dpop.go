package oidc

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"civitas/internal/jose"
)

// proofAlgs are the algorithms accepted in DPoP proofs.
var proofAlgs = []string{"ES256", "ES384", "EdDSA", "PS256", "RS256"}

// dpopProof is a verified DPoP proof: the thumbprint of its key and its
// single-use ID, to record in the request's transaction.
type dpopProof struct {
	jkt string
	jti jtiRecord
}

type dpopClaims struct {
	HTM string `json:"htm"`
	HTU string `json:"htu"`
	IAT int64  `json:"iat"`
	JTI string `json:"jti"`
	ATH string `json:"ath"`
}

// verifyDPoP checks the DPoP header of r (RFC 9449 §4.3) for a request to
// the endpoint URL; accessToken, when set, must be bound by ath. It returns
// nil without a DPoP header; two headers are an error.
func (p *Provider) verifyDPoP(r *http.Request, endpoint, accessToken string) (*dpopProof, error) {
	values := r.Header.Values("DPoP")
	if len(values) == 0 {
		return nil, nil
	}
	if len(values) > 1 {
		return nil, oerr(400, "invalid_dpop_proof", "send exactly one DPoP header")
	}
	return p.checkProof(values[0], r.Method, endpoint, accessToken)
}

func (p *Provider) checkProof(proof, method, endpoint, accessToken string) (*dpopProof, error) {
	bad := func(why string) (*dpopProof, error) {
		return nil, oerr(400, "invalid_dpop_proof", "DPoP proof: "+why)
	}
	j, err := jose.Parse(proof)
	if err != nil {
		return bad("not a compact JWS")
	}
	if j.Header.Typ != "dpop+jwt" {
		return bad(`typ must be "dpop+jwt"`)
	}
	if j.Header.JWK == nil {
		return bad("the header must carry the public key as jwk")
	}
	if _, private := j.RawHeader["jwk"]; private {
		var raw map[string]json.RawMessage
		if json.Unmarshal(j.RawHeader["jwk"], &raw) == nil {
			if _, has := raw["d"]; has {
				return bad("the jwk is a private key")
			}
		}
	}
	pub, err := j.Header.JWK.PublicKey()
	if err != nil {
		return bad("the jwk is not a usable public key")
	}
	if err := j.Verify(pub, proofAlgs...); err != nil {
		return bad("signature does not verify with its jwk, or the algorithm is not one of " + strings.Join(proofAlgs, ", "))
	}
	var c dpopClaims
	if err := json.Unmarshal(j.Payload, &c); err != nil {
		return bad("payload is not a JSON object")
	}
	now := p.clock.Now()
	switch {
	case c.JTI == "" || len(c.JTI) > 256:
		return bad("jti is required")
	case c.HTM != method:
		return bad("htm must be " + method)
	case !sameURL(c.HTU, endpoint):
		return bad("htu must be " + endpoint)
	case c.IAT == 0:
		return bad("iat is required")
	case time.Unix(c.IAT, 0).Before(now.Add(-proofWindow)):
		return bad("iat is too old")
	case time.Unix(c.IAT, 0).After(now.Add(proofSkew)):
		return bad("iat is in the future")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH != b64(sum[:]) {
			return bad("ath must be the base64url SHA-256 of the access token")
		}
	}
	jkt, err := j.Header.JWK.Thumbprint()
	if err != nil {
		return bad("the jwk has no thumbprint")
	}
	return &dpopProof{jkt: jkt, jti: jtiRecord{hash: hashSecret("dpop|" + jkt + "|" + c.JTI),
		expires: time.Unix(c.IAT, 0).Add(proofWindow + proofSkew)}}, nil
}

// sameURL compares an htu with an endpoint: scheme, host and path, without
// query or fragment (RFC 9449 §4.3).
func sameURL(htu, endpoint string) bool {
	a, err := url.Parse(htu)
	if err != nil {
		return false
	}
	b, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) && a.EscapedPath() == b.EscapedPath()
}
