package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"math/big"
	"net/http"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/pades"
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

func (k signingKeys) Chain(ctx context.Context, serial *big.Int) ([]*x509.Certificate, error) {
	return k.ca.Chain(ctx, serial)
}

// signingTokens verifies the access tokens applications call the signing
// APIs with: tokens of the civitas OpenID Provider.
type signingTokens struct{ op *oidc.Provider }

func (t signingTokens) Verify(r *http.Request) (signing.Token, error) {
	ti, err := t.op.VerifyAccessToken(r)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Internal && !oidc.IsOAuthError(err) {
			return signing.Token{}, err
		}
		// The OAuth error's description says what is wrong with the token.
		return signing.Token{}, kernel.E(kernel.Unauthenticated, "signing.error.token").WithCause(err)
	}
	return signing.Token{AccountID: ti.AccountID, ClientID: ti.ClientID, Scopes: ti.Scopes}, nil
}

// trust is what validation trusts: this province's root. (Importing other
// anchors — the national root CA, other provinces — is a configuration
// still to come.)
func (a *App) trust(context.Context) (pades.Trust, error) {
	root, err := a.pki.CA(pki.Root)
	if err != nil {
		return pades.Trust{}, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	return pades.Trust{Roots: pool}, nil
}

// Signing returns remote signing.
func (a *App) Signing() *signing.Service { return a.signing }
