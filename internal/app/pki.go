package app

import (
	"context"
	"errors"
	"log/slog"

	"civitas/internal/config"

	"civitas/internal/db"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/pki/pkcs11"
	"civitas/internal/registry"
	"civitas/internal/sealed"
)

// OpenPKI opens the trust services on d with the given key backend; the
// operator commands use it as serve does.
func OpenPKI(ctx context.Context, d *db.DB, clock kernel.Clock, box *sealed.Box, keys pki.KeyBackend, cfg config.Config, log *slog.Logger) (*pki.Service, error) {
	reg := registry.New(d, clock)
	id, err := identity.New(identity.Options{DB: d, Clock: clock, Registry: reg, Box: box, SMS: CommandSMS(log), Logger: log})
	if err != nil {
		return nil, err
	}
	return pki.New(ctx, pki.Options{DB: d, Clock: clock, Keys: keys, PublicURL: cfg.PublicURL, Algorithm: pki.Algorithm(cfg.KeyAlgorithm), Holders: pkiHolders{id: id, reg: reg},
		Officers: pkiOfficers{id: id, reg: reg}, Organisations: pkiHolders{id: id, reg: reg}, Logger: log})
}

// OpenKeys returns the CA's key backends as the configuration names them:
// software keys always open (they are sealed under the key-encryption key);
// a PKCS#11 token opens when a module is configured, and new keys go where
// --key-backend says. The returned function logs out of the token.
func OpenKeys(cfg config.Config, d *db.DB, clock kernel.Clock, box *sealed.Box) (pki.KeyBackend, func(), error) {
	soft := pki.Software{DB: d, Box: box, Clock: clock}
	ring := pki.KeyRing{DB: d, New: soft, Backends: []pki.KeyBackend{soft}}
	if cfg.PKCS11Module == "" {
		if cfg.KeyBackend == "pkcs11" {
			return nil, nil, errors.New("--key-backend pkcs11 needs --pkcs11-module, --pkcs11-token and a PIN")
		}
		return ring, func() {}, nil
	}
	tok, err := pkcs11.Open(pkcs11.Config{Module: cfg.PKCS11Module, TokenLabel: cfg.PKCS11Token, PIN: cfg.PKCS11PIN})
	if err != nil {
		return nil, nil, err
	}
	hsm := pki.PKCS11{DB: d, Token: tok, Clock: clock}
	ring.Backends = append(ring.Backends, hsm)
	if cfg.KeyBackend == "pkcs11" {
		ring.New = hsm
	}
	return ring, func() { _ = tok.Close() }, nil
}

// pkiHolders tells the CA who may hold a citizen certificate: an active
// e-ID account, its level, and the name the population registry holds.
type pkiHolders struct {
	id  *identity.Service
	reg *registry.Service
}

var _ pki.Holders = pkiHolders{}

func (h pkiHolders) Holder(ctx context.Context, citizenID string) (pki.Holder, error) {
	a, err := h.id.AccountByCitizen(ctx, citizenID)
	if err != nil {
		return pki.Holder{}, err
	}
	if a.Status != identity.StatusActive {
		return pki.Holder{}, kernel.E(kernel.Forbidden, "pki.error.account_inactive")
	}
	p, err := h.reg.Person(ctx, a.CitizenID)
	if err != nil {
		return pki.Holder{}, err
	}
	return pki.Holder{AccountID: a.ID, CitizenID: a.CitizenID, Name: p.FullName, Level: a.Level}, nil
}

var _ pki.Organisations = pkiHolders{}

// Official finds an official at a post: an active e-ID account and a post
// at the agency in the registry of officials.
func (h pkiHolders) Official(ctx context.Context, citizenID, agencyCode string) (pki.Official, error) {
	holder, err := h.Holder(ctx, citizenID)
	if err != nil {
		return pki.Official{}, err
	}
	post, err := h.id.Post(ctx, holder.AccountID, agencyCode)
	if err != nil {
		return pki.Official{}, err
	}
	title, ok := roleTitles[post.Role]
	if !ok {
		title = string(post.Role)
	}
	return pki.Official{Holder: holder, AgencyCode: post.Agency.Code, AgencyName: post.Agency.Name, Role: title}, nil
}

// roleTitles are the titles officials' certificates carry, in Vietnamese:
// a certificate is a legal record, in the official language whatever the
// reader's.
var roleTitles = map[registry.Role]string{
	registry.Chairman:       "Chủ tịch",
	registry.ViceChairman:   "Phó Chủ tịch",
	registry.OneStopOfficer: "Công chức Bộ phận Một cửa",
	registry.CivilClerk:     "Công chức Tư pháp - Hộ tịch",
	registry.PoliceOfficer:  "Cán bộ Công an",
	registry.Officer:        "Cán bộ",
	registry.Director:       "Giám đốc",
}

// Agency finds an agency in the registry.
func (h pkiHolders) Agency(ctx context.Context, code string) (pki.Agency, error) {
	a, err := h.reg.Agency(ctx, code)
	if err != nil {
		return pki.Agency{}, err
	}
	return pki.Agency{Code: a.Code, Name: a.Name}, nil
}

// PKI returns the trust services.
func (a *App) PKI() *pki.Service { return a.pki }

// pkiOfficers lets police officers and one-stop officers act on the
// certificates of people living in their area, as they enrol them.
type pkiOfficers struct {
	id  *identity.Service
	reg *registry.Service
}

var _ pki.Officers = pkiOfficers{}

func (o pkiOfficers) MayActFor(ctx context.Context, officerAccountID, agencyCode, holderAccountID string) error {
	post, err := o.id.Post(ctx, officerAccountID, agencyCode)
	if err != nil {
		return err
	}
	if !post.CanEnrol() {
		return kernel.E(kernel.Forbidden, "error.identity.not_officer")
	}
	a, err := o.id.Account(ctx, holderAccountID)
	if err != nil {
		return err
	}
	p, err := o.reg.Person(ctx, a.CitizenID)
	if err != nil {
		return err
	}
	in, err := o.reg.Within(ctx, p.UnitCode, post.Area())
	if err != nil {
		return err
	}
	if !in {
		return kernel.E(kernel.Forbidden, "error.identity.outside_area")
	}
	return nil
}
