// Package wallet is the citizen's electronic wallet of documents: the
// catalogue of document types (data files, so a new type needs no code),
// issuance by agencies as SD-JWT verifiable credentials signed with the
// agency's seal key and carrying a status-list entry, the holder's
// documents, and their revocation, suspension and re-issue. It publishes
// the agencies' status lists, the issuer's keys and the types' metadata
// (http_public.go). For wallet apps outside civitas it issues a copy of a
// holder's document bound to the app's key, sharing the document's status
// entry (copy.go), which the oid4vc package offers over OpenID4VCI; oid4vc
// is also the OpenID4VP verifier, using Verify. It keeps the holder's
// shares (a keyed hash of each short code, never the code) and shows a
// verifier only the claims a share names.
// Registry-held types are pulled from the population, business,
// health-insurance and vehicle registries (a registration per vehicle);
// each document can be downloaded as a one-page PDF sealed by its issuing
// agency (render.go, pdf.go), made once per language and kept sealed.
// Other capabilities ask Holds whether a person or organisation holds a
// valid document, with a purpose that the holder's history shows.
//
// It declares what it needs of others in its own types — the e-ID's
// accounts, guardianships, organisations and officials' posts (Accounts),
// the trust services' agency seals (Seals, PDFSealer), the API's tokens
// (APITokens) — and never imports another capability: the adapters are in
// app. The registries are reference data it reads directly.
//
// It must never let anyone but the holder (or their guardian, or the
// issuing agency for status changes) list or read a document, never issue a
// type to an agency whose kind may not issue it, never keep a document's
// claims (or its PDF) unsealed at rest, and it records every issuance and
// status change in the audit log without the claims themselves.
package wallet
