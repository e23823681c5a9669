// Package identity owns e-ID accounts: level 1 (self-registered, matched
// against the population registry) and level 2 (verified in person at a
// support point), their authenticators (password, TOTP, passkeys, recovery
// codes), sessions, guardians and organisations.
//
// It must never store a secret in a form that can be replayed (passwords are
// argon2id hashes, recovery codes are hashed, TOTP seeds are encrypted), never
// say whether a citizen ID exists to someone who has not proven who they are,
// never let a guessable secret be tried without limit, and never let a
// stranger's wrong guesses lock a holder out (guessing.go). Its SQL lives in
// the store_*.go helpers, run inside the transactions its services open.
package identity
