package app

import (
	"time"

	"civitas/internal/identity"
	"civitas/internal/wallet"
)

// shareThrottle limits guesses of share codes per client: 10 wrong codes
// in 15 minutes lock the client out for a minute, doubling to an hour. The
// codes have 40 bits, so this leaves a guesser nothing; a person mistyping
// has ten tries.
func shareThrottle(a *App) *identity.Throttle {
	return &identity.Throttle{DB: a.db, Clock: a.clock, MaxFailures: 10, Window: 15 * time.Minute, LockFor: time.Minute, MaxLock: time.Hour}
}

// mountWalletPages mounts the holder's pages, sharing by QR and the verifier pages.
func (a *App) mountWalletPages() error {
	public := a.web.PublicURL()
	if public == "" {
		public = a.cfg.PublicURL
	}
	return a.wallet.MountPages(wallet.PagesOptions{Web: a.web, Identity: a.identity, Registry: a.registry,
		Throttle: shareThrottle(a), PublicURL: public, Offer: a.offerDocument})
}
