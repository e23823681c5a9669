package pki

import (
	"context"
	"crypto"
	"database/sql"
	"errors"
	"fmt"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/pki/pkcs11"
)

// PKCS11 keeps keys in a PKCS#11 token (an HSM, or SoftHSM2 in tests). The
// key is made inside the token, sensitive and not extractable; the database
// holds only its label, so that the CA knows which backend to ask.
type PKCS11 struct {
	DB    *db.DB
	Token *pkcs11.Token
	Clock kernel.Clock
}

// Name implements KeyBackend.
func (PKCS11) Name() string { return "pkcs11" }

// Generate implements KeyBackend. The label row is written first: a crash
// between the two steps leaves a row without a key (Load says so) rather
// than a key in the token nobody knows of.
func (p PKCS11) Generate(ctx context.Context, label string, alg Algorithm) (crypto.Signer, error) {
	if _, err := ParseAlgorithm(string(alg)); err != nil {
		return nil, err
	}
	err := p.DB.Update(ctx, p.Clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO pki_keys (label, backend, algorithm, created_at) VALUES (?, ?, ?, ?)`,
			label, p.Name(), string(alg), kernel.Micros(tx.Now))
		return err
	})
	if db.IsUniqueViolation(err) {
		return nil, kernel.E(kernel.Conflict, "pki.error.key_exists")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "pki: store key label")
	}
	return p.Token.Generate(label, pkcs11.Algorithm(alg))
}

// Load implements KeyBackend.
func (p PKCS11) Load(_ context.Context, label string) (crypto.Signer, error) {
	return p.Token.Find(label)
}

// KeyRing makes new keys in one backend and finds each existing key in the
// backend that made it, as pki_keys records. A province that moves its CA
// to an HSM keeps the software keys it had until they are renewed.
type KeyRing struct {
	DB       *db.DB
	New      KeyBackend   // where Generate makes keys
	Backends []KeyBackend // every backend that may hold a key, New included
}

// Name implements KeyBackend.
func (k KeyRing) Name() string { return k.New.Name() }

// Generate implements KeyBackend.
func (k KeyRing) Generate(ctx context.Context, label string, alg Algorithm) (crypto.Signer, error) {
	return k.New.Generate(ctx, label, alg)
}

// Load implements KeyBackend.
func (k KeyRing) Load(ctx context.Context, label string) (crypto.Signer, error) {
	var backend string
	err := k.DB.QueryRow(ctx, `SELECT backend FROM pki_keys WHERE label = ?`, label).Scan(&backend)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kernel.E(kernel.NotFound, "pki.error.no_key")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "pki: read key")
	}
	for _, b := range k.Backends {
		if b.Name() == backend {
			return b.Load(ctx, label)
		}
	}
	return nil, kernel.Wrap(fmt.Errorf("key %s is in the %s backend, which is not configured (--key-backend, --pkcs11-module)", label, backend), "pki")
}
