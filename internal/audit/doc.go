// Package audit keeps the append-only, hash-chained audit log: who did what,
// acting for whom, on which subject, for what purpose, and when.
//
// Each record is written inside the transaction of the change it records and
// commits to its predecessor's hash, so an edited, deleted or reordered
// record breaks the chain and Verify names it. The head (last sequence number
// and hash) is what a signed checkpoint will sign: checkpoints come with the
// trust services and will be checked by Verify beside the chain.
//
// The package must never update or delete a record, and must never store
// personal data in Details beyond identifiers the subject already names.
package audit
