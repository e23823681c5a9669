package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"math/big"

	"civitas/internal/identity"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/signing"
)

// signingKeys gives remote signing the CA's keys: new credentials for
// level-2 holders, and a credential's key once its holder approved.
type signingKeys struct{ ca *pki.Service }

var _ signing.Keys = signingKeys{}

func (k signingKeys) Issue(ctx context.Context, citizenID string) (*x509.Certificate, error) {
	issued, err := k.ca.IssueCitizen(ctx, citizenID)
	if err != nil {
		return nil, err
	}
	return issued.Cert, nil
}

func (k signingKeys) Signer(ctx context.Context, serial *big.Int) (crypto.Signer, *x509.Certificate, error) {
	return k.ca.HolderSigner(ctx, serial)
}

// signingDirectory tells the signing pages whose account is signed in.
type signingDirectory struct {
	id  *identity.Service
	reg *registry.Service
}

var _ signing.Directory = signingDirectory{}

func (d signingDirectory) CitizenOf(ctx context.Context, accountID string) (string, string, error) {
	a, err := d.id.Account(ctx, accountID)
	if err != nil {
		return "", "", err
	}
	p, err := d.reg.Person(ctx, a.CitizenID)
	if err != nil {
		return "", "", err
	}
	return a.CitizenID, p.UnitCode, nil
}

// Signing returns remote signing.
func (a *App) Signing() *signing.Service { return a.signing }
