// Package audit keeps the append-only, hash-chained audit log: who did what,
// acting for whom, on which subject, for what purpose, and when.
//
// Each record is written inside the transaction of the change it records and
// commits to its predecessor's hash, so an edited, deleted or reordered
// record breaks the chain and Verify names it. The chain alone cannot show
// its newest records deleted with the head set back: the head (last
// sequence number and hash) is what the trust services seal in signed
// checkpoints every minute or 1,000 records (internal/pki), published at
// /audit/checkpoints for witnesses outside to keep, and checked beside the
// chain by civitas audit verify, with --witness against those copies.
//
// The package must never update or delete a record, and must never store
// personal data in Details beyond identifiers the subject already names.
package audit
