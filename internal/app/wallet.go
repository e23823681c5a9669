package app

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
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
// the documents' sealed PDFs too (nil: none). The caller closes the status
// store.
func OpenWallet(d *db.DB, clock kernel.Clock, box *sealed.Box, ca *pki.Service, reg *registry.Service, cfg config.Config, log *slog.Logger, font *pdf.Font) (*wallet.Service, *statuslist.Store, error) {
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
	w, err = wallet.New(wallet.Options{DB: d, Clock: clock, Box: box, Catalogue: cat, Seals: ca, Registries: reg, Status: status,
		Issuer: cfg.PublicURL, Logger: log, PDF: walletPDF(ca, clock, font)})
	if err != nil {
		status.Close()
		return nil, nil, err
	}
	return w, status, nil
}

// mountWallet serves what anyone may read — the status lists, the issuer
// metadata with the agencies' keys, the types' metadata — then the pages,
// the APIs and OpenID4VC.
func (a *App) mountWallet() error {
	a.status.Mount(a.web)
	a.web.HandleFunc("GET /.well-known/jwt-vc-issuer", func(w http.ResponseWriter, r *http.Request) {
		md, err := a.wallet.Metadata(r.Context())
		if err != nil {
			a.web.Error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		a.web.JSON(w, r, http.StatusOK, md)
	})
	a.web.HandleFunc("GET /wallet/types/{code}", func(w http.ResponseWriter, r *http.Request) {
		md, err := a.wallet.TypeMetadata(r.PathValue("code"))
		if err != nil {
			a.web.Error(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		a.web.JSON(w, r, http.StatusOK, md)
	})
	if err := a.mountWalletPages(); err != nil {
		return err
	}
	if err := a.mountWalletAPI(); err != nil {
		return err
	}
	return a.mountOpenID4VC()
}
