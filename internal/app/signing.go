package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"log/slog"
	"math/big"
	"net/http"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/oidc"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/signing"
)

// signingKeys gives remote signing the CA's keys: new credentials for
// level-2 holders, and a credential's key once its holder approved.
type signingKeys struct{ ca *pki.Service }

var (
	_ signing.Keys         = signingKeys{}
	_ signing.Certificates = signingKeys{}
)

func (k signingKeys) Issue(ctx context.Context, citizenID string) (*x509.Certificate, error) {
	issued, err := k.ca.IssueCitizen(ctx, citizenID)
	if err != nil {
		return nil, err
	}
	return issued.Cert, nil
}

// Withdraw revokes a certificate whose credential could not be recorded.
func (k signingKeys) Withdraw(ctx context.Context, serial *big.Int) error {
	err := k.ca.Revoke(ctx, serial, pki.Reasons["cessationOfOperation"])
	if kernel.ErrorCode(err) == kernel.Conflict {
		return nil // revoked already
	}
	return err
}

// CertStatus is what the issuing CA knows of a credential's certificate.
func (k signingKeys) CertStatus(ctx context.Context, serial *big.Int) (string, error) {
	return certStatus(ctx, k.ca, serial)
}

func certStatus(ctx context.Context, ca *pki.Service, serial *big.Int) (string, error) {
	for _, name := range pki.IssuingCAs {
		st, err := ca.Status(ctx, name, serial)
		if err != nil {
			return "", err
		}
		switch {
		case st.State == pki.Revoked && st.Reason == pki.ReasonHold:
			return signing.CertSuspended, nil
		case st.State == pki.Revoked:
			return signing.CertRevoked, nil
		case st.State == pki.Good:
			return signing.CertValid, nil
		}
	}
	return "", kernel.E(kernel.NotFound, "pki.error.no_certificate")
}

func (k signingKeys) Signer(ctx context.Context, serial *big.Int) (crypto.Signer, *x509.Certificate, error) {
	return k.ca.HolderSigner(ctx, serial)
}

// signingOfficials lets officials sign in their capacity: their posts, as
// the registry of officials holds them, and keys certified under the
// Officials CA (which checks the post again).
type signingOfficials struct {
	ca *pki.Service
	id *identity.Service
}

var _ signing.Officials = signingOfficials{}

func (o signingOfficials) Posts(ctx context.Context, accountID string) ([]signing.Capacity, error) {
	posts, err := o.id.Posts(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var out []signing.Capacity
	seen := map[string]bool{}
	for _, p := range posts {
		if seen[p.Agency.Code] {
			continue // one credential per agency: the CA names the post identity.Post picks
		}
		seen[p.Agency.Code] = true
		post, err := o.id.Post(ctx, accountID, p.Agency.Code)
		if err != nil {
			return nil, err
		}
		title, ok := roleTitles[post.Role]
		if !ok {
			title = string(post.Role)
		}
		out = append(out, signing.Capacity{AgencyCode: p.Agency.Code, AgencyName: p.Agency.Name, Title: title})
	}
	return out, nil
}

func (o signingOfficials) IssueOfficial(ctx context.Context, citizenID, agencyCode string) (*x509.Certificate, error) {
	issued, err := o.ca.IssueOfficial(ctx, citizenID, agencyCode)
	if err != nil {
		return nil, err
	}
	return issued.Cert, nil
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

// trust is what validation trusts: this province's root and the anchors
// the operator imported (civitas trust add), read for every validation.
func (a *App) trust(ctx context.Context) (pades.Trust, error) {
	pool, _, err := a.anchors.Roots(ctx)
	if err != nil {
		return pades.Trust{}, err
	}
	return pades.Trust{Roots: pool}, nil
}

// Signing returns remote signing.
func (a *App) Signing() *signing.Service { return a.signing }

// systemFont is the font visible signatures and the wallet's PDFs are drawn
// with: DejaVu Sans or Noto Sans from the system (Vietnamese and Arabic).
// Without one, signatures are offered invisible only and documents are not
// offered as PDFs.
func systemFont(log *slog.Logger) *pdf.Font {
	b, err := pdf.SystemFont()
	if err == nil {
		var f *pdf.Font
		if f, err = pdf.ParseFont(b); err == nil {
			return f
		}
	}
	log.Info("no system font (install fonts-dejavu-core): signatures are invisible and wallet documents are not offered as PDFs", slog.String("error", err.Error()))
	return nil
}
