// Package exchange is the province's data exchange (LGSP): the registries
// answer other agencies' systems, officials at a desk and peer provinces
// by service, each answer limited to the fields granted, given for a named
// legal purpose and case, and signed.
//
// A service (catalogue.go, services.go) is a code, the kind of the
// province-level agency that owns the registry (its provider), a versioned
// JSON schema of its answer made from its field list, and a fetch function
// over the registry: adding one is a declaration. A consumer is an
// agency's system (an OAuth client bound to the agency, scope
// exchange.query), an agency's officials at their desk ("desk:AGENCY"), or
// a peer province's consumer ("PEER:CLIENT"). Rights are granted per
// consumer, service and field set, with a legal basis and perhaps an end;
// they are read from the database at every query, so a grant or a
// revocation made from the command line holds at once.
//
// Every query names a purpose from the catalogue of legal purposes and a
// case reference. The answer carries a receipt: a compact JWS signed with
// the provider agency's seal (x5c to the province's root) over the
// consumer, service, subject, purpose, case, time and the SHA-256 of the
// exact bytes of the data sent.
//
// The log (log.go) is one hash-chained table: every read of a person's
// data by anyone but that person — exchange queries, desk look-ups, and
// the reads other capabilities record through Record — and every query
// this province sent to a peer. Its head is time-stamped by the TSA in
// batches (Checkpoint); VerifyLog finds any edit. The person, or their
// guardian, sees their reads at /account/data-use.
//
// Peers (peer.go) are other civitas installations, named by the operator
// with the root their certificates chain to. They talk over mutual TLS on
// the peer listener; a consumer asks a remote service as CODE@PEER.
//
// It must never return a field that was not granted, never answer without
// a purpose, a case and a grant, never let a consumer use another's grant,
// never show one person's reads to anyone but them or their guardian,
// never log personal data (citizen IDs, answers) through slog, and never
// import another capability: the e-ID, the OpenID Provider and the trust
// services reach it through the small interfaces it declares.
package exchange
