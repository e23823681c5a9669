// Package oidc is the OpenID Provider every public service logs citizens in
// through: discovery and JWKS with rotating ES256 keys, the authorization
// code flow with PKCE (S256 only), pushed authorization requests (RFC 9126),
// DPoP-bound tokens (RFC 9449), client authentication by private_key_jwt or
// client_secret_basic, refresh tokens that rotate and revoke their family on
// reuse, userinfo, RP-initiated logout, a consent screen, pairwise subject
// identifiers, and acr values for e-ID level 1 and level 2. For the wallet's
// OpenID4VCI issuer it also redeems pre-authorized codes (single use, hashed,
// for access tokens good at one resource only) and knows the scopes other
// capabilities add (preauth.go, scopes.go).
//
// It must never redirect to a URI the client did not register, never accept a
// code, refresh token, DPoP proof or client assertion twice, never give a
// level-1 login to a request that asked for level 2, never keep a token or code
// in a form that can be replayed (only hashes are stored), and never log one.
// It knows nothing of passwords: the login side is the Authenticator.
//
// Its SQL is in store.go, one helper per statement, run in the caller's
// transaction (or, for a read of one statement, on the reader pool).
package oidc
