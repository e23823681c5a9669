package identity

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"log/slog"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Code flow purposes and lifetimes.
const (
	purposeRegister = "register"
	purposeActivate = "activate"
	registerCodeTTL = 10 * time.Minute
	activateCodeTTL = 30 * 24 * time.Hour
	maxCodeAttempts = 5
)

// Registration is what a person types to open a level-1 account online.
type Registration struct {
	CitizenID string
	FullName  string
	BirthDate string // YYYY-MM-DD
	Phone     string
	// Client is the address the registration comes from; zero when unknown.
	Client netip.Addr
}

// Validate checks the form of the fields (not whether they match anyone).
func (r *Registration) Validate() error {
	r.CitizenID = strings.TrimSpace(r.CitizenID)
	if _, err := registry.ParseCitizenID(r.CitizenID); err != nil {
		return kernel.E(kernel.Invalid, "error.identity.bad_citizen_id")
	}
	if normalizeName(r.FullName) == "" || len(r.FullName) > 200 {
		return kernel.E(kernel.Invalid, "error.identity.bad_name")
	}
	r.BirthDate = strings.TrimSpace(r.BirthDate)
	if _, err := time.Parse(registry.DateLayout, r.BirthDate); err != nil {
		return kernel.E(kernel.Invalid, "error.identity.bad_birth_date")
	}
	if r.Phone = normalizePhone(r.Phone); r.Phone == "" {
		return kernel.E(kernel.Invalid, "error.identity.bad_phone")
	}
	return nil
}

// Pending is a started registration: the token the browser keeps to finish
// it, and the masked phone the code went to.
type Pending struct {
	Token       string
	MaskedPhone string
}

// StartRegistration matches the details against the population registry
// and, when they match a person without an account, texts a one-time code to
// the phone. Its answer is the same whether or not anything matched, so
// nobody learns from it whether a citizen ID exists or has an account.
//
// One client may start five registrations of an ID an hour; one phone gets
// at most five texts an hour, whoever asks: past that, registrations go on
// without a text, with the same answer, so that a stranger can neither
// flood the phone nor stop its holder from registering from elsewhere.
func (s *Service) StartRegistration(ctx context.Context, r Registration) (Pending, error) {
	if err := r.Validate(); err != nil {
		return Pending{}, err
	}
	startKey := "register:" + r.CitizenID + "|" + clientName(r.Client)
	textKey := "register:" + r.CitizenID
	locks, err := s.sends.locks(ctx, startKey, textKey)
	if err != nil {
		return Pending{}, err
	}
	if wait := locks[startKey]; wait > 0 {
		return Pending{}, lockedError(wait)
	}
	mayText := locks[textKey] == 0
	matched, hasAccount := false, false
	p, err := s.reg.Person(ctx, r.CitizenID)
	switch {
	case err == nil:
		matched = normalizeName(p.FullName) == normalizeName(r.FullName) && p.BirthDate == r.BirthDate &&
			p.Phone != "" && p.Phone == r.Phone
	case kernel.ErrorCode(err) != kernel.NotFound:
		return Pending{}, err
	}
	if matched {
		if _, err := s.AccountByCitizen(ctx, r.CitizenID); err == nil {
			hasAccount = true
		} else if kernel.ErrorCode(err) != kernel.NotFound {
			return Pending{}, err
		}
	}
	token, code := kernel.NewToken(), randomDigits(6)
	id := hashSecret("flow", token)
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if _, err := s.sends.fail(ctx, tx, startKey); err != nil {
			return err
		}
		if matched && mayText {
			if _, err := s.sends.fail(ctx, tx, textKey); err != nil {
				return err
			}
		}
		ok := 0
		if matched && !hasAccount {
			ok = 1
		}
		return insertCode(ctx, tx, newCode{idHash: id, purpose: purposeRegister, citizenID: r.CitizenID, phone: r.Phone,
			matched: ok, codeHash: hashSecret(id, code), expires: tx.Now.Add(registerCodeTTL)})
	})
	if err != nil {
		return Pending{}, kernel.Wrap(err, "identity: start registration")
	}
	switch {
	case !mayText:
	case matched && hasAccount:
		// The owner of the phone learns that someone tried; the page shows nothing.
		s.send(ctx, r.Phone, "civitas: Số định danh của bạn đã có tài khoản. Nếu không phải bạn vừa đăng ký, hãy liên hệ công an xã. / Your ID already has an account; if this was not you, contact the commune police.")
	case matched:
		s.send(ctx, r.Phone, "civitas: Mã xác thực đăng ký của bạn là "+code+" (hiệu lực 10 phút). / Your registration code is "+code+".")
	}
	return Pending{Token: token, MaskedPhone: MaskPhone(r.Phone)}, nil
}

// send texts a message; a failed send is logged, never shown: the answer to
// the person must not depend on it.
func (s *Service) send(ctx context.Context, phone, text string) {
	if err := s.sms.Send(ctx, phone, text); err != nil {
		s.log.ErrorContext(ctx, "sms send failed", slog.String("error", err.Error()), slog.String("request_id", kernel.RequestIDFrom(ctx)))
	}
}

// errCodeWrong is the one answer to every failed code: wrong, expired,
// unknown flow, too many attempts, or details that never matched.
func errCodeWrong() error { return kernel.E(kernel.Invalid, "error.identity.code_wrong") }

// useCode checks code against the flow named by token in tx. A wrong code
// counts an attempt (committed even though the caller's work fails); a flow
// of a six-digit code (registration, login) dies after maxCodeAttempts. An
// activation code is too long to guess (twelve characters of 31) and only
// its throttle bounds it, so that a stranger's wrong guesses cannot spend
// the holder's code.
func (s *Service) useCode(ctx context.Context, token, purpose, code string) (codeFlow, error) {
	var f codeFlow
	id := hashSecret("flow", token)
	var wrong bool
	err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		var found bool
		var err error
		if f, found, err = findLiveCode(ctx, tx, id, purpose); err != nil || !found {
			wrong = !found
			return err
		}
		if (f.attempts >= maxCodeAttempts && purpose != purposeActivate) || !f.matched || !equalHash(f.codeHash, hashSecret(id, normalizeCode(code))) {
			wrong = true
			return countCodeAttempt(ctx, tx, id)
		}
		return nil
	})
	if err != nil {
		return f, kernel.Wrap(err, "identity: check code")
	}
	if wrong {
		return f, errCodeWrong()
	}
	return f, nil
}

// CompleteRegistration finishes a level-1 registration with the code from
// the text message and the chosen password, and returns the new account.
func (s *Service) CompleteRegistration(ctx context.Context, token, code, password string) (Account, error) {
	if err := CheckPasswordPolicy(password); err != nil {
		return Account{}, err
	}
	f, err := s.useCode(ctx, token, purposeRegister, code)
	if err != nil {
		return Account{}, err
	}
	p, err := s.reg.Person(ctx, f.citizenID)
	if err != nil {
		return Account{}, err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return Account{}, err
	}
	now := s.clock.Now()
	a := Account{ID: kernel.NewID(), CitizenID: p.CitizenID, UnitCode: p.UnitCode, Level: 1, Status: StatusActive,
		Phone: f.phone, Contact: ContactOwn, ActivatedAt: now, CreatedAt: now, passwordHash: hash, HasPassword: true}
	err = s.db.Update(ctx, now, func(tx *db.Tx) error {
		done, err := deleteCode(ctx, tx, f.idHash)
		if err != nil {
			return err
		}
		if !done { // finished by a concurrent request
			return errCodeWrong()
		}
		if err := insertAccount(ctx, tx, &a); err != nil {
			return err
		}
		ctx := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: a.ID})
		if err := s.record(ctx, tx, a.ID, "account.created", "", map[string]string{"level": "1", "by": "online"}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.account.register", "account", a.ID, map[string]any{"level": 1})
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}
