package notify

import (
	"context"
	"net/mail"
	"strings"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
)

// Channels is how a citizen wants to be told things besides the web
// inbox, which is always on.
type Channels struct {
	SMS          bool   // by text to the account's phone
	Email        bool   // by e-mail to EmailAddress
	EmailAddress string // "" until the citizen gives one
	Lang         string // language of their messages; "" = the default
}

// maxEmail bounds an address (RFC 5321: 254 octets in a path).
const maxEmail = 254

// Channels returns the signed-in citizen's channels, with the defaults
// when they never chose: SMS when the account has a phone, no e-mail.
func (s *Service) Channels(ctx context.Context) (Channels, bool, error) {
	who, err := citizen(ctx)
	if err != nil {
		return Channels{}, false, err
	}
	phone, err := s.o.Directory.Phone(ctx, who)
	if err != nil {
		return Channels{}, false, err
	}
	var c Channels
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		c, err = findChannels(ctx, tx, who, phone != "")
		return err
	})
	if err != nil {
		return Channels{}, false, kernel.Wrap(err, "notify: channels")
	}
	return c, phone != "", nil
}

// SetChannels records the signed-in citizen's choice. E-mail needs an
// address; SMS needs a phone on the account (it is kept off without one).
func (s *Service) SetChannels(ctx context.Context, c Channels) error {
	who, err := citizen(ctx)
	if err != nil {
		return err
	}
	c.EmailAddress = strings.TrimSpace(c.EmailAddress)
	if c.EmailAddress != "" {
		a, err := mail.ParseAddress(c.EmailAddress)
		if err != nil || a.Name != "" || a.Address != c.EmailAddress || len(c.EmailAddress) > maxEmail {
			return kernel.E(kernel.Invalid, "notify.error.email")
		}
	}
	if c.Email && c.EmailAddress == "" {
		return kernel.E(kernel.Invalid, "notify.error.email_needed")
	}
	if c.Lang != "" && !i18n.Supported(c.Lang) {
		return kernel.E(kernel.Invalid, "notify.error.lang")
	}
	phone, err := s.o.Directory.Phone(ctx, who)
	if err != nil {
		return err
	}
	c.SMS = c.SMS && phone != ""
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		if err := upsertChannels(ctx, tx, who, c); err != nil {
			return err
		}
		// Which channels, never the address.
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "notify.channels.set", SubjectType: "account", SubjectID: who,
			Details: map[string]any{"sms": c.SMS, "email": c.Email, "lang": c.Lang}})
		return err
	})
	if err != nil {
		return kernel.Wrap(err, "notify: set channels")
	}
	return nil
}

// citizen is the signed-in account acting for themselves.
func citizen(ctx context.Context) (string, error) {
	a := kernel.ActorFrom(ctx)
	if a.Kind != kernel.ActorCitizen || a.ID == "" {
		return "", kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	return a.ID, nil
}
