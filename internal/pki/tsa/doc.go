// Package tsa is civitas's RFC 3161 time-stamping unit: it answers
// TimeStampReq messages with TimeStampResp messages whose tokens are CMS
// SignedData (RFC 5652) over a TSTInfo, signed with the TSA key.
//
// It owns the protocol: strict parsing of queries, refusals with the right
// PKIFailureInfo bit, the token's encoding, serial numbers, and a genTime
// that never goes backwards within one Authority. Its HTTP handler speaks
// the RFC 3161 §3.4 transport (application/timestamp-query in,
// application/timestamp-reply out).
//
// It must never make, load or store keys or certificates (internal/pki hands
// it a crypto.Signer and the TSA certificate), never keep or log the
// imprints it stamps (they are fingerprints of citizens' documents), never
// import internal/pki (pki reaches it through its own Responder interface),
// and never answer bad input with anything but a TimeStampResp refusal.
package tsa
