// Package cms makes and checks detached CMS SignedData signatures (RFC 5652)
// in the profiles that CAdES (ETSI EN 319 122) and PAdES (ETSI EN 319 142)
// build on: one signer, signed attributes with the ESS signing-certificate-v2
// (RFC 5035), and an optional signature time-stamp (RFC 3161) as an
// unsigned attribute.
//
// Signing is split in two phases, Prepare and Finish, so that the key may
// sign later and elsewhere (a remote signing service signs a hash after the
// holder approves). Everything is written in DER.
//
// It owns the encoding and the checks: the structure, the digests, the
// signatures, the signing certificate and its chain to the roots the caller
// gives. It must never hold or load keys (it takes a crypto.Signer or a
// finished signature), never do I/O (no fetching of certificates,
// revocation data or time-stamps), never trust the system's roots, and
// never panic on hostile input: Verify and ParseTimestampToken read
// signatures that strangers send.
package cms
