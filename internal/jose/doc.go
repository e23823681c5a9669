// Package jose signs and verifies compact JSON Web Signatures (RFC 7515) and
// JSON Web Tokens (RFC 7519), and converts keys to and from JSON Web Keys
// (RFC 7517) with their thumbprints (RFC 7638). The OpenID Provider, DPoP
// proofs, private_key_jwt client assertions and wallet credentials use it.
//
// Signing goes through crypto.Signer, so keys may live in any key backend
// (software or PKCS#11) and never have to leave it.
//
// The package must never accept "none" or an algorithm the caller did not
// allow, never choose the verification key from the token itself unless the
// caller asks for that explicitly (DPoP), and never panic on hostile input.
package jose
