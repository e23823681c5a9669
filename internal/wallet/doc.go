// Package wallet is the citizen's electronic wallet of documents: the
// catalogue of document types (data files, so a new type needs no code),
// issuance by agencies as SD-JWT verifiable credentials signed with the
// agency's seal key and carrying a status-list entry, the holder's
// documents, and their revocation, suspension and re-issue. For wallets
// and verifiers outside civitas it is also an OpenID4VCI credential issuer
// (oid4vci*.go: a copy of a holder's document bound to their own wallet's
// key, sharing the document's status entry) and an OpenID4VP verifier
// (oid4vp*.go). It keeps the holder's shares (a keyed hash of each short
// code, never the code) and shows a verifier only the claims a share names.
// Registry-held types are pulled from the population, business,
// health-insurance and vehicle registries (a registration per vehicle);
// each document can be downloaded as a one-page PDF sealed by its issuing
// agency (render.go, pdf.go), made once per language and kept sealed.
// Other capabilities ask Holds whether a person or organisation holds a
// valid document, with a purpose that the holder's history shows.
//
// It must never let anyone but the holder (or their guardian, or the
// issuing agency for status changes) list or read a document, never issue a
// type to an agency whose kind may not issue it, never keep a document's
// claims (or its PDF) unsealed at rest, and it records every issuance and status change
// in the audit log without the claims themselves.
package wallet
