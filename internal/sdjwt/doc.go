// Package sdjwt issues, presents and verifies Selective Disclosure JWTs
// (RFC 9901) in the SD-JWT VC profile (draft-ietf-oauth-sd-jwt-vc): the
// format of the documents in the citizen's wallet.
//
// It owns the three roles of the format and nothing around them:
//   - Issue turns a claims set into an Issuer-signed JWT (typ dc+sd-jwt)
//     whose claims are hidden behind salted digests, followed by one
//     Disclosure per hidden claim;
//   - Parse and (*SDJWT).Present let the holder choose which Disclosures to
//     show and bind the presentation to a verifier with a Key Binding JWT;
//   - Verify checks a presentation and returns only the claims it discloses.
//
// The only state it keeps is what the caller asks for: a SignatureCache of
// Issuer-signed JWTs whose signature verified, keyed by the exact key and
// bytes, so that a document presented again costs one signature check.
//
// JWS signing and verification, JWK handling and algorithm policy come from
// internal/jose. Which issuers and keys to trust, the status list behind the
// "status" claim, type metadata and the storage of credentials belong to the
// caller (the wallet and the trust services): Verify asks the caller for the
// issuer's key and hands back the status reference to check.
//
// The package must never: accept a presentation whose issuer signature does
// not verify under the key the caller resolved for that very call; let a Disclosure that the
// issuer's payload does not reference (exactly once) add a claim; let a
// holder hide the claims that control validity (iss, nbf, exp, cnf, vct,
// status); decide from the presentation itself whether key binding is
// required; reveal a salt or value of an undisclosed claim in a
// presentation; or panic, or spend unbounded time or memory, on hostile input.
package sdjwt
