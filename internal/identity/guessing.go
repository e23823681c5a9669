package identity

import (
	"context"
	"net/netip"
	"time"

	"civitas/internal/db"
)

// Guesses at a secret (a password, a one-time code, an activation code) are
// counted three ways, so that nobody can guess freely and no stranger can
// lock the holder out (OWASP Authentication Cheat Sheet, "account lockout";
// Keycloak's brute-force detection):
//
//   - per account and client: five wrong guesses from one client lock that
//     client out of that account, for a minute and then twice as long at each
//     further failure, up to a day. The holder on their own client is not
//     concerned.
//   - per client, across accounts: more than ClientBudget wrong guesses
//     within ten minutes from one client (password spraying: one password
//     tried against many IDs) lock the client out of every account for ten
//     minutes. Support points, where many citizens share one address, get
//     SupportPointBudget.
//   - per account, from anywhere: from 50 wrong passwords within an hour, a
//     correct password is not enough: a one-time code (the authenticator app,
//     else a text message) is asked as well, until an hour after the last
//     wrong guess. This never locks anyone out. The holder is told by text
//     message when it starts.
//
// A client is the source address as the web layer found it (behind
// --trusted-proxies, the forwarded client), or its /64 for IPv6.
const (
	defaultClientBudget       = 30
	defaultSupportPointBudget = 300
	clientWindow              = 10 * time.Minute
	accountAlarmFailures      = 50
	accountAlarmWindow        = time.Hour
)

// clientName names a client in throttle keys.
func clientName(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64) // one host often has a whole /64
		return p.String()
	}
	return a.String()
}

// guessKeys are the throttle keys of guesses at one secret of one account
// from one client.
type guessKeys struct {
	client  netip.Addr
	pair    string // this account from this client
	budget  string // this client across accounts
	account string // this account from anywhere; "" when not watched
}

// passwordKeys are the keys of guesses at a citizen ID's password (and the
// one-time codes asked with it). The citizen ID, not the account, names
// them: an ID without an account counts the same.
func passwordKeys(citizenID string, client netip.Addr) guessKeys {
	c := clientName(client)
	return guessKeys{client: client, pair: "login:" + citizenID + "|" + c, budget: "client:" + c, account: "login-any:" + citizenID}
}

// budgetOf is the throttle of a client's guesses across accounts.
func (s *Service) budgetOf(client netip.Addr) *Throttle {
	client = client.Unmap()
	for _, p := range s.supportPoints {
		if p.Contains(client) {
			return s.supportBudget
		}
	}
	return s.clientBudget
}

// allowGuess refuses (TooManyRequests, with the wait) while the client is
// locked out of this account or out of every account, and reports whether
// the account as a whole is guessed at so much that a one-time code must be
// asked with a correct password.
func (s *Service) allowGuess(ctx context.Context, k guessKeys) (secondFactor bool, err error) {
	keys := []string{k.pair, k.budget}
	if k.account != "" {
		keys = append(keys, k.account)
	}
	locks, err := s.throttle.locks(ctx, keys...)
	if err != nil {
		return false, err
	}
	if wait := max(locks[k.pair], locks[k.budget]); wait > 0 {
		return false, lockedError(wait)
	}
	return k.account != "" && locks[k.account] > 0, nil
}

// failGuess counts a wrong guess under every key and returns the error to
// show: the lock when this guess locks the client out, else wrong. a is the
// account guessed at, nil when the ID has none; when this guess is the one
// that makes the account ask for a second factor, its holder is told.
func (s *Service) failGuess(ctx context.Context, k guessKeys, a *Account, wrong error) error {
	var lock time.Duration
	alarm := false
	err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		f, err := s.throttle.fail(ctx, tx, k.pair)
		if err != nil {
			return err
		}
		lock = f.lock
		if f, err = s.budgetOf(k.client).fail(ctx, tx, k.budget); err != nil {
			return err
		}
		lock = max(lock, f.lock)
		if k.account == "" {
			return nil
		}
		if f, err = s.accountAlarm.fail(ctx, tx, k.account); err != nil {
			return err
		}
		alarm = f.count == s.accountAlarm.MaxFailures && a != nil
		if alarm {
			return s.record(ctx, tx, a.ID, "login.guessed", "", nil)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if alarm && a.Phone != "" {
		s.send(ctx, a.Phone, s.text(a.lang, "identity.sms.guessed"))
	}
	if lock > 0 {
		return lockedError(lock)
	}
	return wrong
}

// succeedGuess clears the client's failures on this account after a correct
// guess, in tx. The client's budget across accounts and the account's count
// from anywhere stay: a correct guess of one's own account must not make
// room for more guesses at others'.
func (s *Service) succeedGuess(ctx context.Context, tx *db.Tx, k guessKeys) error {
	return s.throttle.Succeed(ctx, tx, k.pair)
}

// countFailure counts a wrong guess of a secret only the signed-in holder
// can try (a password asked again before a change, a code confirming an
// act) against key, and returns the error to show: the lock when this
// failure locks key, else err.
func (s *Service) countFailure(ctx context.Context, key string, err error) error {
	var lock time.Duration
	uerr := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		f, err := s.throttle.fail(ctx, tx, key)
		lock = f.lock
		return err
	})
	if uerr != nil {
		return uerr
	}
	if lock > 0 {
		return lockedError(lock)
	}
	return err
}
