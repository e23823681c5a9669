package wallet

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
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
	for _, t := range s.o.Catalogue.Types() {
		if t.Holder != HolderPerson {
			continue // outside wallets are people's
		}
		c := CredentialConfiguration{Format: FormatSDJWT, Scope: CredentialScope(t.Code), VCT: s.VCT(t.Code),
			BindingMethods: []string{"jwk"}, SigningAlgs: []string{jose.ES256, jose.ES384, jose.RS256, jose.PS256},
			ProofTypes: map[string]ProofType{"jwt": {SigningAlgs: proofAlgs}}}
		for _, l := range languages {
			c.Metadata.Display = append(c.Metadata.Display, Display{Name: t.Name(l), Locale: l})
		}
		for _, cl := range t.Claims {
			cd := ClaimDescription{Path: []string{cl.Name}, Mandatory: cl.Required}
			for _, l := range languages {
				cd.Display = append(cd.Display, Display{Name: t.Label(cl.Name, l), Locale: l})
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

// OfferDocument makes a credential offer of one of h's valid documents,
// with a single-use pre-authorized code the OpenID Provider makes: the
// wallet app that redeems it receives that document. The caller has
// checked that the signed-in person is h. Audited, without claims.
func (s *Service) OfferDocument(ctx context.Context, h Holder, id string, o OfferOptions, preauthorize PreAuthorize) (Offer, error) {
	d, err := s.Document(ctx, h, id)
	if err != nil {
		return Offer{}, err
	}
	t, err := s.o.Catalogue.Type(d.Type)
	if err != nil {
		return Offer{}, err
	}
	if t.Holder != HolderPerson || h.Kind != HolderPerson {
		return Offer{}, kernel.E(kernel.Invalid, "oid4vc.error.not_offerable")
	}
	if !d.Valid(s.o.Clock.Now()) {
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
		return Offer{}, kernel.Wrap(err, "wallet: offer")
	}
	out.URI = OfferScheme + "?" + url.Values{"credential_offer": {string(out.Object)}}.Encode()
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, auditDocument("wallet.oid4vci.offer", d.Document, map[string]any{"tx_code": o.TxCode}))
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
			return "", kernel.Wrap(err, "wallet: random")
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
		_, err := tx.Exec(ctx, `INSERT INTO wallet_oid4vci_nonces (nonce_hash, expires_at) VALUES (?, ?)`, hashNonce(n), kernel.Micros(tx.Now.Add(nonceTTL)))
		return err
	})
	if err != nil {
		return "", kernel.Wrap(err, "wallet: nonce")
	}
	return n, nil
}

// spendNonce uses a nonce up: false when it is unknown, used or expired.
func (s *Service) spendNonce(ctx context.Context, n string) (bool, error) {
	var spent bool
	err := s.o.DB.Batch(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM wallet_oid4vci_nonces WHERE nonce_hash = ? AND expires_at > ?`, hashNonce(n), kernel.Micros(tx.Now))
		if err != nil {
			return err
		}
		k, _ := res.RowsAffected()
		spent = k == 1
		return nil
	})
	if err != nil {
		return false, kernel.Wrap(err, "wallet: nonce")
	}
	return spent, nil
}

// ProtocolError is an error of the OpenID4VC protocols, for the client:
// an HTTP status, an error code of the specifications and a description
// safe to show to the developer of the wallet app or verifier.
type ProtocolError struct {
	Status      int
	Code        string
	Description string
}

func (e *ProtocolError) Error() string { return "wallet: " + e.Code + ": " + e.Description }

func perr(status int, code, desc string) *ProtocolError {
	return &ProtocolError{Status: status, Code: code, Description: desc}
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

// IssueCopy issues a fresh SD-JWT VC of one of h's valid documents, bound
// to another key (an outside wallet app's, cnf): the same claims, every one
// selectively disclosable, the same issuing agency's seal, the same expiry
// and the same status-list entry, so that revoking or suspending the
// document does the same to the copy. Audited with the key's thumbprint,
// without claims. Another holder's document is NotFound.
func (s *Service) IssueCopy(ctx context.Context, h Holder, id string, holderKey crypto.PublicKey) (string, Document, error) {
	jwk, err := jose.PublicJWK(holderKey)
	if err != nil {
		return "", Document{}, kernel.E(kernel.Invalid, "oid4vc.error.bad_key").WithCause(err)
	}
	jkt, err := jwk.Thumbprint()
	if err != nil {
		return "", Document{}, kernel.E(kernel.Invalid, "oid4vc.error.bad_key").WithCause(err)
	}
	var stored, list string
	var idx int
	d, err := scanDocument(s.o.DB.QueryRow(ctx, `SELECT `+documentColumns+`, status_list, status_idx, sealed FROM wallet_documents WHERE id = ? AND holder_kind = ? AND holder_id = ?`,
		id, h.Kind, h.ID), &list, &idx, &stored)
	if errors.Is(err, sql.ErrNoRows) {
		return "", Document{}, kernel.E(kernel.NotFound, "wallet.error.no_document")
	}
	if err != nil {
		return "", Document{}, kernel.Wrap(err, "wallet: issue copy")
	}
	now := s.o.Clock.Now()
	if !d.Valid(now) {
		return "", Document{}, kernel.E(kernel.Conflict, "wallet.error.not_valid")
	}
	sd, err := s.openDocument(d.ID, stored)
	if err != nil {
		return "", Document{}, err
	}
	seal, err := s.seal(ctx, d.Agency)
	if err != nil {
		return "", Document{}, err
	}
	claims := make(map[string]any, len(sd.Claims)+1)
	paths := make([][]string, 0, len(sd.Claims))
	for k, v := range sd.Claims {
		claims[k] = v
		paths = append(paths, []string{k})
	}
	claims["issuing_authority"] = d.Agency
	cred, err := sdjwt.Issue(seal.signer, jose.Header{Alg: seal.alg, Kid: seal.kid}, claims, sdjwt.Selective{Paths: paths},
		sdjwt.IssueOptions{Issuer: s.o.Issuer, VCT: s.VCT(d.Type), IssuedAt: now.Truncate(time.Second), Expiry: d.ExpiresAt, Holder: holderKey,
			Status: &sdjwt.StatusRef{Index: int64(idx), URI: s.o.Issuer + statuslist.PathPrefix + list}})
	if err != nil {
		return "", Document{}, kernel.Wrap(err, "wallet: issue copy")
	}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		_, err := audit.Append(ctx, tx, auditDocument("wallet.oid4vci.issue", d, map[string]any{"jkt": jkt}))
		return err
	})
	if err != nil {
		return "", Document{}, err
	}
	return cred, d, nil
}

// newestValid is h's newest valid document of a type.
func (s *Service) newestValid(ctx context.Context, h Holder, typeCode string) (Document, error) {
	docs, err := s.Documents(ctx, h, true)
	if err != nil {
		return Document{}, err
	}
	now := s.o.Clock.Now()
	for _, d := range docs {
		if d.Type == typeCode && d.Valid(now) {
			return d, nil
		}
	}
	return Document{}, kernel.E(kernel.NotFound, "oid4vc.error.no_valid_document")
}

// CleanupOpenID4VC deletes expired nonces and presentation requests.
func (s *Service) CleanupOpenID4VC(ctx context.Context) (int64, error) {
	var n int64
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		for _, q := range []string{`DELETE FROM wallet_oid4vci_nonces WHERE expires_at < ?`, `DELETE FROM wallet_vp_requests WHERE expires_at < ?`} {
			res, err := tx.Exec(ctx, q, kernel.Micros(tx.Now))
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("wallet: cleanup: %w", err)
	}
	return n, nil
}
