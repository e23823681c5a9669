package notify

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
)

// Kind says how a message travels.
type Kind string

// The kinds of messages.
const (
	// KindCode is a one-time code: sent now, synchronously, by text (or
	// e-mail when there is no phone), and stored nowhere.
	KindCode Kind = "code"
	// KindNotice goes to the inbox and is queued for the other channels
	// the recipient chose.
	KindNotice Kind = "notice"
)

// Message is something to tell someone.
type Message struct {
	Kind Kind
	// AccountID is the recipient's account: their inbox, channels,
	// language and phone. Empty for someone without an account yet (a
	// registration code), who is reached at Phone or Email alone.
	AccountID string
	Phone     string // overrides the account's phone
	Email     string // overrides the address the account chose
	// Lang is the language for a recipient who chose none (default vi).
	Lang string
	// Template is the catalogue key of the text; its e-mail subject and
	// inbox title is Template+".subject" when the catalogue has one.
	Template string
	Args     []string
	// Text is a text its sender wrote whole, used when Template is empty
	// (identity writes its codes in Vietnamese and English at once).
	Text string
}

// SMSDriver sends a text message. phone is a number in international
// form without "+" (84912345678). An error that has a Permanent() bool
// method returning true will not succeed on a retry.
type SMSDriver interface {
	SendSMS(ctx context.Context, phone, text string) error
}

// Mailer sends a plain-text e-mail.
type Mailer interface {
	SendMail(ctx context.Context, to, subject, body string) error
}

// Directory is what notify asks of accounts: the phone on file.
type Directory interface {
	// Phone returns the account's phone number, "" when it has none.
	Phone(ctx context.Context, accountID string) (string, error)
}

// Options configure a Service.
type Options struct {
	DB        *db.DB
	Clock     kernel.Clock
	Catalog   *i18n.Catalog
	SMS       SMSDriver
	Mail      Mailer // nil: no e-mail channel
	Directory Directory
	// CountryCode is prefixed to national numbers (0912...): "84" if empty.
	CountryCode string
	Logger      *slog.Logger
}

// Service sends messages and keeps inboxes.
type Service struct {
	o     Options
	nudge chan struct{}
}

// New returns the notification service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Clock == nil || o.Catalog == nil || o.SMS == nil || o.Directory == nil {
		return nil, errors.New("notify: DB, Clock, Catalog, SMS and Directory are required")
	}
	if o.CountryCode == "" {
		o.CountryCode = "84"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{o: o, nudge: make(chan struct{}, 1)}, nil
}

// EmailEnabled says whether e-mail can be sent.
func (s *Service) EmailEnabled() bool { return s.o.Mail != nil }

// DemoOutbox returns the SMS driver when it is the demo outbox.
func (s *Service) DemoOutbox() (*DemoOutbox, bool) {
	d, ok := s.o.SMS.(*DemoOutbox)
	return d, ok
}

func errNoChannel() error { return kernel.E(kernel.Invalid, "notify.error.no_channel") }

// recipient is where and how a message goes, as settled when it is sent.
type recipient struct {
	phone string // international digits, "" when none
	email string
	lang  string
	ch    Channels
}

// Send delivers m: a code at once (its error says whether it left), a
// notice into the inbox and the outbox in one transaction (the outbox
// then sends it).
func (s *Service) Send(ctx context.Context, m Message) error {
	if err := s.check(m); err != nil {
		return err
	}
	if m.Kind == KindCode {
		return s.sendCode(ctx, m)
	}
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		return s.queue(ctx, tx, m)
	})
	if err != nil {
		return err
	}
	s.wake()
	return nil
}

// Queue writes notice m in tx, the caller's transaction, so that it is
// sent if and only if the change it tells of commits. The worker picks it
// up within its poll.
func (s *Service) Queue(ctx context.Context, tx *db.Tx, m Message) error {
	if err := s.check(m); err != nil {
		return err
	}
	if m.Kind != KindNotice {
		return kernel.Wrap(errors.New("only notices are queued"), "notify: queue")
	}
	return s.queue(ctx, tx, m)
}

func (s *Service) check(m Message) error {
	switch {
	case m.Kind != KindCode && m.Kind != KindNotice:
		return kernel.Wrap(errors.New("unknown kind "+string(m.Kind)), "notify: send")
	case m.Template == "" && m.Text == "":
		return kernel.Wrap(errors.New("no template and no text"), "notify: send")
	case m.Template != "" && !s.o.Catalog.Has(m.Template):
		return kernel.Wrap(errors.New("template "+m.Template+" not in the catalogue"), "notify: send")
	case m.AccountID == "" && m.Phone == "" && m.Email == "":
		return errNoChannel()
	}
	return nil
}

// render gives m's subject and text in lang.
func (s *Service) render(m Message, lang string) (subject, text string) {
	if m.Template == "" {
		return s.o.Catalog.T(lang, "notify.subject.default"), m.Text
	}
	args := make([]any, len(m.Args))
	for i, a := range m.Args {
		args[i] = a
	}
	text = s.o.Catalog.T(lang, m.Template, args...)
	if key := m.Template + ".subject"; s.o.Catalog.Has(key) {
		return s.o.Catalog.T(lang, key, args...), text
	}
	return s.o.Catalog.T(lang, "notify.subject.default"), text
}

// resolve finds where m goes, reading the account's channels in tx (nil:
// outside a transaction).
func (s *Service) resolve(ctx context.Context, tx *db.Tx, m Message) (recipient, error) {
	r := recipient{lang: m.Lang}
	phone := m.Phone
	if m.AccountID != "" {
		if phone == "" {
			p, err := s.o.Directory.Phone(ctx, m.AccountID)
			if err != nil {
				return recipient{}, err
			}
			phone = p
		}
		var err error
		if tx != nil {
			r.ch, err = findChannels(ctx, tx, m.AccountID, phone != "")
		} else {
			err = s.o.DB.View(ctx, func(tx *db.Tx) error {
				r.ch, err = findChannels(ctx, tx, m.AccountID, phone != "")
				return err
			})
		}
		if err != nil {
			return recipient{}, kernel.Wrap(err, "notify: channels")
		}
		if r.ch.Lang != "" {
			r.lang = r.ch.Lang
		}
		r.email = r.ch.EmailAddress
	} else {
		r.ch = Channels{SMS: phone != "", Email: m.Email != ""}
	}
	if m.Email != "" {
		r.email = m.Email
	}
	if phone != "" {
		p, err := NormalizePhone(phone, s.o.CountryCode)
		if err != nil {
			return recipient{}, err
		}
		r.phone = p
	}
	if !i18n.Supported(r.lang) {
		r.lang = i18n.Default
	}
	return r, nil
}

// sendCode sends a one-time code now: by text when there is a phone,
// else by e-mail. Nothing of it is stored or logged.
func (s *Service) sendCode(ctx context.Context, m Message) error {
	r, err := s.resolve(ctx, nil, m)
	if err != nil {
		return err
	}
	subject, text := s.render(m, r.lang)
	start := time.Now()
	channel := "sms"
	switch {
	case r.phone != "":
		err = s.o.SMS.SendSMS(ctx, r.phone, text)
	case r.email != "" && s.o.Mail != nil:
		channel = "email"
		err = s.o.Mail.SendMail(ctx, r.email, subject, text)
	default:
		return errNoChannel()
	}
	attrs := []slog.Attr{slog.String("channel", channel), slog.String("kind", string(KindCode)),
		slog.Duration("took", time.Since(start)), slog.String("request_id", kernel.RequestIDFrom(ctx))}
	if channel == "sms" {
		attrs = append(attrs, slog.String("to", PhoneTail(r.phone)))
	}
	if err != nil {
		s.o.Logger.LogAttrs(ctx, slog.LevelWarn, "notify: code not sent", append(attrs, slog.String("error", err.Error()))...)
		return kernel.E(kernel.Unavailable, "notify.error.not_sent").WithCause(err)
	}
	s.o.Logger.LogAttrs(ctx, slog.LevelInfo, "notify: code sent", attrs...)
	return nil
}

// queue writes a notice in tx: into the account's inbox, and into the
// outbox for each other channel the recipient has.
func (s *Service) queue(ctx context.Context, tx *db.Tx, m Message) error {
	r, err := s.resolve(ctx, tx, m)
	if err != nil {
		return err
	}
	wrote := false
	if m.AccountID != "" {
		args, err := json.Marshal(m.Args)
		if err != nil {
			return kernel.Wrap(err, "notify: inbox")
		}
		if err := insertInbox(ctx, tx, inboxRow{id: kernel.NewOrderedID(tx.Now), accountID: m.AccountID,
			template: m.Template, args: string(args), text: m.Text, createdAt: tx.Now}); err != nil {
			return kernel.Wrap(err, "notify: inbox")
		}
		wrote = true
	}
	subject, text := s.render(m, r.lang)
	if r.ch.SMS && r.phone != "" {
		if err := insertOutbox(ctx, tx, outboxRow{id: kernel.NewID(), accountID: m.AccountID, channel: channelSMS,
			address: r.phone, template: templateName(m), body: text, createdAt: tx.Now}); err != nil {
			return kernel.Wrap(err, "notify: outbox")
		}
		wrote = true
	}
	if r.ch.Email && r.email != "" && s.o.Mail != nil {
		if err := insertOutbox(ctx, tx, outboxRow{id: kernel.NewID(), accountID: m.AccountID, channel: channelEmail,
			address: r.email, template: templateName(m), subject: subject, body: text, createdAt: tx.Now}); err != nil {
			return kernel.Wrap(err, "notify: outbox")
		}
		wrote = true
	}
	if !wrote {
		return errNoChannel()
	}
	return nil
}

// templateName is what the outbox and the audit log call a message.
func templateName(m Message) string {
	if m.Template != "" {
		return m.Template
	}
	return "text"
}

// wake tells this instance's worker something was queued.
func (s *Service) wake() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}
