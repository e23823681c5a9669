// Package jose signs and verifies compact JSON Web Signatures (RFC 7515) and
// JSON Web Tokens (RFC 7519), and converts keys to and from JSON Web Keys
// (RFC 7517) with their thumbprints (RFC 7638). The OpenID Provider, DPoP
// proofs, private_key_jwt client assertions and wallet credentials use it.
//
// Signing goes through crypto.Signer, so keys may live in any key backend
// (software or PKCS#11) and never have to leave it.
//
// Why hand-written rather than github.com/go-jose/go-jose/v4: civitas needs
// a small subset (compact JWS with ES256/ES384/RS256/PS256 (EdDSA verified), JWK and its
// thumbprint, x5c), and that subset is on the hottest paths of the platform
// — every access token, DPoP proof and presented credential is verified
// here. Writing it lets us (1) refuse at parse time everything we do not
// speak (JWE, JSON serialization, unprotected headers, "none", a key chosen
// by the token), so there is less code an attacker can reach; (2) verify
// ECDSA signatures from DER written directly, without big.Int round trips,
// which is what brings a presented credential's check to half the raw ECDSA
// verify rate; (3) take signers as crypto.Signer so PKCS#11 keys work
// unchanged; (4) keep the dependency list short. The price is that we own
// the parsing: it is fuzzed (FuzzParse, FuzzDERSignature against
// encoding/asn1), and go-jose and npm jose/@sd-jwt verify what we sign in
// the tests. Switch when we need JWE or a JSON serialization, not before.
//
// The package must never accept "none" or an algorithm the caller did not
// allow, never choose the verification key from the token itself unless the
// caller asks for that explicitly (DPoP), and never panic on hostile input.
package jose
