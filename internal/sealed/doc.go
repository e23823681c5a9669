// Package sealed keeps secrets at rest: TOTP seeds, signing keys of the
// software key backend and anything else that must not lie in the database
// in plain text. A Box encrypts with AES-256-GCM under a key-encryption key
// that lives outside the database (a file or an environment variable).
//
// It must never log or return a key, and never accept a sealed value under
// other associated data than the one it was sealed with: the associated data
// binds a secret to its row, so a secret copied into another row does not open.
package sealed
