package app

import (
	"context"
	"crypto/tls"
	"log/slog"

	"civitas/internal/config"
	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/notify"
	"civitas/internal/notify/smpp"
)

// OpenNotify builds the notification service the configuration names: the
// SMS driver of --sms (the demo outbox when --demo names none), e-mail
// when --smtp-addr is set. dir tells it accounts' phones. The returned
// function closes the SMS driver (an SMPP link unbinds).
func OpenNotify(cfg config.Config, d *db.DB, clock kernel.Clock, cat *i18n.Catalog, dir notify.Directory, log *slog.Logger) (*notify.Service, func(), error) {
	sms, closeSMS, err := smsDriver(cfg, d, clock, log)
	if err != nil {
		return nil, nil, kernel.E(kernel.Invalid, "notify.error.sms_config").WithCause(err)
	}
	var mail notify.Mailer
	if n := cfg.Notify; n.SMTPAddr != "" {
		m, err := notify.NewSMTP(notify.SMTPOptions{Addr: n.SMTPAddr, From: n.SMTPFrom, User: n.SMTPUser, Password: n.SMTPPassword, TLS: n.SMTPTLS})
		if err != nil {
			closeSMS()
			return nil, nil, kernel.E(kernel.Invalid, "notify.error.smtp_config").WithCause(err)
		}
		mail = m
	}
	svc, err := notify.New(notify.Options{DB: d, Clock: clock, Catalog: cat, SMS: sms, Mail: mail, Directory: dir,
		CountryCode: cfg.Notify.CountryCode, Logger: log})
	if err != nil {
		closeSMS()
		return nil, nil, err
	}
	return svc, closeSMS, nil
}

// smsDriver makes the driver of --sms.
func smsDriver(cfg config.Config, d *db.DB, clock kernel.Clock, log *slog.Logger) (notify.SMSDriver, func(), error) {
	n := cfg.Notify
	none := func() {}
	switch cfg.SMS {
	case "http":
		g, err := notify.NewHTTPGateway(notify.HTTPGatewayOptions{URL: n.HTTPURL, Method: n.HTTPMethod, Body: n.HTTPBody,
			ContentType: n.HTTPContentType, Auth: n.HTTPAuth, User: n.HTTPUser, Password: n.HTTPPassword, Token: n.HTTPToken,
			Brandname: n.Brandname, OKJSON: n.HTTPOKJSON, OKRegex: n.HTTPOKRegex, CountryCode: n.CountryCode, Timeout: n.HTTPTimeout})
		return g, none, err
	case "smpp":
		o := smpp.Options{Addr: n.SMPPAddr, SystemID: n.SMPPSystemID, Password: n.SMPPPassword, SystemType: n.SMPPSystemType,
			Source: n.Brandname, EnquireLink: n.SMPPEnquireLink, Timeout: n.SMPPTimeout, Logger: log}
		if n.SMPPASCII == "latin1" {
			o.ASCII = smpp.CodingLatin1
		}
		if n.SMPPTLS {
			o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c, err := smpp.New(o)
		if err != nil {
			return nil, none, err
		}
		return c, func() { _ = c.Close() }, nil
	case "outbox":
		return &notify.DemoOutbox{DB: d, Clock: clock}, none, nil
	case "":
		if cfg.Demo {
			return &notify.DemoOutbox{DB: d, Clock: clock}, none, nil
		}
	}
	// "log", or nothing named outside a demo (a test, a command; serve
	// refuses that): texts go nowhere and the log says so without them.
	return notify.LogSMS{Log: log}, none, nil
}

var _ notify.SMSDriver = (*smpp.Client)(nil)

// identitySMS gives identity its texts through notify. Every text identity
// sends is a one-time code or a warning about one, so each goes as a code:
// at once, stored nowhere, never logged.
type identitySMS struct{ n *notify.Service }

var _ identity.SMS = identitySMS{}

func (s identitySMS) Send(ctx context.Context, phone, text string) error {
	return s.n.Send(ctx, notify.Message{Kind: notify.KindCode, Phone: phone, Text: text})
}

// CommandSMS is the SMS of identity in operator commands, which text
// nobody: a log line says a text would have gone, never what it said.
func CommandSMS(log *slog.Logger) identity.SMS { return driverSMS{notify.LogSMS{Log: log}} }

type driverSMS struct{ d notify.SMSDriver }

func (s driverSMS) Send(ctx context.Context, phone, text string) error {
	return s.d.SendSMS(ctx, phone, text)
}

// accountPhones tells notify the phone on an account. It reads the app's
// identity service when asked: notify is built before identity, which
// texts through it.
type accountPhones struct{ a *App }

var _ notify.Directory = accountPhones{}

func (p accountPhones) Phone(ctx context.Context, accountID string) (string, error) {
	acc, err := p.a.identity.Account(ctx, accountID)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return acc.Phone, nil
}
