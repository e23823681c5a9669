package oidc

import (
	"context"
	"time"

	"civitas/internal/kernel"
)

// MinPublishAhead is the shortest time an operator's new signing key is
// published before it signs: every instance reloads its keys within
// keyCacheTTL, so twice that has every instance know the key before any
// token it signs reaches them. Relying parties that cache the JWKS longer
// refetch it on an unknown kid (OpenID Connect Core §10.1.1); the default
// gives them a day.
const MinPublishAhead = 2 * keyCacheTTL

// DefaultPublishAhead is how long before it signs a rotated key is
// published, by default.
const DefaultPublishAhead = keyPublishAhead

// Key states, as KeyInfo tells them.
const (
	KeyNext     = "next"     // published, signs from ActiveFrom
	KeySigning  = "signing"  // signs new tokens
	KeyRetiring = "retiring" // a newer key signs; published while its tokens may live
	KeyRetired  = "retired"  // no longer published; deleted by the key job
)

// KeyInfo is a signing key as an operator sees it (never the key).
type KeyInfo struct {
	Kid        string
	ActiveFrom time.Time
	State      string
}

// Keys lists the provider's signing keys, oldest first.
func (p *Provider) Keys(ctx context.Context) ([]KeyInfo, error) {
	p.keys.invalidate()
	keys, err := p.keys.load(ctx)
	if err != nil {
		return nil, err
	}
	set, err := p.keys.published(ctx)
	if err != nil {
		return nil, err
	}
	now := p.clock.Now()
	signer := -1
	for i := len(keys) - 1; i >= 0; i-- {
		if !keys[i].activeFrom.After(now) {
			signer = i
			break
		}
	}
	out := make([]KeyInfo, len(keys))
	for i, k := range keys {
		state := KeyRetiring
		_, published := set.Find(k.kid)
		switch {
		case i == signer:
			state = KeySigning
		case k.activeFrom.After(now):
			state = KeyNext
		case !published:
			state = KeyRetired
		}
		out[i] = KeyInfo{Kid: k.kid, ActiveFrom: k.activeFrom, State: state}
	}
	return out, nil
}

// Rotate publishes a new signing key now that signs from ahead later
// (at least MinPublishAhead): the operator's rotation, without downtime.
// Tokens signed with the key it replaces verify until they expire, since
// that key stays published for a day after its successor starts. It is
// audited as oidc.key.rotate by the operator in ctx. A successor already
// published and not yet signing is a Conflict.
func (p *Provider) Rotate(ctx context.Context, ahead time.Duration) (KeyInfo, error) {
	if ahead < MinPublishAhead {
		return KeyInfo{}, kernel.E(kernel.Invalid, "oidc.error.rotate_ahead", MinPublishAhead.String())
	}
	keys, err := p.Keys(ctx)
	if err != nil {
		return KeyInfo{}, err
	}
	for _, k := range keys {
		if k.State == KeyNext {
			return KeyInfo{}, kernel.E(kernel.Conflict, "oidc.error.rotate_pending", k.Kid, k.ActiveFrom.Format(time.RFC3339))
		}
	}
	from := p.clock.Now().Add(ahead)
	kid, err := p.keys.insert(ctx, from, "oidc.key.rotate")
	if err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{Kid: kid, ActiveFrom: from, State: KeyNext}, nil
}
