package app

import (
	"context"
	"net/http"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/wallet"
)

// mountWalletAPI mounts the agencies' issuance API, officials' issuance pages and the query for other capabilities.
func (a *App) mountWalletAPI() error {
	a.wallet.MountAPI(a.web, walletTokens{a.oidc})
	return a.wallet.MountOfficer(a.web, walletOfficials{a.identity})
}

// walletTokens verifies the access tokens agencies' systems call the
// wallet API with: tokens they got for themselves from the civitas OpenID
// Provider (client_credentials), bound to the agency of their client.
type walletTokens struct{ op *oidc.Provider }

var _ wallet.APITokens = walletTokens{}

func (t walletTokens) Verify(r *http.Request) (wallet.APIClient, error) {
	ct, err := t.op.VerifyClientToken(r)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Internal && !oidc.IsOAuthError(err) {
			return wallet.APIClient{}, err
		}
		// The OAuth error's description says what is wrong with the token.
		return wallet.APIClient{}, kernel.E(kernel.Unauthenticated, "walletapi.error.token").WithCause(err)
	}
	return wallet.APIClient{ID: ct.ClientID, Agency: ct.Agency, Scopes: ct.Scopes}, nil
}

// walletOfficials gives the officials' wallet pages (and the verifier
// page) the posts of an account, from the registry of officials.
type walletOfficials struct{ id *identity.Service }

var _ wallet.IssuingOfficials = walletOfficials{}

func (o walletOfficials) Posts(ctx context.Context, accountID string) ([]wallet.OfficialPost, error) {
	posts, err := o.id.Posts(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]wallet.OfficialPost, len(posts))
	for i, p := range posts {
		out[i] = wallet.OfficialPost{Agency: p.Agency, Role: p.Role}
	}
	return out, nil
}
