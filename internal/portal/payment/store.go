package payment

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// order is an order as stored.
type order struct {
	Order
	ID           string
	Reference    string
	PayerAccount string
	Status       string
	Method       string
	Provider     string
	ProviderTxn  string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	PaidAt       time.Time
	ClosedAt     time.Time
	RefundReason string
}

const orderColumns = `id, reference, application_id, procedure_code, agency, unit, amount, description, payer_citizen, payer_account,
	return_url, status, method, provider, provider_txn, created_at, expires_at, paid_at, closed_at, refund_reason`

func scanOrder(row interface{ Scan(...any) error }) (order, error) {
	var o order
	var created, expires, paid, closed int64
	err := row.Scan(&o.ID, &o.Reference, &o.ApplicationID, &o.Procedure, &o.Agency, &o.Unit, &o.Amount, &o.Description,
		&o.PayerCitizen, &o.PayerAccount, &o.ReturnURL, &o.Status, &o.Method, &o.Provider, &o.ProviderTxn,
		&created, &expires, &paid, &closed, &o.RefundReason)
	if errors.Is(err, sql.ErrNoRows) {
		return order{}, kernel.E(kernel.NotFound, "payment.error.not_found")
	}
	if err != nil {
		return order{}, kernel.Wrap(err, "payment: order")
	}
	o.CreatedAt, o.ExpiresAt = kernel.FromMicros(created), kernel.FromMicros(expires)
	if paid > 0 {
		o.PaidAt = kernel.FromMicros(paid)
	}
	if closed > 0 {
		o.ClosedAt = kernel.FromMicros(closed)
	}
	return o, nil
}

func insertOrder(ctx context.Context, tx *db.Tx, o *order) error {
	_, err := tx.Exec(ctx, `INSERT INTO payment_orders (`+orderColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, '')`,
		o.ID, o.Reference, o.ApplicationID, o.Procedure, o.Agency, o.Unit, o.Amount, o.Description, o.PayerCitizen, o.PayerAccount,
		o.ReturnURL, o.Status, o.Method, o.Provider, o.ProviderTxn, kernel.Micros(o.CreatedAt), kernel.Micros(o.ExpiresAt))
	return kernel.Wrap(err, "payment: insert order")
}

func findOrder(ctx context.Context, tx *db.Tx, id string) (order, error) {
	return scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM payment_orders WHERE id = ?`, id))
}

func findOrderByReference(ctx context.Context, tx *db.Tx, ref string) (order, error) {
	return scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM payment_orders WHERE reference = ?`, ref))
}

func findPendingOrder(ctx context.Context, tx *db.Tx, application, agency string, amount int64, now time.Time) (order, error) {
	return scanOrder(tx.QueryRow(ctx, `SELECT `+orderColumns+` FROM payment_orders
		WHERE application_id = ? AND agency = ? AND amount = ? AND status = ? AND expires_at > ?
		ORDER BY created_at DESC LIMIT 1`, application, agency, amount, StatusPending, kernel.Micros(now)))
}

func findExpiredOrders(ctx context.Context, tx *db.Tx, now time.Time, limit int) ([]order, error) {
	return queryOrders(ctx, tx, `SELECT `+orderColumns+` FROM payment_orders WHERE status = ? AND expires_at <= ?
		ORDER BY expires_at LIMIT ?`, StatusPending, kernel.Micros(now), max(limit, 1))
}

func queryOrders(ctx context.Context, tx *db.Tx, q string, args ...any) ([]order, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, kernel.Wrap(err, "payment: orders")
	}
	defer rows.Close()
	var out []order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, kernel.Wrap(rows.Err(), "payment: orders")
}

// orderChange is what a status change also sets.
type orderChange struct {
	paid     time.Time
	closed   time.Time
	method   string
	provider string
	txn      string
	reason   string
}

// setStatus moves an order from one status to another, and fails with a
// Conflict when it no longer has the status from: a change made by
// someone else in between is never overwritten.
func setStatus(ctx context.Context, tx *db.Tx, id, from, to string, c orderChange) error {
	q := `UPDATE payment_orders SET status = ?`
	args := []any{to}
	if !c.paid.IsZero() {
		q += `, paid_at = ?`
		args = append(args, kernel.Micros(c.paid))
	}
	if !c.closed.IsZero() {
		q += `, closed_at = ?`
		args = append(args, kernel.Micros(c.closed))
	}
	if c.method != "" {
		q += `, method = ?, provider = ?, provider_txn = ?`
		args = append(args, c.method, c.provider, c.txn)
	}
	if c.reason != "" {
		q += `, refund_reason = ?`
		args = append(args, c.reason)
	}
	res, err := tx.Exec(ctx, q+` WHERE id = ? AND status = ?`, append(args, id, from)...)
	if err != nil {
		return kernel.Wrap(err, "payment: set status")
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return kernel.E(kernel.Conflict, "payment.error.changed").WithCause(err)
	}
	return nil
}

// callback is a gateway's callback as recorded: its transaction number is
// the key that makes a replay change nothing.
type callback struct {
	Provider string
	TxnID    string
	OrderID  string
	Amount   int64
	Success  bool
	Outcome  string
	At       time.Time
}

func findCallback(ctx context.Context, tx *db.Tx, provider, txn string) (callback, error) {
	c := callback{Provider: provider, TxnID: txn}
	var ok int
	var at int64
	err := tx.QueryRow(ctx, `SELECT order_id, amount, success, outcome, received_at FROM payment_callbacks WHERE provider = ? AND txn_id = ?`,
		provider, txn).Scan(&c.OrderID, &c.Amount, &ok, &c.Outcome, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return callback{}, kernel.E(kernel.NotFound, "payment.error.not_found")
	}
	if err != nil {
		return callback{}, kernel.Wrap(err, "payment: callback")
	}
	c.Success, c.At = ok == 1, kernel.FromMicros(at)
	return c, nil
}

func insertCallback(ctx context.Context, tx *db.Tx, c callback) error {
	ok := 0
	if c.Success {
		ok = 1
	}
	_, err := tx.Exec(ctx, `INSERT INTO payment_callbacks (provider, txn_id, order_id, amount, success, outcome, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.Provider, c.TxnID, c.OrderID, c.Amount, ok, c.Outcome, kernel.Micros(c.At))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "payment.error.changed").WithCause(err)
	}
	return kernel.Wrap(err, "payment: insert callback")
}

// audit records an act on an order; the details name identifiers and
// amounts, never the payer.
func (s *Service) audit(ctx context.Context, tx *db.Tx, action string, o order, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	if o.Reference != "" {
		details["reference"] = o.Reference
	}
	return audit.Queue(ctx, tx, audit.Entry{Action: action, SubjectType: "payment", SubjectID: o.ID, Details: details})
}
