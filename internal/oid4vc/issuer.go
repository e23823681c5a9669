package oid4vc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/url"
	"slices"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// OpenID for Verifiable Credential Issuance 1.0: civitas is the credential
// issuer of its wallet's documents to wallet apps outside it. The
// credential issuer is the wallet's issuer (the public URL), and its
// authorization server is the civitas OpenID Provider. A holder offers one
// of their valid documents (a pre-authorized code), or a wallet app asks
// for a type by its scope (authorization code flow); either way the app
// receives a fresh SD-JWT VC of that document, bound to the app's own key
// and sharing the document's status-list entry.

// Paths of the credential issuer's endpoints, under the issuer URL.
const (
	CredentialPath = "/oid4vci/credential"
	NoncePath      = "/oid4vci/nonce"
	IssuerMetaPath = "/.well-known/openid-credential-issuer"
)

// Protocol constants.
const (
	// FormatSDJWT is the credential format of OpenID4VCI Appendix A.3.
	FormatSDJWT = "dc+sd-jwt"
	// ProofTyp is the typ of a proof of possession JWT (Appendix F.1).
	ProofTyp = "openid4vci-proof+jwt"
	// OfferScheme starts a credential offer link (§4.1).
	OfferScheme = "openid-credential-offer://"
	// PreAuthorizedGrant is the grant type of a pre-authorized code.
	PreAuthorizedGrant = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
)

// Limits of the issuance protocol.
const (
	nonceTTL    = 5 * time.Minute // how long a c_nonce may be used
	proofMaxAge = 5 * time.Minute // how old a proof's iat may be
	proofSkew   = time.Minute     // how far in the future
	txCodeLen   = 6
)

// proofAlgs are the algorithms of proofs of possession: the outside
// wallet's key becomes the credential's cnf, whose key binding the wallet
// verifies with ES256 (sdjwt.ExpectKeyBinding's default).
var proofAlgs = []string{jose.ES256}

// CredentialScope is the OAuth scope a wallet app asks the OpenID Provider
// for to receive a document of the type (authorization code flow).
func CredentialScope(typeCode string) string { return "civitas_wallet:" + typeCode }

// CredentialEndpoint is the URL of the credential endpoint: the only
// audience of the access tokens pre-authorized codes are exchanged for.
func (s *Service) CredentialEndpoint() string { return s.o.Issuer + CredentialPath }

// Types are the document types, in the wallet's order.
func (s *Service) Types() []Type {
	out := make([]Type, len(s.order))
	for i, c := range s.order {
		out[i] = s.types[c]
	}
	return out
}

// CredentialIssuerMetadata is the credential issuer's metadata (§12.2).
type CredentialIssuerMetadata struct {
	CredentialIssuer string                             `json:"credential_issuer"`
	CredentialEnd    string                             `json:"credential_endpoint"`
	NonceEndpoint    string                             `json:"nonce_endpoint"`
	Display          []Display                          `json:"display,omitempty"`
	Configurations   map[string]CredentialConfiguration `json:"credential_configurations_supported"`
}

// CredentialConfiguration is one credential a wallet app may receive: one
// per document type issued to persons, by the type's code.
type CredentialConfiguration struct {
	Format         string               `json:"format"`
	Scope          string               `json:"scope"`
	VCT            string               `json:"vct"`
	BindingMethods []string             `json:"cryptographic_binding_methods_supported"`
	SigningAlgs    []string             `json:"credential_signing_alg_values_supported"`
	ProofTypes     map[string]ProofType `json:"proof_types_supported"`
	Metadata       CredentialMetadata   `json:"credential_metadata"`
}

// ProofType lists the algorithms of a proof type.
type ProofType struct {
	SigningAlgs []string `json:"proof_signing_alg_values_supported"`
}

// CredentialMetadata is how a wallet app shows the credential.
type CredentialMetadata struct {
	Display []Display          `json:"display"`
	Claims  []ClaimDescription `json:"claims"`
}

// Display is a name in one language.
type Display struct {
	Name   string `json:"name"`
	Locale string `json:"locale"`
}

// ClaimDescription is a claim of a credential with its labels.
type ClaimDescription struct {
	Path      []string  `json:"path"`
	Mandatory bool      `json:"mandatory"`
	Display   []Display `json:"display"`
}

// CredentialIssuerMetadata returns the metadata; issuerNames is the
// issuer's name by language.
func (s *Service) CredentialIssuerMetadata(issuerNames map[string]string) CredentialIssuerMetadata {
	md := CredentialIssuerMetadata{CredentialIssuer: s.o.Issuer, CredentialEnd: s.CredentialEndpoint(),
		NonceEndpoint: s.o.Issuer + NoncePath, Configurations: map[string]CredentialConfiguration{}}
	for _, l := range languages {
		if n := issuerNames[l]; n != "" {
			md.Display = append(md.Display, Display{Name: n, Locale: l})
		}
	}
	for _, t := range s.Types() {
		if !t.Person {
			continue // outside wallets are people's
		}
		c := CredentialConfiguration{Format: FormatSDJWT, Scope: CredentialScope(t.Code), VCT: t.VCT,
			BindingMethods: []string{"jwk"}, SigningAlgs: []string{jose.ES256, jose.ES384, jose.RS256, jose.PS256},
			ProofTypes: map[string]ProofType{"jwt": {SigningAlgs: proofAlgs}}}
		for _, l := range languages {
			c.Metadata.Display = append(c.Metadata.Display, Display{Name: t.Names[l], Locale: l})
		}
		for _, cl := range t.Claims {
			cd := ClaimDescription{Path: []string{cl.Name}, Mandatory: cl.Required}
			for _, l := range languages {
				cd.Display = append(cd.Display, Display{Name: cl.Labels[l], Locale: l})
			}
			c.Metadata.Claims = append(c.Metadata.Claims, cd)
		}
		md.Configurations[t.Code] = c
	}
	return md
}

// offerDetails is what a pre-authorized code grants, kept by the OpenID
// Provider and handed back with the access token.
type offerDetails struct {
	Document      string `json:"document"`
	Configuration string `json:"credential_configuration_id"`
}

// PreAuthorize asks the OpenID Provider for a pre-authorized code for the
// signed-in holder, with the offer's details and, optionally, a
// transaction code.
type PreAuthorize func(ctx context.Context, details json.RawMessage, txCode string) (code string, expires time.Time, err error)

// OfferOptions shape a credential offer.
type OfferOptions struct {
	// TxCode asks for a transaction code: the holder reads it from the page
	// and types it into the wallet app, so the link alone is not enough.
	TxCode bool
	// TxCodeDescription tells the wallet app's user where to find it, in
	// the holder's language (at most 300 characters).
	TxCodeDescription string
}

// Offer is a credential offer of one document (§4.1).
type Offer struct {
	URI               string          // openid-credential-offer://?credential_offer=...
	Object            json.RawMessage // the offer itself
	Configuration     string          // the credential configuration offered (the type code)
	TxCode            string          // shown to the holder; never in the offer
	ExpiresAt         time.Time
	PreAuthorizedCode string // the pre-authorized code: only for tests and the holder's device
}

// OfferDocument makes a credential offer of one of the person's valid
// documents, with a single-use pre-authorized code the OpenID Provider
// makes: the wallet app that redeems it receives that document. The caller
// has checked that the signed-in person is citizenID. Audited, without
// claims.
func (s *Service) OfferDocument(ctx context.Context, citizenID, id string, o OfferOptions, preauthorize PreAuthorize) (Offer, error) {
	d, err := s.o.Wallet.Document(ctx, citizenID, id)
	if err != nil {
		return Offer{}, err
	}
	if t, ok := s.types[d.Type]; !ok || !t.Person {
		return Offer{}, kernel.E(kernel.Invalid, "oid4vc.error.not_offerable")
	}
	if !d.Valid {
		return Offer{}, kernel.E(kernel.Conflict, "wallet.error.not_valid")
	}
	details, _ := json.Marshal(offerDetails{Document: d.ID, Configuration: d.Type})
	out := Offer{Configuration: d.Type}
	if o.TxCode {
		if out.TxCode, err = digits(txCodeLen); err != nil {
			return Offer{}, err
		}
	}
	code, expires, err := preauthorize(ctx, details, out.TxCode)
	if err != nil {
		return Offer{}, err
	}
	out.ExpiresAt, out.PreAuthorizedCode = expires, code
	grant := map[string]any{"pre-authorized_code": code}
	if o.TxCode {
		tx := map[string]any{"input_mode": "numeric", "length": txCodeLen}
		if desc := []rune(o.TxCodeDescription); len(desc) > 0 {
			tx["description"] = string(desc[:min(len(desc), 300)])
		}
		grant["tx_code"] = tx
	}
	out.Object, err = json.Marshal(map[string]any{
		"credential_issuer":            s.o.Issuer,
		"credential_configuration_ids": []string{d.Type},
		"grants":                       map[string]any{PreAuthorizedGrant: grant},
	})
	if err != nil {
		return Offer{}, kernel.Wrap(err, "oid4vc: offer")
	}
	out.URI = OfferScheme + "?" + url.Values{"credential_offer": {string(out.Object)}}.Encode()
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "wallet.oid4vci.offer", SubjectType: "wallet_document", SubjectID: d.ID,
			Details: map[string]any{"type": d.Type, "agency": d.Agency, "holder_kind": "person", "tx_code": o.TxCode}})
		return err
	})
	if err != nil {
		return Offer{}, err
	}
	return out, nil
}

// digits returns n random decimal digits.
func digits(n int) (string, error) {
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", kernel.Wrap(err, "oid4vc: random")
		}
		b[i] = byte('0' + v.Int64())
	}
	return string(b), nil
}

func hashNonce(n string) string {
	sum := sha256.Sum256([]byte("oid4vci.nonce|" + n))
	return hex.EncodeToString(sum[:])
}

// NewNonce returns a fresh c_nonce for a proof of possession (§7): good
// for one proof, for nonceTTL. Only its hash is stored.
func (s *Service) NewNonce(ctx context.Context) (string, error) {
	n := kernel.NewToken()
	err := s.o.DB.Batch(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		return insertNonce(ctx, tx, hashNonce(n), tx.Now.Add(nonceTTL))
	})
	if err != nil {
		return "", kernel.Wrap(err, "oid4vc: nonce")
	}
	return n, nil
}

// spendNonce uses a nonce up: false when it is unknown, used or expired.
func (s *Service) spendNonce(ctx context.Context, n string) (bool, error) {
	var spent bool
	err := s.o.DB.Batch(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var err error
		spent, err = deleteNonce(ctx, tx, hashNonce(n))
		return err
	})
	if err != nil {
		return false, kernel.Wrap(err, "oid4vc: nonce")
	}
	return spent, nil
}

// proofClaims are the claims of a proof of possession.
type proofClaims struct {
	Audience jose.Audience `json:"aud"`
	IssuedAt int64         `json:"iat"`
	Nonce    string        `json:"nonce"`
}

// CheckProof verifies a proof of possession of the jwt type (§8.2.1.1,
// Appendix F.1): typ openid4vci-proof+jwt, signed (ES256) by the public
// key in its jwk header, for this issuer (aud), recent (iat), with a fresh
// c_nonce of this issuer, which it uses up. It returns the proven key.
func (s *Service) CheckProof(ctx context.Context, proof string) (*ecdsa.PublicKey, error) {
	bad := func(why string) (*ecdsa.PublicKey, error) {
		return nil, perr(400, "invalid_proof", "proof: "+why)
	}
	j, err := jose.Parse(proof)
	if err != nil {
		return bad("not a compact JWS")
	}
	if j.Header.Typ != ProofTyp {
		return bad(`typ must be "` + ProofTyp + `"`)
	}
	if j.Header.JWK == nil {
		return bad("the header must carry the wallet's public key as jwk (kid and x5c are not supported)")
	}
	if _, ok := j.RawHeader["kid"]; ok {
		return bad("jwk and kid cannot both be given")
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(j.RawHeader["jwk"], &raw) == nil {
		if _, private := raw["d"]; private {
			return bad("the jwk is a private key")
		}
	}
	pub, err := j.Header.JWK.PublicKey()
	if err != nil {
		return bad("the jwk is not a usable public key")
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return bad("the key must be an EC P-256 key (ES256)")
	}
	if err := j.Verify(key, proofAlgs...); err != nil {
		return bad("the signature does not verify with its jwk, or the algorithm is not ES256")
	}
	var c proofClaims
	if err := json.Unmarshal(j.Payload, &c); err != nil {
		return bad("the payload is not a claims set")
	}
	now := s.o.Clock.Now()
	switch {
	case !slices.Contains(c.Audience, s.o.Issuer):
		return bad("aud must be the credential issuer " + s.o.Issuer)
	case c.IssuedAt == 0:
		return bad("iat is required")
	case time.Unix(c.IssuedAt, 0).Before(now.Add(-proofMaxAge)):
		return bad("iat is too old")
	case time.Unix(c.IssuedAt, 0).After(now.Add(proofSkew)):
		return bad("iat is in the future")
	case c.Nonce == "":
		return nil, perr(400, "invalid_nonce", "proof: nonce is required: get one from the nonce endpoint")
	}
	fresh, err := s.spendNonce(ctx, c.Nonce)
	if err != nil {
		return nil, err
	}
	if !fresh {
		return nil, perr(400, "invalid_nonce", "proof: the nonce is unknown, used or expired: get a new one from the nonce endpoint")
	}
	return key, nil
}
