package identity

import (
	"context"
	"log/slog"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// LogSMS is the development SMS driver: it writes messages to the log.
// Never use it in production: the log would hold one-time codes.
type LogSMS struct{ Log *slog.Logger }

var _ SMS = LogSMS{}

// Send logs the message.
func (l LogSMS) Send(ctx context.Context, phone, text string) error {
	l.Log.InfoContext(ctx, "sms (log driver)", slog.String("to", MaskPhone(phone)), slog.String("text", text))
	return nil
}

// Outbox is the demo SMS driver: messages are stored and shown on the
// demo outbox page instead of being sent.
type Outbox struct {
	DB    *db.DB
	Clock kernel.Clock
}

var _ SMS = (*Outbox)(nil)

// OutboxMessage is a stored text message.
type OutboxMessage struct {
	Phone string
	Text  string
	At    time.Time
}

// Send stores the message.
func (o *Outbox) Send(ctx context.Context, phone, text string) error {
	return o.DB.Update(ctx, o.Clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sms_outbox (id, phone, body, created_at) VALUES (?, ?, ?, ?)`,
			kernel.NewID(), phone, text, kernel.Micros(tx.Now))
		return err
	})
}

// Recent returns the latest messages, newest first.
func (o *Outbox) Recent(ctx context.Context, limit int) ([]OutboxMessage, error) {
	rows, err := o.DB.Query(ctx, `SELECT phone, body, created_at FROM sms_outbox ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, kernel.Wrap(err, "identity: outbox")
	}
	defer rows.Close()
	var out []OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		var at int64
		if err := rows.Scan(&m.Phone, &m.Text, &at); err != nil {
			return nil, kernel.Wrap(err, "identity: outbox")
		}
		m.At = kernel.FromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}
