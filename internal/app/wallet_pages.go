package app

import (
	"context"
	"time"

	"civitas/internal/identity"
	"civitas/internal/wallet"
)

// shareThrottle limits guesses of share codes per client: 10 wrong codes
// in 15 minutes lock the client out for a minute, doubling to an hour. The
// codes have 40 bits, so this leaves a guesser nothing; a person mistyping
// has ten tries.
var _ wallet.CodeThrottle = (*identity.Throttle)(nil)

func shareThrottle(a *App) *identity.Throttle {
	return &identity.Throttle{DB: a.db, Clock: a.clock, MaxFailures: 10, Window: 15 * time.Minute, LockFor: time.Minute, MaxLock: time.Hour}
}

// mountWalletPages mounts the holder's pages, sharing by QR and the verifier pages.
func (a *App) mountWalletPages() error {
	public := a.web.PublicURL()
	if public == "" {
		public = a.cfg.PublicURL
	}
	return a.wallet.MountPages(wallet.PagesOptions{Web: a.web, Accounts: WalletAccounts(a.identity), Registry: a.registry,
		Throttle: shareThrottle(a), PublicURL: public, Offer: a.offerDocument})
}

// walletAccounts gives the wallet's pages the e-ID: the signed-in account,
// the children it is guardian of, the organisations it acts for, and its
// posts as an official.
type walletAccounts struct {
	walletOfficials
}

var _ wallet.Accounts = walletAccounts{}

// WalletAccounts is the wallet's adapter to the e-ID; the wallet's tests
// serve its pages on the real e-ID with it.
func WalletAccounts(id *identity.Service) wallet.Accounts {
	return walletAccounts{walletOfficials{id}}
}

func (a walletAccounts) Account(ctx context.Context, id string) (wallet.Account, error) {
	acct, err := a.id.Account(ctx, id)
	if err != nil {
		return wallet.Account{}, err
	}
	return wallet.Account{ID: acct.ID, CitizenID: acct.CitizenID, Active: acct.Status == identity.StatusActive}, nil
}

func (a walletAccounts) Dependents(ctx context.Context, accountID string) ([]wallet.Dependent, error) {
	deps, err := a.id.Dependents(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]wallet.Dependent, len(deps))
	for i, d := range deps {
		out[i] = wallet.Dependent{CitizenID: d.Person.CitizenID, Name: d.Person.FullName}
	}
	return out, nil
}

func (a walletAccounts) Organisations(ctx context.Context, accountID string) ([]wallet.Membership, error) {
	orgs, err := a.id.Organisations(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]wallet.Membership, len(orgs))
	for i, o := range orgs {
		out[i] = wallet.Membership{ID: o.ID, RegNumber: o.RegNumber, Name: o.Name}
	}
	return out, nil
}

func (a walletAccounts) ActFor(ctx context.Context, accountID, whom string) (string, error) {
	subj, err := a.id.ActFor(ctx, accountID, whom)
	if err != nil {
		return "", err
	}
	return subj.Name, nil
}
