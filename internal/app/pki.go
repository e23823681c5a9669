package app

import (
	"context"
	"log/slog"

	"civitas/internal/db"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/sealed"
)

// OpenPKI opens the trust services on d with the software key backend; the
// operator commands use it as serve does.
func OpenPKI(ctx context.Context, d *db.DB, clock kernel.Clock, box *sealed.Box, publicURL string, log *slog.Logger) (*pki.Service, error) {
	reg := registry.New(d, clock)
	id, err := identity.New(identity.Options{DB: d, Clock: clock, Registry: reg, Box: box, SMS: identity.LogSMS{Log: log}, Logger: log})
	if err != nil {
		return nil, err
	}
	return pki.New(ctx, pki.Options{DB: d, Clock: clock, Keys: pki.Software{DB: d, Box: box, Clock: clock},
		PublicURL: publicURL, Holders: pkiHolders{id: id, reg: reg}, Officers: pkiOfficers{id: id, reg: reg}, Logger: log})
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
