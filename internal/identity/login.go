package identity

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/registry"
)

// Credentials is what the login form sends.
type Credentials struct {
	CitizenID string // the username
	Password  string
	// OTP is a TOTP code, a recovery code or a code texted for this login;
	// may be empty.
	OTP string
	// WantACR is the assurance the login must reach (kernel.ACRLevel1 or
	// kernel.ACRLevel2).
	WantACR string
	// Client is the address the login comes from, as the web layer found
	// it (behind trusted proxies, the forwarded client's); zero when unknown.
	Client netip.Addr
	// Lang is the language of the login page; the holder's texts are
	// written in the language of their latest login. Empty keeps it.
	Lang string
}

// Authenticated is a successful login.
type Authenticated struct {
	Account Account
	ACR     string
	AMR     []string
}

// Login errors. Every failure of the first factor has one answer, so it says
// nothing about whether the ID has an account.
func errLoginFailed() error  { return kernel.E(kernel.Unauthenticated, "error.identity.login_failed") }
func errOTPRequired() error  { return kernel.E(kernel.Unauthenticated, "error.identity.otp_required") }
func errOTPWrong() error     { return kernel.E(kernel.Unauthenticated, "error.identity.otp_wrong") }
func errLevel2Needed() error { return kernel.E(kernel.Forbidden, "error.identity.level2_needed") }
func errSMSCodeSent(maskedPhone string) error {
	return kernel.E(kernel.Unauthenticated, "error.identity.sms_code_sent", maskedPhone)
}
func errSMSCodeWrong() error {
	return kernel.E(kernel.Unauthenticated, "error.identity.sms_code_wrong")
}

// IsOTPRequired reports whether err asks for the second factor: the password
// was right and the form must now ask for the code.
func IsOTPRequired(err error) bool {
	switch k, _ := kernel.ErrorKey(err); k {
	case "error.identity.otp_required", "error.identity.otp_wrong", "error.identity.level2_needed",
		"error.identity.sms_code_sent", "error.identity.sms_code_wrong":
		return true
	}
	return false
}

// Login checks credentials. Wrong guesses of either factor are counted per
// account and client, per client and per account (see guessing.go): a
// client that guesses is locked out, the holder on their own client never
// is, and an account guessed at from everywhere asks a one-time code with
// the password.
func (s *Service) Login(ctx context.Context, c Credentials) (Authenticated, error) {
	c.CitizenID = strings.TrimSpace(c.CitizenID)
	if _, err := registry.ParseCitizenID(c.CitizenID); err != nil || c.Password == "" || len(c.Password) > 1024 {
		return Authenticated{}, errLoginFailed()
	}
	keys := passwordKeys(c.CitizenID, c.Client)
	secondFactor, err := s.allowGuess(ctx, keys)
	if err != nil {
		return Authenticated{}, err
	}
	a, err := s.AccountByCitizen(ctx, c.CitizenID)
	if err != nil && kernel.ErrorCode(err) != kernel.NotFound {
		return Authenticated{}, err
	}
	var guessed *Account // the account the guesses are at, told when they pile up
	if err == nil && a.Status == StatusActive {
		guessed = &a
	}
	stored := a.passwordHash
	if err != nil || a.Status != StatusActive {
		stored = "" // the dummy hash: the same work as a real check
	}
	ok, rehash, verr := s.verifyPassword(ctx, c.Password, stored)
	if verr != nil {
		return Authenticated{}, verr
	}
	if !ok || err != nil || a.Status != StatusActive || a.passwordHash == "" {
		return Authenticated{}, s.failGuess(ctx, keys, guessed, errLoginFailed())
	}
	amr := []string{"pwd"}
	var step uint64
	recovery, texted := "", ""
	code := strings.TrimSpace(c.OTP)
	switch {
	case a.HasTOTP && code == "":
		return Authenticated{}, errOTPRequired()
	case a.HasTOTP && len(normalizeCode(code)) == 16:
		recovery = normalizeCode(code)
		amr = append(amr, "otp")
	case a.HasTOTP:
		secret, err := s.totpSecret(a)
		if err != nil {
			return Authenticated{}, err
		}
		var good bool
		if step, good = CheckTOTP(secret, code, s.clock.Now(), a.totpLastStep); !good {
			return Authenticated{}, s.failGuess(ctx, keys, guessed, errOTPWrong())
		}
		amr = append(amr, "otp")
	case secondFactor && a.Phone == "":
		// No app and no phone to text a code to: the password alone, or
		// the holder would be locked out. The per-client locks still hold.
		s.log.WarnContext(ctx, "identity: an account guessed at has no second factor; password alone accepted",
			slog.String("request_id", kernel.RequestIDFrom(ctx)))
	case secondFactor && code == "":
		return Authenticated{}, s.textLoginCode(ctx, a)
	case secondFactor:
		f, err := s.useCode(ctx, loginCodeToken(a.ID), purposeLogin, code)
		if kernel.ErrorCode(err) == kernel.Invalid {
			return Authenticated{}, s.failGuess(ctx, keys, guessed, errSMSCodeWrong())
		}
		if err != nil {
			return Authenticated{}, err
		}
		texted = f.idHash
		amr = append(amr, "sms")
	}
	acr := kernel.ACRLevel1
	if a.Level == 2 && slices.Contains(amr, "otp") {
		acr = kernel.ACRLevel2
	}
	if c.WantACR == kernel.ACRLevel2 && acr != kernel.ACRLevel2 {
		if a.Level == 2 && !a.HasTOTP {
			return Authenticated{}, kernel.E(kernel.Forbidden, "error.identity.level2_needs_totp")
		}
		return Authenticated{}, errLevel2Needed()
	}
	var newHash string
	if rehash {
		if newHash, err = s.hashPassword(ctx, c.Password); err != nil {
			return Authenticated{}, err
		}
	}
	usedRecovery := false
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if recovery != "" {
			ok, err := useRecoveryCode(ctx, tx, a.ID, hashSecret(a.ID, recovery))
			if err != nil {
				return err
			}
			if !ok {
				return errOTPWrong()
			}
			usedRecovery = true
		}
		if step != 0 {
			// Only a later step than the stored one: a code is never accepted twice.
			ok, err := advanceTOTPStep(ctx, tx, a.ID, step)
			if err != nil {
				return err
			}
			if !ok {
				return errOTPWrong()
			}
		}
		if texted != "" { // a texted code works once
			done, err := deleteCode(ctx, tx, texted)
			if err != nil {
				return err
			}
			if !done {
				return errSMSCodeWrong()
			}
		}
		if newHash != "" {
			if err := updateAccountPassword(ctx, tx, a.ID, newHash); err != nil {
				return err
			}
		}
		if c.Lang != "" && c.Lang != a.lang && i18n.Supported(c.Lang) {
			if err := updateAccountLang(ctx, tx, a.ID, c.Lang); err != nil {
				return err
			}
		}
		if err := s.succeedGuess(ctx, tx, keys); err != nil {
			return err
		}
		details := map[string]string{"acr": acr, "amr": strings.Join(amr, " ")}
		if usedRecovery {
			details["recovery_code"] = "used"
		}
		return s.record(ctx, tx, a.ID, "login", "", details)
	})
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Unauthenticated {
			return Authenticated{}, s.failGuess(ctx, keys, guessed, err)
		}
		return Authenticated{}, err
	}
	return Authenticated{Account: a, ACR: acr, AMR: amr}, nil
}

// Codes texted for a login last loginCodeTTL; texts of them are limited
// like other texts to one ID.
const (
	purposeLogin = "login"
	loginCodeTTL = 10 * time.Minute
)

// loginCodeToken stands in for a flow token: an account has one live
// texted login code at a time.
func loginCodeToken(accountID string) string { return "\x00login:" + accountID }

// textLoginCode texts a one-time code for this login to the holder's phone,
// replacing any earlier one, and returns the answer that asks for it. Only
// a correct password gets here, so strangers cannot make it text.
func (s *Service) textLoginCode(ctx context.Context, a Account) error {
	sendKey := "login-code:" + a.ID
	if err := s.sends.Allow(ctx, sendKey); err != nil {
		return err
	}
	code := randomDigits(6)
	id := hashSecret("flow", loginCodeToken(a.ID))
	err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := s.sends.Fail(ctx, tx, sendKey); err != nil && kernel.ErrorCode(err) != kernel.TooManyRequests {
			return err
		}
		if _, err := deleteCode(ctx, tx, id); err != nil {
			return err
		}
		return insertCode(ctx, tx, newCode{idHash: id, purpose: purposeLogin, citizenID: a.CitizenID, accountID: a.ID,
			phone: a.Phone, matched: 1, codeHash: hashSecret(id, code), expires: tx.Now.Add(loginCodeTTL)})
	})
	if err != nil {
		return kernel.Wrap(err, "identity: text a login code")
	}
	s.send(ctx, a.Phone, s.text(a.lang, "identity.sms.login_code", code))
	return errSMSCodeSent(MaskPhone(a.Phone))
}

// ChangePassword replaces the password after checking the current one.
func (s *Service) ChangePassword(ctx context.Context, accountID, current, next string) error {
	if err := CheckPasswordPolicy(next); err != nil {
		return err
	}
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if err := s.checkPassword(ctx, a, current); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, next)
	if err != nil {
		return err
	}
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := updateAccountPassword(ctx, tx, a.ID, hash); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, "password.changed", "", nil); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.password.change", "account", a.ID, nil)
	})
}

// checkPassword verifies an account's password for a sensitive change.
// Only the signed-in holder can try it: wrong ones count against the
// account apart from logins, and five lock such changes for a while.
func (s *Service) checkPassword(ctx context.Context, a Account, password string) error {
	key := "reauth:" + a.ID
	if err := s.throttle.Allow(ctx, key); err != nil {
		return err
	}
	ok, _, err := s.verifyPassword(ctx, password, a.passwordHash) // no password: the dummy, never a match
	if err != nil {
		return err
	}
	if !ok {
		return s.countFailure(ctx, key, kernel.E(kernel.Invalid, "error.identity.password_wrong"))
	}
	return nil
}

// TOTPSetup is a seed offered to the holder, not yet stored: Sealed travels
// in the form and comes back with the first code.
type TOTPSetup struct {
	Sealed string // the seed sealed for this account, base64
	Text   string // the seed as typed into an app
	URI    string // otpauth:// URI for a QR code or a tap on the phone
}

// BeginTOTP makes a new seed for an account.
func (s *Service) BeginTOTP(ctx context.Context, accountID string) (TOTPSetup, error) {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return TOTPSetup{}, err
	}
	secret := NewTOTPSecret()
	return TOTPSetup{
		Sealed: base64.StdEncoding.EncodeToString(s.box.Seal(secret, []byte("totp-setup:"+a.ID))),
		Text:   TOTPSecretText(secret),
		URI:    TOTPKeyURI(secret, s.issuer, a.CitizenID),
	}, nil
}

// ConfirmTOTP stores the offered seed once the holder proves their app
// shows its codes, and returns fresh recovery codes (shown once).
func (s *Service) ConfirmTOTP(ctx context.Context, accountID, sealedSetup, code string) ([]string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealedSetup)
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.identity.totp_setup_bad")
	}
	secret, err := s.box.Open(raw, []byte("totp-setup:"+accountID))
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "error.identity.totp_setup_bad")
	}
	key := "totp-setup:" + accountID
	if err := s.throttle.Allow(ctx, key); err != nil {
		return nil, err
	}
	step, ok := CheckTOTP(secret, code, s.clock.Now(), 0)
	if !ok {
		if err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error { return s.throttle.Fail(ctx, tx, key) }); err != nil {
			return nil, err
		}
		return nil, errOTPWrong()
	}
	codes := newRecoveryCodes()
	stored := base64.StdEncoding.EncodeToString(s.box.Seal(secret, []byte("totp:"+accountID)))
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := updateAccountTOTP(ctx, tx, accountID, stored, step); err != nil {
			return err
		}
		if err := replaceRecoveryCodes(ctx, tx, accountID, codes); err != nil {
			return err
		}
		if err := s.throttle.Succeed(ctx, tx, key); err != nil {
			return err
		}
		if err := s.record(ctx, tx, accountID, "totp.enabled", "", nil); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.totp.enable", "account", accountID, nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP removes the authenticator app and the recovery codes after
// checking the password.
func (s *Service) DisableTOTP(ctx context.Context, accountID, password string) error {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if err := s.checkPassword(ctx, a, password); err != nil {
		return err
	}
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := deleteAccountTOTP(ctx, tx, a.ID); err != nil {
			return err
		}
		if err := deleteRecoveryCodes(ctx, tx, a.ID); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, "totp.disabled", "", nil); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.totp.disable", "account", a.ID, nil)
	})
}

// NewRecoveryCodes replaces an account's recovery codes after checking the
// password, and returns the new ones (shown once).
func (s *Service) NewRecoveryCodes(ctx context.Context, accountID, password string) ([]string, error) {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if !a.HasTOTP {
		return nil, kernel.E(kernel.Conflict, "error.identity.no_totp")
	}
	if err := s.checkPassword(ctx, a, password); err != nil {
		return nil, err
	}
	codes := newRecoveryCodes()
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := replaceRecoveryCodes(ctx, tx, a.ID, codes); err != nil {
			return err
		}
		return s.record(ctx, tx, a.ID, "recovery_codes.renewed", "", nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// RecoveryCodesLeft counts an account's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		n, err = countRecoveryCodes(ctx, tx, accountID)
		return err
	})
	if err != nil {
		return 0, kernel.Wrap(err, "identity: count recovery codes")
	}
	return n, nil
}

// recoveryCodeCount codes of 16 characters (80 bits each) are made at a time.
const recoveryCodeCount = 10

func newRecoveryCodes() []string {
	codes := make([]string, recoveryCodeCount)
	for i := range codes {
		codes[i] = randomCode(4)
	}
	return codes
}

// openSetup opens a seed offered by BeginTOTP.
func (s *Service) openSetup(accountID, sealedSetup string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(sealedSetup)
	if err != nil {
		return nil, err
	}
	return s.box.Open(raw, []byte("totp-setup:"+accountID))
}

// ConfirmWithTOTP checks a one-time code of a signed-in holder who confirms
// an act with their second factor, such as approving signatures. Wrong codes
// count against the account in the throttle (five lock it for a while),
// separately from logins, and a code is never accepted twice. The act is
// recorded in the usage history as kind, with details.
func (s *Service) ConfirmWithTOTP(ctx context.Context, accountID, code, kind string, details map[string]string) error {
	key := "confirm:" + accountID
	if err := s.throttle.Allow(ctx, key); err != nil {
		return err
	}
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if a.Status != StatusActive {
		return kernel.E(kernel.Forbidden, "error.identity.account_inactive")
	}
	if !a.HasTOTP {
		return kernel.E(kernel.Forbidden, "error.identity.confirm_needs_totp")
	}
	secret, err := s.totpSecret(a)
	if err != nil {
		return err
	}
	step, ok := CheckTOTP(secret, code, s.clock.Now(), a.totpLastStep)
	if !ok {
		return s.countFailure(ctx, key, errOTPWrong())
	}
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		ok, err := advanceTOTPStep(ctx, tx, a.ID, step)
		if err != nil {
			return err
		}
		if !ok {
			return errOTPWrong() // the same code, used a moment ago
		}
		if err := s.throttle.Succeed(ctx, tx, key); err != nil {
			return err
		}
		return s.record(ctx, tx, a.ID, kind, "", details)
	})
	if kernel.ErrorCode(err) == kernel.Unauthenticated {
		return s.countFailure(ctx, key, err)
	}
	return err
}
