// Package pkcs11 keeps signing keys in a PKCS#11 token (a hardware security
// module, or SoftHSM2 in tests) and hands them out as crypto.Signer.
//
// It owns the keys' life in the token: generation inside the token as
// sensitive, non-extractable objects, and finding them again by label after a
// restart. The CA stores the labels; this package stores nothing else.
//
// It must never export, log or return a private key or the PIN, never import
// the CA (internal/pki plugs it in behind its own key-backend interface), and
// never reuse a label: a label names one key for good.
//
// The token is reached through cgo (github.com/ThalesGroup/crypto11 over
// github.com/miekg/pkcs11). Built with CGO_ENABLED=0 the package still
// compiles, and Open reports ErrNoCgo.
package pkcs11
