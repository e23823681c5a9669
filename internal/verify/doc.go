// Package verify is "validation for anyone": a public page, /verify, where
// any person checks a signed PDF or a detached .p7s signature with the
// signed file, and the same check as a JSON API, /api/verify/v1, for
// programs. Neither needs an account.
//
// It owns the upload handling (streamed to temporary files, deleted when
// the answer is written), the bound on the work (a file size limit and a
// fixed number of validations at once), and the way a validation report
// is shown in the reader's language. The judgement itself is
// internal/pades's; trust anchors and revocation come from the caller.
//
// It must never keep an uploaded file or its name (not on disk, not in a
// log), never answer bad input with a server error, never show a signature
// as valid when pades did not say TOTAL_PASSED, and never convey a verdict
// by colour alone.
package verify
