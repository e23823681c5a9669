package identity

import (
	"context"
	"encoding/base64"
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
	lang         string // the language of the holder's latest sign-in, for the texts they get
}

// Account returns an account by ID.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	var a Account
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		a, err = findAccount(ctx, tx, id)
		return err
	})
	return a, err
}

// AccountByCitizen returns the account of a citizen ID number.
func (s *Service) AccountByCitizen(ctx context.Context, citizenID string) (Account, error) {
	var a Account
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		a, err = findAccountByCitizen(ctx, tx, citizenID)
		return err
	})
	return a, err
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
	hash, err := s.hashPassword(ctx, n.Password)
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
	// "Acting for" in a history is whom the holder acted for: an official
	// acting for their agency on someone's account is not that.
	actingFor := ""
	if a := kernel.ActorFrom(ctx); a.Kind == kernel.ActorCitizen {
		actingFor = a.OnBehalfOf
	}
	return insertEvent(ctx, tx, accountID, kind, clientID, actingFor, details)
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
	var out []Event
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		out, err = findEvents(ctx, tx, accountID, before, limit)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "identity: history")
	}
	return out, nil
}

// Cleanup deletes history older than HistoryRetention, expired code flows
// and passkey ceremonies, and old outbox messages. It returns how many rows
// it removed.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	now := s.clock.Now()
	var n int64
	err := s.db.Update(ctx, now, func(tx *db.Tx) (err error) {
		n, err = deleteExpired(ctx, tx, now.Add(-HistoryRetention), now.Add(-7*24*time.Hour))
		return err
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
