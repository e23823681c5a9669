package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"strings"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/sealed"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
)

// OpenWallet builds the document wallet on the trust services: the types
// catalogue (built-in, and DATA/wallet/types/*.json), the status lists of
// each agency signed with its seal, and the wallet service; with a font,
// the documents' sealed PDFs too (nil: none); with a use log, the holdings
// queries about persons written to it. The caller closes the status store.
func OpenWallet(d *db.DB, clock kernel.Clock, box *sealed.Box, ca *pki.Service, reg *registry.Service, cfg config.Config, log *slog.Logger, font *pdf.Font, uses wallet.UseLog) (*wallet.Service, *statuslist.Store, error) {
	cat, err := wallet.LoadCatalogue(filepath.Join(cfg.DataDir, "wallet", "types"))
	if err != nil {
		return nil, nil, err
	}
	var w *wallet.Service
	status, err := statuslist.NewStore(statuslist.Options{DB: d, PublicURL: cfg.PublicURL, Clock: clock, Logger: log,
		Signer: func(ctx context.Context, group string) (statuslist.Signer, error) {
			agency, err := w.AgencyOfGroup(ctx, group)
			if err != nil {
				return statuslist.Signer{}, err
			}
			key, chain, err := ca.Seal(ctx, agency)
			if err != nil {
				return statuslist.Signer{}, err
			}
			// Named as the issuer metadata names the seal's key.
			jwk, err := jose.PublicJWK(key.Public())
			if err != nil {
				return statuslist.Signer{}, err
			}
			kid, err := jwk.Thumbprint()
			if err != nil {
				return statuslist.Signer{}, err
			}
			return statuslist.Signer{Key: key, Kid: kid, Issuer: strings.TrimSuffix(cfg.PublicURL, "/"),
				Header: map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(chain[0].Raw)}}}, nil
		}})
	if err != nil {
		return nil, nil, err
	}
	w, err = wallet.New(wallet.Options{DB: d, Clock: clock, Box: box, Catalogue: cat, Seals: WalletSeals(ca), Registries: reg, Status: status,
		Issuer: cfg.PublicURL, Logger: log, PDF: walletPDF(ca, clock, font), UseLog: uses})
	if err != nil {
		status.Close()
		return nil, nil, err
	}
	return w, status, nil
}

// walletSeals gives the wallet the agencies' seals from the trust
// services: an agency's key and chain (issued on first use), and the seals
// in use, whose keys the issuer metadata publishes.
type walletSeals struct{ ca *pki.Service }

var _ wallet.Seals = walletSeals{}

// WalletSeals is the wallet's adapter to the trust services' seals; the
// wallet's tests build the wallet on the real CA with it.
func WalletSeals(ca *pki.Service) wallet.Seals { return walletSeals{ca} }

func (s walletSeals) Seal(ctx context.Context, agencyCode string) (crypto.Signer, []*x509.Certificate, error) {
	return s.ca.Seal(ctx, agencyCode)
}

func (s walletSeals) Seals(ctx context.Context) ([]wallet.SealCertificate, error) {
	seals, err := s.ca.Seals(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]wallet.SealCertificate, len(seals))
	for i, sc := range seals {
		out[i] = wallet.SealCertificate{Agency: sc.Agency, Cert: sc.Cert}
	}
	return out, nil
}

// mountWallet serves what anyone may read — the status lists, the issuer
// metadata with the agencies' keys, the types' metadata — then the pages,
// the APIs and OpenID4VC.
func (a *App) mountWallet(box *sealed.Box) error {
	a.wallet.MountPublic(a.web)
	if err := a.mountWalletPages(); err != nil {
		return err
	}
	if err := a.mountWalletAPI(); err != nil {
		return err
	}
	return a.mountOpenID4VC(box)
}
