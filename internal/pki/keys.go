package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/sealed"
)

// Algorithm names a key type.
type Algorithm string

// The key types civitas makes: ECDSA P-256 by default, RSA-3072 where a
// relying party still needs RSA.
const (
	ECDSAP256 Algorithm = "ecdsa-p256"
	RSA3072   Algorithm = "rsa-3072"
)

// ParseAlgorithm reads an algorithm name; empty means ECDSAP256.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch Algorithm(s) {
	case "", ECDSAP256:
		return ECDSAP256, nil
	case RSA3072:
		return RSA3072, nil
	}
	return "", kernel.E(kernel.Invalid, "pki.error.bad_algorithm")
}

// KeyBackend makes keys and finds them again by label. A key is generated
// inside the backend and never leaves it: callers get a crypto.Signer.
type KeyBackend interface {
	// Name is stored beside each key ("software", "pkcs11").
	Name() string
	// Generate makes a new key under label; a label in use is a Conflict.
	Generate(ctx context.Context, label string, alg Algorithm) (crypto.Signer, error)
	// Load finds the key of label; an unknown label is NotFound.
	Load(ctx context.Context, label string) (crypto.Signer, error)
}

// Software keeps private keys in the database, sealed under the
// key-encryption key: whoever has the database but not that key cannot
// sign. The label is the associated data, so a sealed key moved to another
// label does not open.
type Software struct {
	DB    *db.DB
	Box   *sealed.Box
	Clock kernel.Clock
}

// Name implements KeyBackend.
func (Software) Name() string { return "software" }

func generate(alg Algorithm) (crypto.Signer, error) {
	switch alg {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	}
	return nil, kernel.E(kernel.Invalid, "pki.error.bad_algorithm")
}

func aad(label string) []byte { return []byte("pki-key:" + label) }

// Generate implements KeyBackend.
func (s Software) Generate(ctx context.Context, label string, alg Algorithm) (crypto.Signer, error) {
	key, err := generate(alg)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: encode key")
	}
	sealedKey := base64.StdEncoding.EncodeToString(s.Box.Seal(der, aad(label)))
	clear(der)
	err = s.DB.Update(ctx, s.Clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO pki_keys (label, backend, algorithm, private_sealed, created_at) VALUES (?, ?, ?, ?, ?)`,
			label, s.Name(), string(alg), sealedKey, kernel.Micros(tx.Now))
		return err
	})
	if db.IsUniqueViolation(err) {
		return nil, kernel.E(kernel.Conflict, "pki.error.key_exists")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "pki: store key")
	}
	return key, nil
}

// Load implements KeyBackend.
func (s Software) Load(ctx context.Context, label string) (crypto.Signer, error) {
	var backend, sealedKey string
	err := s.DB.QueryRow(ctx, `SELECT backend, private_sealed FROM pki_keys WHERE label = ?`, label).Scan(&backend, &sealedKey)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kernel.E(kernel.NotFound, "pki.error.no_key")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "pki: read key")
	}
	if backend != s.Name() {
		return nil, kernel.Wrap(fmt.Errorf("key %s is in the %s backend", label, backend), "pki")
	}
	raw, err := base64.StdEncoding.DecodeString(sealedKey)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: key %s", label)
	}
	der, err := s.Box.Open(raw, aad(label))
	if err != nil {
		return nil, kernel.Wrap(err, "pki: key %s does not open with this key-encryption key", label)
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, kernel.Wrap(err, "pki: key %s", label)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, kernel.Wrap(fmt.Errorf("key %s cannot sign", label), "pki")
	}
	return signer, nil
}
