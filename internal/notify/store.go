package notify

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// The SQL of notifications: each helper runs inside its caller's
// transaction.

// inboxRow is a stored inbox message: a template with its arguments
// (rendered when read, in the reader's language) or a text.
type inboxRow struct {
	id, accountID        string
	template, args, text string
	createdAt, readAt    time.Time
}

func insertInbox(ctx context.Context, tx *db.Tx, r inboxRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO notify_inbox (id, account_id, template, args, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		r.id, r.accountID, r.template, r.args, r.text, kernel.Micros(r.createdAt))
	return err
}

// findInbox returns up to limit of the account's messages older than the
// cursor (an ID; "" for the newest), newest first.
func findInbox(ctx context.Context, tx *db.Tx, accountID, older string, limit int) ([]inboxRow, error) {
	q := `SELECT id, template, args, body, created_at, read_at FROM notify_inbox WHERE account_id = ? ORDER BY id DESC LIMIT ?`
	args := []any{accountID, limit}
	if older != "" {
		q = `SELECT id, template, args, body, created_at, read_at FROM notify_inbox WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?`
		args = []any{accountID, older, limit}
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []inboxRow
	for rows.Next() {
		r := inboxRow{accountID: accountID}
		var created, read int64
		if err := rows.Scan(&r.id, &r.template, &r.args, &r.text, &created, &read); err != nil {
			return nil, err
		}
		r.createdAt = kernel.FromMicros(created)
		if read != 0 {
			r.readAt = kernel.FromMicros(read)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func countUnread(ctx context.Context, tx *db.Tx, accountID string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM notify_inbox WHERE account_id = ? AND read_at = 0`, accountID).Scan(&n)
	return n, err
}

func markRead(ctx context.Context, tx *db.Tx, accountID, id string) (int64, error) {
	res, err := tx.Exec(ctx, `UPDATE notify_inbox SET read_at = ? WHERE id = ? AND account_id = ? AND read_at = 0`,
		kernel.Micros(tx.Now), id, accountID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func markAllRead(ctx context.Context, tx *db.Tx, accountID string) error {
	_, err := tx.Exec(ctx, `UPDATE notify_inbox SET read_at = ? WHERE account_id = ? AND read_at = 0`, kernel.Micros(tx.Now), accountID)
	return err
}

func inboxHas(ctx context.Context, tx *db.Tx, accountID, id string) (bool, error) {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM notify_inbox WHERE id = ? AND account_id = ?`, id, accountID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// findChannels returns the account's channels, or the defaults (SMS when
// it has a phone) when it never chose.
func findChannels(ctx context.Context, tx *db.Tx, accountID string, hasPhone bool) (Channels, error) {
	var c Channels
	var sms, email int
	err := tx.QueryRow(ctx, `SELECT sms, email, email_address, lang FROM notify_channels WHERE account_id = ?`, accountID).
		Scan(&sms, &email, &c.EmailAddress, &c.Lang)
	if errors.Is(err, sql.ErrNoRows) {
		return Channels{SMS: hasPhone}, nil
	}
	if err != nil {
		return Channels{}, err
	}
	c.SMS, c.Email = sms == 1 && hasPhone, email == 1
	return c, nil
}

func upsertChannels(ctx context.Context, tx *db.Tx, accountID string, c Channels) error {
	_, err := tx.Exec(ctx, `INSERT INTO notify_channels (account_id, sms, email, email_address, lang, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET sms = excluded.sms, email = excluded.email, email_address = excluded.email_address,
		lang = excluded.lang, updated_at = excluded.updated_at`,
		accountID, boolInt(c.SMS), boolInt(c.Email), c.EmailAddress, c.Lang, kernel.Micros(tx.Now))
	return err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The channels of the outbox and the states of its rows.
const (
	channelSMS   = "sms"
	channelEmail = "email"

	statePending = "pending"
	stateSent    = "sent"
	stateFailed  = "failed"
)

// outboxRow is a notice waiting for (or done with) one channel.
type outboxRow struct {
	id, accountID, channel, address string
	template, subject, body         string
	attempts                        int
	createdAt                       time.Time
}

func insertOutbox(ctx context.Context, tx *db.Tx, r outboxRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO notify_outbox (id, account_id, channel, address, template, subject, body, state, next_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.id, r.accountID, r.channel, r.address, r.template, r.subject, r.body, statePending, kernel.Micros(r.createdAt), kernel.Micros(r.createdAt))
	return err
}

// findDue returns up to limit pending rows due at now and claimed by nobody.
func findDue(ctx context.Context, tx *db.Tx, now time.Time, limit int) ([]outboxRow, error) {
	rows, err := tx.Query(ctx, `SELECT id, account_id, channel, address, template, subject, body, attempts FROM notify_outbox
		WHERE state = 'pending' AND next_at <= ? AND locked_until <= ? ORDER BY next_at LIMIT ?`, kernel.Micros(now), kernel.Micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.id, &r.accountID, &r.channel, &r.address, &r.template, &r.subject, &r.body, &r.attempts); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// claim takes a pending row until `until`; false when another instance
// holds it or it is done.
func claim(ctx context.Context, tx *db.Tx, id string, until time.Time) (bool, error) {
	res, err := tx.Exec(ctx, `UPDATE notify_outbox SET locked_until = ? WHERE id = ? AND state = ? AND locked_until <= ?`,
		kernel.Micros(until), id, statePending, kernel.Micros(tx.Now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// recordAttempt writes an attempt's outcome. A finished row forgets its
// address and text: the inbox keeps the citizen's copy.
func recordAttempt(ctx context.Context, tx *db.Tx, id, state string, attempts int, next time.Time, lastError string) error {
	if state == statePending {
		_, err := tx.Exec(ctx, `UPDATE notify_outbox SET attempts = ?, next_at = ?, locked_until = 0, last_error = ? WHERE id = ?`,
			attempts, kernel.Micros(next), lastError, id)
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE notify_outbox SET state = ?, attempts = ?, locked_until = 0, last_error = ?, done_at = ?,
		address = '', subject = '', body = '' WHERE id = ?`, state, attempts, lastError, kernel.Micros(tx.Now), id)
	return err
}

func insertDemoSMS(ctx context.Context, tx *db.Tx, id, phone, text string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO sms_outbox (id, phone, body, created_at) VALUES (?, ?, ?, ?)`, id, phone, text, kernel.Micros(at))
	return err
}

func findDemoSMS(ctx context.Context, tx *db.Tx, limit int) ([]DemoSMS, error) {
	rows, err := tx.Query(ctx, `SELECT phone, body, created_at FROM sms_outbox ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DemoSMS
	for rows.Next() {
		var m DemoSMS
		var at int64
		if err := rows.Scan(&m.Phone, &m.Text, &at); err != nil {
			return nil, err
		}
		m.At = kernel.FromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// deleteOld removes finished outbox rows and demo texts older than cut,
// and read inbox messages older than inboxCut.
func deleteOld(ctx context.Context, tx *db.Tx, cut, inboxCut time.Time) (int64, error) {
	var total int64
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM notify_outbox WHERE state <> 'pending' AND done_at < ?`, kernel.Micros(cut)},
		{`DELETE FROM sms_outbox WHERE created_at < ?`, kernel.Micros(cut)},
		{`DELETE FROM notify_inbox WHERE read_at <> 0 AND created_at < ?`, kernel.Micros(inboxCut)},
	} {
		res, err := tx.Exec(ctx, q.sql, q.arg)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
