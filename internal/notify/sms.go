package notify

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// NormalizePhone writes a phone number as the drivers take it:
// international digits without "+" (84912345678). Spaces, dots, dashes and
// brackets are dropped; "+" or "00" starts an international number; a
// leading 0 is a national number of the country (country, "84").
func NormalizePhone(phone, country string) (string, error) {
	bad := kernel.E(kernel.Invalid, "notify.error.phone")
	var b strings.Builder
	for i, r := range strings.TrimSpace(phone) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return "", bad
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+"):
		d = d[1:]
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	case strings.HasPrefix(d, "0"):
		d = country + d[1:]
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", bad
	}
	return d, nil
}

// localPhone is an international number in the country's national form
// (84912345678 -> 0912345678), for gateways that want it.
func localPhone(intl, country string) string {
	if rest, ok := strings.CutPrefix(intl, country); ok {
		return "0" + rest
	}
	return intl
}

// PhoneTail is what a log may say of a phone number: its last two digits.
func PhoneTail(phone string) string {
	if len(phone) < 2 {
		return "…"
	}
	return "…" + phone[len(phone)-2:]
}

// MaskPhone is what a page may show of a phone number: its last three
// digits.
func MaskPhone(phone string) string {
	if len(phone) <= 3 {
		return "•••"
	}
	return strings.Repeat("•", 4) + phone[len(phone)-3:]
}

// LogSMS is the development driver: it sends nothing and logs that a text
// would have gone to a phone ending in two digits, and its length. It
// never logs the text, which may hold a code.
type LogSMS struct{ Log *slog.Logger }

var _ SMSDriver = LogSMS{}

// SendSMS logs that a text was not sent.
func (l LogSMS) SendSMS(ctx context.Context, phone, text string) error {
	if l.Log != nil {
		l.Log.InfoContext(ctx, "notify: SMS not sent (log driver)", slog.String("to", PhoneTail(phone)),
			slog.Int("characters", utf8.RuneCountInString(text)))
	}
	return nil
}

// DemoOutbox is the demo driver: texts are kept in the database and shown
// at /demo/sms instead of being sent. Only --demo uses it.
type DemoOutbox struct {
	DB    *db.DB
	Clock kernel.Clock
}

var _ SMSDriver = (*DemoOutbox)(nil)

// DemoSMS is a text kept by the demo outbox.
type DemoSMS struct {
	Phone string
	Text  string
	At    time.Time
}

// SendSMS keeps the text.
func (o *DemoOutbox) SendSMS(ctx context.Context, phone, text string) error {
	return o.DB.Update(ctx, o.Clock.Now(), func(tx *db.Tx) error {
		return insertDemoSMS(ctx, tx, kernel.NewID(), phone, text, tx.Now)
	})
}

// Recent returns the latest texts, newest first.
func (o *DemoOutbox) Recent(ctx context.Context, limit int) ([]DemoSMS, error) {
	var out []DemoSMS
	err := o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		out, err = findDemoSMS(ctx, tx, limit)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "notify: demo outbox")
	}
	return out, nil
}
