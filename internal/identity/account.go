package identity

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Account statuses.
const (
	StatusPending  = "pending" // enrolled in person, waiting for activation
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Contact says how an account's codes reach its holder.
const (
	ContactOwn      = "own"      // the holder's own phone
	ContactRelative = "relative" // a relative's phone
	ContactLetter   = "letter"   // a printed activation letter
)

// Account is a citizen's e-ID account.
type Account struct {
	ID          string
	CitizenID   string
	UnitCode    string // commune of residence when the account was made
	Level       int
	Status      string
	Phone       string
	Contact     string
	HasPassword bool
	HasTOTP     bool
	CreatedAt   time.Time
	ActivatedAt time.Time

	passwordHash string
	totpSealed   string
	totpLastStep uint64
}

const accountColumns = `id, citizen_id, unit_code, level, status, password_hash, totp_sealed, totp_last_step, phone, contact, created_at, activated_at`

func scanAccount(sc interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var created, activated, last int64
	err := sc.Scan(&a.ID, &a.CitizenID, &a.UnitCode, &a.Level, &a.Status, &a.passwordHash, &a.totpSealed, &last,
		&a.Phone, &a.Contact, &created, &activated)
	a.totpLastStep = uint64(last)
	a.CreatedAt = kernel.FromMicros(created)
	if activated != 0 {
		a.ActivatedAt = kernel.FromMicros(activated)
	}
	a.HasPassword = a.passwordHash != ""
	a.HasTOTP = a.totpSealed != ""
	return a, err
}

func oneAccount(row *sql.Row) (Account, error) {
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return a, kernel.E(kernel.NotFound, "error.identity.account_not_found")
	}
	if err != nil {
		return a, kernel.Wrap(err, "identity: read account")
	}
	return a, nil
}

// Account returns an account by ID.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	return oneAccount(s.db.QueryRow(ctx, "SELECT "+accountColumns+" FROM accounts WHERE id = ?", id))
}

// AccountByCitizen returns the account of a citizen ID number.
func (s *Service) AccountByCitizen(ctx context.Context, citizenID string) (Account, error) {
	return oneAccount(s.db.QueryRow(ctx, "SELECT "+accountColumns+" FROM accounts WHERE citizen_id = ?", citizenID))
}

func insertAccount(ctx context.Context, tx *db.Tx, a *Account) error {
	_, err := tx.Exec(ctx, `INSERT INTO accounts (id, citizen_id, unit_code, level, status, password_hash, phone, contact, created_at, activated_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.CitizenID, a.UnitCode, a.Level, a.Status, a.passwordHash, a.Phone, a.Contact,
		kernel.Micros(tx.Now), micros(a.ActivatedAt), kernel.Micros(tx.Now))
	if db.IsUniqueViolation(err) {
		return kernel.E(kernel.Conflict, "error.identity.account_exists")
	}
	return err
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return kernel.Micros(t)
}

// NewAccount is what an operator gives `civitas account add`.
type NewAccount struct {
	CitizenID string
	Level     int
	Password  string
	Phone     string // overrides the registry's phone; "" keeps it
}

// AddAccount creates an active account directly, for operators: the person
// must be in the population registry and have no account yet.
func (s *Service) AddAccount(ctx context.Context, n NewAccount) (Account, error) {
	if n.Level != 1 && n.Level != 2 {
		return Account{}, kernel.E(kernel.Invalid, "error.identity.bad_level")
	}
	if err := CheckPasswordPolicy(n.Password); err != nil {
		return Account{}, err
	}
	p, err := s.reg.Person(ctx, n.CitizenID)
	if err != nil {
		return Account{}, err
	}
	phone := p.Phone
	if n.Phone != "" {
		if phone = normalizePhone(n.Phone); phone == "" {
			return Account{}, kernel.E(kernel.Invalid, "error.identity.bad_phone")
		}
	}
	hash, err := HashPassword(n.Password, s.params)
	if err != nil {
		return Account{}, err
	}
	now := s.clock.Now()
	a := Account{ID: kernel.NewID(), CitizenID: p.CitizenID, UnitCode: p.UnitCode, Level: n.Level, Status: StatusActive,
		Phone: phone, Contact: ContactOwn, ActivatedAt: now, passwordHash: hash, HasPassword: true, CreatedAt: now}
	err = s.db.Update(ctx, now, func(tx *db.Tx) error {
		if err := insertAccount(ctx, tx, &a); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, "account.created", "", map[string]string{"level": levelText(a.Level), "by": "operator"}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.account.add", "account", a.ID, map[string]any{"level": a.Level})
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

func levelText(l int) string {
	if l == 2 {
		return "2"
	}
	return "1"
}

// Event is an entry of a citizen's usage history.
type Event struct {
	ID        string
	At        time.Time
	Kind      string // login, app.login, consent.given, account.created, ...
	ClientID  string
	ActingFor string
	Details   map[string]string
}

// HistoryRetention is how long the usage history is kept.
const HistoryRetention = 5 * 365 * 24 * time.Hour

// Record adds an event to an account's usage history inside tx. Other
// capabilities (OpenID Provider, signing) call it through their own
// interfaces.
func (s *Service) Record(ctx context.Context, tx *db.Tx, accountID, kind, clientID string, details map[string]string) error {
	return s.record(ctx, tx, accountID, kind, clientID, details)
}

func (s *Service) record(ctx context.Context, tx *db.Tx, accountID, kind, clientID string, details map[string]string) error {
	b := []byte{}
	if len(details) > 0 {
		var err error
		if b, err = json.Marshal(details); err != nil {
			return kernel.Wrap(err, "identity: encode event")
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO account_events (id, account_id, at, kind, client_id, acting_for, details) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		kernel.NewID(), accountID, kernel.Micros(tx.Now), kind, clientID, kernel.ActorFrom(ctx).OnBehalfOf, string(b))
	if err != nil {
		return kernel.Wrap(err, "identity: record event")
	}
	return nil
}

// History returns an account's events, newest first, older than before (zero
// means now), at most limit.
func (s *Service) History(ctx context.Context, accountID string, before time.Time, limit int) ([]Event, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if before.IsZero() {
		before = s.clock.Now().Add(time.Second)
	}
	rows, err := s.db.Query(ctx, `SELECT id, at, kind, client_id, acting_for, details FROM account_events
		WHERE account_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?`, accountID, kernel.Micros(before), limit)
	if err != nil {
		return nil, kernel.Wrap(err, "identity: history")
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var details string
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.ClientID, &e.ActingFor, &details); err != nil {
			return nil, kernel.Wrap(err, "identity: history")
		}
		e.At = kernel.FromMicros(at)
		if details != "" {
			_ = json.Unmarshal([]byte(details), &e.Details) // written by record; a bad row shows without details
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Cleanup deletes history older than HistoryRetention, expired code flows
// and passkey ceremonies, and old outbox messages. It returns how many rows
// it removed.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	now := s.clock.Now()
	var n int64
	err := s.db.Update(ctx, now, func(tx *db.Tx) error {
		for _, q := range []struct {
			sql string
			arg int64
		}{
			{`DELETE FROM account_events WHERE at < ?`, kernel.Micros(now.Add(-HistoryRetention))},
			{`DELETE FROM account_codes WHERE expires_at < ?`, kernel.Micros(now)},
			{`DELETE FROM passkey_challenges WHERE expires_at < ?`, kernel.Micros(now)},
			{`DELETE FROM sms_outbox WHERE created_at < ?`, kernel.Micros(now.Add(-7 * 24 * time.Hour))},
		} {
			res, err := tx.Exec(ctx, q.sql, q.arg)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, kernel.Wrap(err, "identity: cleanup")
	}
	return n, nil
}

// totpSecret opens the account's sealed TOTP seed.
func (s *Service) totpSecret(a Account) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(a.totpSealed)
	if err != nil {
		return nil, kernel.Wrap(err, "identity: totp seed of %s", a.ID)
	}
	secret, err := s.box.Open(raw, []byte("totp:"+a.ID))
	if err != nil {
		return nil, kernel.Wrap(err, "identity: totp seed of %s", a.ID)
	}
	return secret, nil
}

// appendAudit writes an audit record in tx.
func appendAudit(ctx context.Context, tx *db.Tx, action, subjectType, subjectID string, details map[string]any) error {
	_, err := audit.Append(ctx, tx, audit.Entry{Action: action, SubjectType: subjectType, SubjectID: subjectID, Details: details})
	return err
}

// appendAuditPurpose audits a read of personal data with its purpose.
func appendAuditPurpose(ctx context.Context, tx *db.Tx, action, subjectType, subjectID, purpose string) error {
	_, err := audit.Append(ctx, tx, audit.Entry{Action: action, SubjectType: subjectType, SubjectID: subjectID, Purpose: purpose})
	return err
}

// recordNow adds an event to the usage history in its own transaction.
func (s *Service) recordNow(ctx context.Context, accountID, kind string, details map[string]string) error {
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		return s.record(ctx, tx, accountID, kind, "", details)
	})
}
