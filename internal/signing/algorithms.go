package signing

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"

	"civitas/internal/kernel"
)

// The algorithms a CSC caller may name (hashAlgorithmOID, signAlgo). The
// keys sign ECDSA (ASN.1 DER) or RSA PKCS #1 v1.5; a signAlgo that names
// another scheme (RSASSA-PSS, EdDSA) or another key type than the
// credential's is refused rather than silently signed otherwise.
var hashOIDs = map[string]crypto.Hash{
	"2.16.840.1.101.3.4.2.1": crypto.SHA256,
	"2.16.840.1.101.3.4.2.2": crypto.SHA384,
	"2.16.840.1.101.3.4.2.3": crypto.SHA512,
}

type keyType int

const (
	keyOther keyType = iota
	keyECDSA
	keyRSA
)

type signAlgo struct {
	key  keyType
	hash crypto.Hash // 0 for a key algorithm, whose hash is named apart
}

var signAlgos = map[string]signAlgo{
	"1.2.840.10045.2.1":     {keyECDSA, 0},             // id-ecPublicKey
	"1.2.840.10045.4.3.2":   {keyECDSA, crypto.SHA256}, // ecdsa-with-SHA256
	"1.2.840.10045.4.3.3":   {keyECDSA, crypto.SHA384},
	"1.2.840.10045.4.3.4":   {keyECDSA, crypto.SHA512},
	"1.2.840.113549.1.1.1":  {keyRSA, 0},             // rsaEncryption
	"1.2.840.113549.1.1.11": {keyRSA, crypto.SHA256}, // sha256WithRSAEncryption
	"1.2.840.113549.1.1.12": {keyRSA, crypto.SHA384},
	"1.2.840.113549.1.1.13": {keyRSA, crypto.SHA512},
}

func keyKind(pub crypto.PublicKey) keyType {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return keyECDSA
	case *rsa.PublicKey:
		return keyRSA
	}
	return keyOther
}

// signAlgosOf lists what a key of pub's kind signs with, for
// credentials/info: the signature algorithms first (SHA-256 the default).
func signAlgosOf(pub crypto.PublicKey) []string {
	switch keyKind(pub) {
	case keyECDSA:
		return []string{"1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4", "1.2.840.10045.2.1"}
	case keyRSA:
		return []string{"1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13", "1.2.840.113549.1.1.1"}
	}
	return []string{}
}

// errAlgo answers a hashAlgorithmOID or signAlgo that does not match the
// hashes or the credential's key.
func errAlgo() error { return kernel.E(kernel.Invalid, "signing.error.sign_algo") }
