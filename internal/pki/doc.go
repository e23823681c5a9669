// Package pki is the province's trust services: the CA hierarchy (a root,
// the citizens' and the officials' issuing CAs, the TSA, the delegated OCSP
// signers and the audit seal), key backends (software keys sealed at rest,
// PKCS#11 tokens), issuance of citizens', officials' and agency seals'
// certificates under RFC 5280 profiles (each linted by zlint in .ci/zlint),
// revocation with CRLs and OCSP (pki/ocsp), time-stamping (pki/tsa), trust
// anchors of other hierarchies, and the signed checkpoints of the audit log.
//
// A checkpoint seals the head of the audit log with the audit seal's key
// and a time-stamp, every minute or 1,000 records. Checkpoints are public
// (GET /audit/checkpoints, /audit/checkpoints/latest) and logged, so that
// witnesses outside the province keep copies (CheckpointClient.Keep, civitas
// audit witness); VerifyWitness then proves against those copies that no
// record up to the newest witnessed checkpoint was removed, which the chain
// and the checkpoints in the database cannot once someone deleted the tail,
// set the head back and deleted the checkpoints that sealed it.
//
// It must never let a key leave its backend in plain text, never log key
// material or a holder's personal data, never certify a public key twice,
// never issue a citizen's certificate below e-ID level 2, and never update
// or delete a checkpoint.
package pki
