// Package oid4vc connects the civitas wallet to wallet apps and verifiers
// outside it. As an OpenID for Verifiable Credential Issuance 1.0 issuer it
// publishes the credential issuer metadata, hands out nonces for proofs of
// possession, makes credential offers of a holder's documents
// (pre-authorized codes of the civitas OpenID Provider) and answers
// credential requests with a copy of a document bound to the app's key,
// which the wallet issues. As an OpenID for Verifiable Presentations 1.0
// verifier it makes presentation requests (DCQL, direct_post, the
// redirect_uri client identifier prefix), takes the app's response and keeps
// the verdict sealed for whoever made the request.
//
// It talks to the wallet only through the Wallet interface it declares, and
// to the OpenID Provider through the CredentialGrants and PreAuthorize the
// caller gives; the adapters are in app. It owns the tables
// wallet_oid4vci_nonces and wallet_vp_requests.
//
// It must never issue a credential itself (the wallet does, from a document
// the holder holds, and audits it), never accept a proof without a fresh
// nonce of its own used once, never put a transaction code in an offer's
// link, never keep a presentation's claims unsealed or show them to anyone
// but the holder of the request's read token, never show the claims of a
// presentation that failed, never import another capability, and it records
// every offer and every verdict in the audit log without claims.
package oid4vc
