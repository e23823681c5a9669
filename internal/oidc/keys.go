package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// Key rotation: a new key is published keyPublishAhead before it signs, so
// every instance and every relying party's cache knows it first; a key stays
// in the JWKS keyRetention after its successor started signing, longer than
// any token it signed lives; a key signs for keyLifetime.
const (
	keyLifetime     = 30 * 24 * time.Hour
	keyPublishAhead = 24 * time.Hour
	keyRetention    = 24 * time.Hour
	keyCacheTTL     = time.Minute
)

type signingKey struct {
	kid        string
	priv       *ecdsa.PrivateKey
	jwk        jose.JWK
	activeFrom time.Time
}

// keyring caches the signing keys; it reloads them every keyCacheTTL so a
// rotation made by another instance is seen.
type keyring struct {
	p      *Provider
	mu     sync.Mutex
	loaded time.Time
	keys   []signingKey // oldest first
	// forced is when a token naming an unknown key last made the ring
	// reload before its time: at most once a second, so tokens with made-up
	// key IDs cannot make every request read the database.
	forced time.Time
}

func (k *keyring) load(ctx context.Context) ([]signingKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.p.clock.Now()
	if k.keys != nil && now.Sub(k.loaded) < keyCacheTTL && !now.Before(k.loaded) {
		return k.keys, nil
	}
	stored, err := listKeys(ctx, k.p.db)
	if err != nil {
		return nil, kernel.Wrap(err, "oidc: load keys")
	}
	var keys []signingKey
	for _, row := range stored {
		kid, pub, from := row.kid, row.publicJWK, row.activeFrom
		raw, err := base64.StdEncoding.DecodeString(row.sealed)
		if err != nil {
			return nil, kernel.Wrap(err, "oidc: key %s", kid)
		}
		der, err := k.p.box.Open(raw, []byte("oidc-key:"+kid))
		if err != nil {
			return nil, kernel.Wrap(err, "oidc: key %s", kid)
		}
		priv, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, kernel.Wrap(err, "oidc: key %s", kid)
		}
		var jwk jose.JWK
		if err := json.Unmarshal([]byte(pub), &jwk); err != nil {
			return nil, kernel.Wrap(err, "oidc: key %s", kid)
		}
		keys = append(keys, signingKey{kid: kid, priv: priv, jwk: jwk, activeFrom: kernel.FromMicros(from)})
	}
	k.keys, k.loaded = keys, now
	return keys, nil
}

func (k *keyring) invalidate() {
	k.mu.Lock()
	k.keys = nil
	k.mu.Unlock()
}

// signer returns the key that signs now: the newest active one.
func (k *keyring) signer(ctx context.Context) (signingKey, error) {
	keys, err := k.load(ctx)
	if err != nil {
		return signingKey{}, err
	}
	now := k.p.clock.Now()
	for i := len(keys) - 1; i >= 0; i-- {
		if !keys[i].activeFrom.After(now) {
			return keys[i], nil
		}
	}
	return signingKey{}, kernel.Wrap(errors.New("no active signing key"), "oidc")
}

// published returns the JWKS: keys that sign now or soon, and retired keys
// whose tokens may still be alive.
func (k *keyring) published(ctx context.Context) (jose.JWKSet, error) {
	keys, err := k.load(ctx)
	if err != nil {
		return jose.JWKSet{}, err
	}
	now := k.p.clock.Now()
	set := jose.JWKSet{Keys: []jose.JWK{}}
	for i, key := range keys {
		// A key leaves once a newer key has been signing for keyRetention.
		retired := false
		for _, newer := range keys[i+1:] {
			if now.Sub(newer.activeFrom) >= keyRetention {
				retired = true
			}
		}
		if !retired {
			set.Keys = append(set.Keys, key.jwk)
		}
	}
	return set, nil
}

// verifyKey finds a published key by kid, for our own tokens. A kid this
// instance does not know yet (a key another instance published since this
// one last loaded) makes it reload once before it refuses.
func (k *keyring) verifyKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	pub, err := k.findKey(ctx, kid)
	if !errors.Is(err, jose.ErrInvalid) {
		return pub, err
	}
	k.mu.Lock()
	now := k.p.clock.Now()
	reload := now.Sub(k.forced) >= time.Second || now.Before(k.forced)
	if reload {
		k.forced, k.keys = now, nil
	}
	k.mu.Unlock()
	if !reload {
		return nil, err
	}
	return k.findKey(ctx, kid)
}

func (k *keyring) findKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	set, err := k.published(ctx)
	if err != nil {
		return nil, err
	}
	keys, _ := k.load(ctx)
	for _, key := range keys {
		if key.kid == kid {
			if _, ok := set.Find(kid); ok {
				return &key.priv.PublicKey, nil
			}
		}
	}
	return nil, jose.ErrInvalid
}

// ensure makes the first key when there is none.
func (k *keyring) ensure(ctx context.Context) error {
	keys, err := k.load(ctx)
	if err != nil || len(keys) > 0 {
		return err
	}
	return k.add(ctx, k.p.clock.Now())
}

// add stores a new ES256 key that signs from activeFrom, as the key job.
func (k *keyring) add(ctx context.Context, activeFrom time.Time) error {
	_, err := k.insert(kernel.WithActor(ctx, kernel.System("oidc.keys")), activeFrom, "oidc.key.add")
	return err
}

// insert makes, seals and stores a key that signs from activeFrom, with
// its audit record (action) by the actor in ctx.
func (k *keyring) insert(ctx context.Context, activeFrom time.Time, action string) (string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", kernel.Wrap(err, "oidc: new key")
	}
	jwk, err := jose.PublicJWK(&priv.PublicKey)
	if err != nil {
		return "", kernel.Wrap(err, "oidc: new key")
	}
	if jwk.Kid, err = jwk.Thumbprint(); err != nil {
		return "", kernel.Wrap(err, "oidc: new key")
	}
	jwk.Use, jwk.Alg = "sig", "ES256"
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return "", kernel.Wrap(err, "oidc: new key")
	}
	pub, _ := json.Marshal(jwk)
	sealedKey := base64.StdEncoding.EncodeToString(k.p.box.Seal(der, []byte("oidc-key:"+jwk.Kid)))
	err = k.p.db.Update(ctx, k.p.clock.Now(), func(tx *db.Tx) error {
		if err := insertKey(ctx, tx, keyRow{kid: jwk.Kid, sealed: sealedKey, publicJWK: string(pub), activeFrom: kernel.Micros(activeFrom)}); err != nil {
			return err
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: action, SubjectType: "oidc_key", SubjectID: jwk.Kid,
			Details: map[string]any{"active_from": activeFrom.Format(time.RFC3339)}})
		return err
	})
	if err != nil {
		return "", kernel.Wrap(err, "oidc: store key")
	}
	k.invalidate()
	return jwk.Kid, nil
}

// RotateKeys is the daily key job: when the signing key is near the end of
// its lifetime and no successor is published yet, it publishes one that
// starts signing keyPublishAhead later; keys out of the JWKS for good are
// deleted. Running it twice does no harm.
func (p *Provider) RotateKeys(ctx context.Context) error {
	p.keys.invalidate()
	keys, err := p.keys.load(ctx)
	if err != nil {
		return err
	}
	now := p.clock.Now()
	newest := keys[len(keys)-1]
	if newest.activeFrom.After(now) {
		return nil // a successor is already published
	}
	if now.Sub(newest.activeFrom) >= keyLifetime-keyPublishAhead {
		if err := p.keys.add(ctx, now.Add(keyPublishAhead)); err != nil {
			return err
		}
	}
	// Forget keys that left the JWKS a retention period ago.
	var old []string
	for i, key := range keys {
		for _, newer := range keys[i+1:] {
			if now.Sub(newer.activeFrom) >= 2*keyRetention {
				old = append(old, key.kid)
				break
			}
		}
	}
	if len(old) == 0 {
		return nil
	}
	ctx = kernel.WithActor(ctx, kernel.System("oidc.keys"))
	err = p.db.Update(ctx, now, func(tx *db.Tx) error {
		for _, kid := range old {
			if err := deleteKey(ctx, tx, kid); err != nil {
				return err
			}
			if _, err := audit.Append(ctx, tx, audit.Entry{Action: "oidc.key.delete", SubjectType: "oidc_key", SubjectID: kid}); err != nil {
				return err
			}
		}
		return nil
	})
	p.keys.invalidate()
	return err
}

// setting returns a sealed random secret by name, creating it on first use.
func (p *Provider) setting(ctx context.Context, name string) ([]byte, error) {
	aad := []byte("oidc-setting:" + name)
	read := func() ([]byte, error) {
		v, err := findSetting(ctx, p.db, name)
		if err != nil {
			return nil, err
		}
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, err
		}
		return p.box.Open(raw, aad)
	}
	v, err := read()
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, kernel.Wrap(err, "oidc: setting %s", name)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, kernel.Wrap(err, "oidc: setting %s", name)
	}
	err = p.db.Update(ctx, p.clock.Now(), func(tx *db.Tx) error {
		return insertSetting(ctx, tx, name, base64.StdEncoding.EncodeToString(p.box.Seal(secret, aad)))
	})
	if err != nil && !db.IsUniqueViolation(err) {
		return nil, kernel.Wrap(err, "oidc: setting %s", name)
	}
	if v, err = read(); err != nil { // another instance may have won the race
		return nil, kernel.Wrap(err, "oidc: setting %s", name)
	}
	return v, nil
}
