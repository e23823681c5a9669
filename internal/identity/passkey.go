package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Passkeys are WebAuthn credentials: a key pair made by the holder's phone,
// computer or security key, unlocked by its screen lock. The browser binds
// every signature to this site's origin, so a look-alike site cannot relay
// one: passkeys are the phishing-resistant factor.
const (
	// passkeyTTL is how long a begun registration or login waits for the
	// authenticator: long enough to find a phone and unlock it.
	passkeyTTL = 5 * time.Minute
	// maxPasskeys bounds the passkeys of one account.
	maxPasskeys = 20
	// maxPasskeyName is the longest passkey name, in characters.
	maxPasskeyName = 64

	passkeyRegister = "register"
	passkeyLogin    = "login"
)

// passkeyAMR is how a passkey login is made (RFC 8176): a key held in an
// authenticator ("hwk"), unlocked by the person's PIN or biometric ("user"),
// which together are two factors ("mfa"). Only user-verified assertions are
// accepted, so every passkey login is one.
func passkeyAMR() []string { return []string{"hwk", "user", "mfa"} }

func errPasskeysOff() error { return kernel.E(kernel.NotFound, "error.identity.passkey_unavailable") }
func errPasskeyBadRequest() *kernel.Error {
	return kernel.E(kernel.Invalid, "error.identity.passkey_bad_request")
}
func errPasskeyExpired() error { return kernel.E(kernel.Invalid, "error.identity.passkey_expired") }
func errPasskeyFailed() error {
	return kernel.E(kernel.Unauthenticated, "error.identity.passkey_failed")
}
func errPasskeyUnknown() error {
	return kernel.E(kernel.Unauthenticated, "error.identity.passkey_unknown")
}
func errPasskeyCloned() error {
	return kernel.E(kernel.Unauthenticated, "error.identity.passkey_cloned")
}
func errPasskeyNeedsMFA() error {
	return kernel.E(kernel.Forbidden, "error.identity.passkey_two_factors")
}

// Passkey is a passkey of an account as its holder sees it.
type Passkey struct {
	ID         string // random; names the passkey in forms
	Name       string // given by the holder, e.g. "My phone"
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// PasskeyCeremony is the first half of a registration or login: Options go
// to navigator.credentials.create or get, and Flow comes back with the answer.
type PasskeyCeremony struct {
	Flow    string
	Options any // WebAuthn creation or request options; encode as JSON
}

// PasskeyRegistration is the answer to a registration ceremony.
type PasskeyRegistration struct {
	AccountID string
	Session   string   // the web session that began the ceremony
	AMR       []string // how that session signed in
	Flow      string
	Name      string
	Response  []byte // the PublicKeyCredential from navigator.credentials.create, as JSON
}

// PasskeyLogin is the answer to a login ceremony.
type PasskeyLogin struct {
	Session  string // the web session that began the ceremony
	Flow     string
	Response []byte // the PublicKeyCredential from navigator.credentials.get, as JSON
	WantACR  string
	Client   netip.Addr // the address the login comes from; zero when unknown
}

// relyingParty is this site as WebAuthn sees it.
type relyingParty struct {
	wa     *webauthn.WebAuthn
	id     string // the RP ID: the public URL's host
	origin string // the only origin signatures may name
}

// newRelyingParty makes the relying party of the site at publicURL. It fails
// for a URL whose host is an IP address: browsers refuse those as RP IDs.
func newRelyingParty(publicURL, name string) (*relyingParty, error) {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return nil, fmt.Errorf("identity: passkeys need an http(s) public URL, not %q", publicURL)
	}
	rp := &relyingParty{id: strings.ToLower(u.Hostname()), origin: u.Scheme + "://" + strings.ToLower(u.Host)}
	rp.wa, err = webauthn.New(&webauthn.Config{
		RPID:          rp.id,
		RPDisplayName: name,
		RPOrigins:     []string{rp.origin},
		// No attestation: which maker built the authenticator does not matter
		// here, and asking for it would make browsers warn the holder.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: protocol.ResidentKeyRequired(), // discoverable: logins need no username
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired, // the screen lock is the second factor
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: passkeyTTL, TimeoutUVD: passkeyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: passkeyTTL, TimeoutUVD: passkeyTTL},
		},
		// No extension is requested and no extension output is read, so an
		// output a browser or password manager adds on its own changes nothing.
		ExtensionsUnsolicitedOutputPolicy: protocol.UnsolicitedOutputPolicyIgnore,
	})
	if err != nil {
		return nil, fmt.Errorf("identity: passkeys at %s: %w", publicURL, err)
	}
	return rp, nil
}

// usePasskeysAt makes the service the relying party of the site at
// publicURL. Without a public URL, or with an IP address for a host (the
// default http://127.0.0.1:8080), passkeys stay off and the pages do not
// offer them.
func (s *Service) usePasskeysAt(publicURL string) {
	if publicURL == "" {
		return
	}
	rp, err := newRelyingParty(publicURL, s.issuer)
	if err != nil {
		s.log.Warn("identity: passkeys are off: the public URL needs a domain name", slog.Any("err", err))
		return
	}
	s.rp = rp
}

// PasskeysAvailable reports whether this site offers passkeys.
func (s *Service) PasskeysAvailable() bool { return s.rp != nil }

// passkeyUser is an account as the WebAuthn library sees it. The user handle
// is the account ID: random, and saying nothing about the person.
type passkeyUser struct {
	a       Account
	display string
	creds   []webauthn.Credential
}

var _ webauthn.User = (*passkeyUser)(nil)

func (u *passkeyUser) WebAuthnID() []byte                         { return []byte(u.a.ID) }
func (u *passkeyUser) WebAuthnName() string                       { return u.a.CitizenID }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.display }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// storedPasskey is a row of passkeys.
type storedPasskey struct {
	Passkey
	accountID string
	cred      webauthn.Credential // with the counter of the sign_count column
	signCount int64
}

func (s *Service) passkeysOf(ctx context.Context, accountID string) ([]storedPasskey, error) {
	var out []storedPasskey
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		out, err = findPasskeys(ctx, tx, accountID)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "identity: list passkeys")
	}
	return out, nil
}

// Passkeys lists an account's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, accountID string) ([]Passkey, error) {
	stored, err := s.passkeysOf(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]Passkey, len(stored))
	for i, p := range stored {
		out[i] = p.Passkey
	}
	return out, nil
}

// CanChangePasskeys reports whether a session signed in with amr may add or
// remove passkeys of a. Once an account has a second factor (an
// authenticator app or a passkey), only a sign-in that used two factors may:
// otherwise a stolen password alone could plant a passkey and, with it,
// reach level 2.
func (s *Service) CanChangePasskeys(ctx context.Context, a Account, amr []string) (bool, error) {
	if len(amr) >= 2 {
		return true, nil
	}
	if a.HasTOTP {
		return false, nil
	}
	var n int
	if err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		n, err = countPasskeys(ctx, tx, a.ID)
		return err
	}); err != nil {
		return false, kernel.Wrap(err, "identity: count passkeys")
	}
	return n == 0, nil
}

// passkeyName tidies the name a holder gives a passkey: no control
// characters, single spaces, 1 to maxPasskeyName characters.
func passkeyName(s string) (string, error) {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxPasskeyName {
		return "", kernel.E(kernel.Invalid, "error.identity.passkey_name", maxPasskeyName)
	}
	return s, nil
}

// BeginPasskeyRegistration starts adding a passkey to an account, for the web
// session bind that signed in with amr.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, accountID, bind string, amr []string) (PasskeyCeremony, error) {
	if s.rp == nil {
		return PasskeyCeremony{}, errPasskeysOff()
	}
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if ok, err := s.CanChangePasskeys(ctx, a, amr); err != nil || !ok {
		return PasskeyCeremony{}, errOr(err, errPasskeyNeedsMFA())
	}
	stored, err := s.passkeysOf(ctx, a.ID)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(stored) >= maxPasskeys {
		return PasskeyCeremony{}, kernel.E(kernel.Conflict, "error.identity.passkey_limit", maxPasskeys)
	}
	p, err := s.reg.Person(ctx, a.CitizenID)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	user := &passkeyUser{a: a, display: p.FullName}
	// The authenticators that already hold a passkey of this account say so
	// instead of making a second one.
	exclude := make([]protocol.CredentialDescriptor, len(stored))
	for i, sp := range stored {
		exclude[i] = sp.cred.Descriptor()
	}
	creation, session, err := s.rp.wa.BeginRegistration(user, webauthn.WithExclusions(exclude))
	if err != nil {
		return PasskeyCeremony{}, kernel.Wrap(err, "identity: begin passkey registration")
	}
	flow, err := s.saveCeremony(ctx, passkeyRegister, bind, a.ID, session)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return PasskeyCeremony{Flow: flow, Options: creation.Response}, nil
}

// FinishPasskeyRegistration checks the authenticator's answer and stores the
// new passkey.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, r PasskeyRegistration) (Passkey, error) {
	if s.rp == nil {
		return Passkey{}, errPasskeysOff()
	}
	name, err := passkeyName(r.Name)
	if err != nil {
		return Passkey{}, err
	}
	owner, session, err := s.takeCeremony(ctx, passkeyRegister, r.Session, r.Flow)
	if err != nil {
		return Passkey{}, err
	}
	if owner != r.AccountID {
		return Passkey{}, errPasskeyExpired()
	}
	a, err := s.Account(ctx, r.AccountID)
	if err != nil {
		return Passkey{}, err
	}
	if a.Status != StatusActive {
		return Passkey{}, kernel.E(kernel.Forbidden, "error.identity.account_disabled")
	}
	if ok, err := s.CanChangePasskeys(ctx, a, r.AMR); err != nil || !ok {
		return Passkey{}, errOr(err, errPasskeyNeedsMFA())
	}
	parsed, err := parseCreation(r.Response)
	if err != nil {
		return Passkey{}, err
	}
	cred, err := s.rp.wa.CreateCredential(&passkeyUser{a: a}, session, parsed)
	if err != nil {
		s.logPasskeyRefusal(ctx, "registration", err)
		return Passkey{}, kernel.E(kernel.Invalid, "error.identity.passkey_not_verified").WithCause(err)
	}
	if !cred.Flags.UserVerified { // required above; checked again because everything rests on it
		return Passkey{}, kernel.E(kernel.Invalid, "error.identity.passkey_not_verified")
	}
	stored, err := json.Marshal(cred)
	if err != nil {
		return Passkey{}, kernel.Wrap(err, "identity: encode passkey")
	}
	p := Passkey{ID: kernel.NewID(), Name: name}
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		n, err := countPasskeys(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if n >= maxPasskeys {
			return kernel.E(kernel.Conflict, "error.identity.passkey_limit", maxPasskeys)
		}
		p.CreatedAt = tx.Now
		if err := insertPasskey(ctx, tx, a.ID, p, string(stored), credentialID(cred.ID), cred.Authenticator.SignCount); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, "passkey.added", "", map[string]string{"name": p.Name}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.passkey.add", "account", a.ID, map[string]any{"passkey": p.ID})
	})
	if err != nil {
		return Passkey{}, err
	}
	return p, nil
}

// RemovePasskey deletes a passkey of an account, for a session signed in with amr.
func (s *Service) RemovePasskey(ctx context.Context, accountID string, amr []string, passkeyID string) error {
	a, err := s.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if ok, err := s.CanChangePasskeys(ctx, a, amr); err != nil || !ok {
		return errOr(err, errPasskeyNeedsMFA())
	}
	return s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		name, err := findPasskeyName(ctx, tx, a.ID, passkeyID)
		if err != nil {
			return err
		}
		if err := deletePasskey(ctx, tx, a.ID, passkeyID); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, "passkey.removed", "", map[string]string{"name": name}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.passkey.remove", "account", a.ID, map[string]any{"passkey": passkeyID})
	})
}

// BeginPasskeyLogin starts a usernameless login for the web session bind:
// the browser offers whichever passkey of this site the person has.
func (s *Service) BeginPasskeyLogin(ctx context.Context, bind string) (PasskeyCeremony, error) {
	if s.rp == nil {
		return PasskeyCeremony{}, errPasskeysOff()
	}
	if err := s.throttle.Allow(ctx, "passkey:"+bind); err != nil {
		return PasskeyCeremony{}, err
	}
	assertion, session, err := s.rp.wa.BeginDiscoverableLogin()
	if err != nil {
		return PasskeyCeremony{}, kernel.Wrap(err, "identity: begin passkey login")
	}
	flow, err := s.saveCeremony(ctx, passkeyLogin, bind, "", session)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return PasskeyCeremony{Flow: flow, Options: assertion.Response}, nil
}

// FinishPasskeyLogin checks a signed assertion and logs its account in.
// Failures that name a passkey count against its account from this client,
// as wrong passwords do, so a client locked out of an account by wrong
// passwords stays locked out for passkeys too; failures that name none count
// against the web session. A client locked out of every account for
// guessing is refused here as well.
func (s *Service) FinishPasskeyLogin(ctx context.Context, l PasskeyLogin) (Authenticated, error) {
	if s.rp == nil {
		return Authenticated{}, errPasskeysOff()
	}
	sessionKey := "passkey:" + l.Session
	if err := s.throttle.allow(ctx, sessionKey, passwordKeys("", l.Client).budget); err != nil {
		return Authenticated{}, err
	}
	_, session, err := s.takeCeremony(ctx, passkeyLogin, l.Session, l.Flow)
	if err != nil {
		return Authenticated{}, s.countFailure(ctx, sessionKey, err)
	}
	parsed, err := parseAssertion(l.Response)
	if err != nil {
		return Authenticated{}, s.countFailure(ctx, sessionKey, err)
	}
	sp, err := s.passkeyByCredential(ctx, parsed.RawID)
	if kernel.ErrorCode(err) == kernel.NotFound {
		return Authenticated{}, s.countFailure(ctx, sessionKey, errPasskeyUnknown())
	}
	if err != nil {
		return Authenticated{}, err
	}
	a, err := s.Account(ctx, sp.accountID)
	if err != nil {
		return Authenticated{}, err
	}
	keys := passwordKeys(a.CitizenID, l.Client)
	keys.account = "" // a signature is not guessed: the account's count of wrong passwords is not for it
	if _, err := s.allowGuess(ctx, keys); err != nil {
		return Authenticated{}, err
	}
	user := &passkeyUser{a: a, creds: []webauthn.Credential{sp.cred}}
	// The library checks that the user handle in the assertion is this
	// account's: a passkey cannot log in to an account not its own.
	_, cred, err := s.rp.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return user, nil }, session, parsed)
	if err == nil && !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		err = errors.New("identity: assertion without user verification") // required above; checked again
	}
	if err != nil {
		s.logPasskeyRefusal(ctx, "login", err)
		return Authenticated{}, s.failGuess(ctx, keys, nil, errPasskeyFailed())
	}
	if cred.Authenticator.CloneWarning {
		return Authenticated{}, s.refuseClone(ctx, keys.pair, a, sp, cred.Authenticator.SignCount)
	}
	switch a.Status {
	case StatusActive:
	case StatusDisabled:
		return Authenticated{}, kernel.E(kernel.Forbidden, "error.identity.account_disabled")
	default:
		return Authenticated{}, errPasskeyFailed()
	}
	amr := passkeyAMR()
	acr := kernel.ACRLevel1
	if a.Level == 2 {
		acr = kernel.ACRLevel2 // a level-2 account and two factors in this login
	}
	if l.WantACR == kernel.ACRLevel2 && acr != kernel.ACRLevel2 {
		return Authenticated{}, errLevel2Needed()
	}
	stored, err := json.Marshal(cred)
	if err != nil {
		return Authenticated{}, kernel.Wrap(err, "identity: encode passkey")
	}
	raced := false
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		// Compare-and-set on the counter: of two logins with one counter
		// value, only the first moves it.
		moved, err := updatePasskeyUse(ctx, tx, sp.ID, sp.signCount, cred.Authenticator.SignCount, string(stored))
		if err != nil {
			return err
		}
		if !moved {
			raced = true
			return nil
		}
		if err := s.succeedGuess(ctx, tx, keys); err != nil {
			return err
		}
		ctx := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: a.ID})
		if err := s.record(ctx, tx, a.ID, "login", "", map[string]string{"acr": acr, "amr": strings.Join(amr, " "), "passkey": sp.Name}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.passkey.login", "account", a.ID, map[string]any{"passkey": sp.ID, "acr": acr})
	})
	if err != nil {
		return Authenticated{}, err
	}
	if raced {
		return Authenticated{}, s.refuseClone(ctx, keys.pair, a, sp, cred.Authenticator.SignCount)
	}
	return Authenticated{Account: a, ACR: acr, AMR: amr}, nil
}

// refuseClone refuses an assertion whose signature counter did not move
// forward: two copies of the key may exist. It is a failed login, audited,
// and shown in the holder's history.
func (s *Service) refuseClone(ctx context.Context, key string, a Account, sp storedPasskey, got uint32) error {
	s.log.WarnContext(ctx, "identity: passkey counter did not advance; refused as a possible clone",
		slog.String("request_id", kernel.RequestIDFrom(ctx)), slog.String("passkey", sp.ID),
		slog.Int64("stored", sp.signCount), slog.Int64("got", int64(got)))
	var locked error
	err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		if err := s.throttle.Fail(ctx, tx, key); kernel.ErrorCode(err) == kernel.TooManyRequests {
			locked = err
		} else if err != nil {
			return err
		}
		if err := s.record(ctx, tx, a.ID, "passkey.refused", "", map[string]string{"name": sp.Name}); err != nil {
			return err
		}
		return appendAudit(ctx, tx, "identity.passkey.clone_refused", "account", a.ID, map[string]any{
			"passkey": sp.ID, "stored_count": sp.signCount, "presented_count": int64(got)})
	})
	if err != nil {
		return err
	}
	if locked != nil {
		return locked
	}
	return errPasskeyCloned()
}

// logPasskeyRefusal logs why the library refused an answer: the reason is
// for operators (wrong origin, bad signature, ...), never for the page.
func (s *Service) logPasskeyRefusal(ctx context.Context, ceremony string, err error) {
	attrs := []slog.Attr{slog.String("request_id", kernel.RequestIDFrom(ctx)), slog.String("ceremony", ceremony)}
	var perr *protocol.Error
	if errors.As(err, &perr) {
		attrs = append(attrs, slog.String("reason", perr.Details), slog.String("detail", perr.DevInfo))
	} else {
		attrs = append(attrs, slog.String("reason", err.Error()))
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "identity: passkey refused", attrs...)
}

// credentialID is how a credential ID is stored and looked up.
func credentialID(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

func (s *Service) passkeyByCredential(ctx context.Context, raw []byte) (storedPasskey, error) {
	var sp storedPasskey
	err := s.db.View(ctx, func(tx *db.Tx) (err error) {
		sp, err = findPasskeyByCredential(ctx, tx, credentialID(raw))
		return err
	})
	if kernel.ErrorCode(err) == kernel.NotFound {
		return sp, err
	}
	if err != nil {
		return sp, kernel.Wrap(err, "identity: find passkey")
	}
	return sp, nil
}

// saveCeremony keeps a begun ceremony for the web session bind and returns
// the flow ID the browser sends back. A session has one ceremony of each
// purpose at a time: beginning another replaces it.
func (s *Service) saveCeremony(ctx context.Context, purpose, bind, accountID string, session *webauthn.SessionData) (string, error) {
	if bind == "" {
		return "", kernel.Wrap(errors.New("no web session"), "identity: begin passkey %s", purpose)
	}
	data, err := json.Marshal(session)
	if err != nil {
		return "", kernel.Wrap(err, "identity: encode passkey ceremony")
	}
	flow := kernel.NewToken()
	err = s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		return replaceCeremony(ctx, tx, ceremony{idHash: hashSecret("passkey", flow), session: bind, purpose: purpose,
			accountID: accountID, data: string(data), expires: kernel.Micros(tx.Now.Add(passkeyTTL))})
	})
	if err != nil {
		return "", kernel.Wrap(err, "identity: save passkey ceremony")
	}
	return flow, nil
}

// takeCeremony finds and deletes the ceremony of flow begun by the web
// session bind, so its challenge is answered at most once. It returns the
// account the ceremony was for ("" for a login).
func (s *Service) takeCeremony(ctx context.Context, purpose, bind, flow string) (string, webauthn.SessionData, error) {
	var session webauthn.SessionData
	if bind == "" || !validFlow(flow) {
		return "", session, errPasskeyExpired()
	}
	id := hashSecret("passkey", flow)
	var c ceremony
	var now int64
	found := false
	err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) (err error) {
		now = kernel.Micros(tx.Now)
		c, found, err = takeCeremonyRow(ctx, tx, id, bind, purpose)
		return err
	})
	if err != nil {
		return "", session, kernel.Wrap(err, "identity: take passkey ceremony")
	}
	if !found || c.expires <= now {
		return "", session, errPasskeyExpired()
	}
	if err := json.Unmarshal([]byte(c.data), &session); err != nil {
		return "", session, kernel.Wrap(err, "identity: read passkey ceremony")
	}
	return c.accountID, session, nil
}

// validFlow accepts only what kernel.NewToken makes.
func validFlow(f string) bool {
	if len(f) != 52 {
		return false
	}
	for i := 0; i < len(f); i++ {
		if c := f[i]; !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

// parseCreation reads the PublicKeyCredential of navigator.credentials.create.
func parseCreation(b []byte) (*protocol.ParsedCredentialCreationData, error) {
	p, err := protocol.ParseCredentialCreationResponseBytes(b)
	if err != nil {
		return nil, errPasskeyBadRequest().WithCause(err)
	}
	return p, nil
}

// parseAssertion reads the PublicKeyCredential of navigator.credentials.get.
func parseAssertion(b []byte) (*protocol.ParsedCredentialAssertionData, error) {
	p, err := protocol.ParseCredentialRequestResponseBytes(b)
	if err != nil {
		return nil, errPasskeyBadRequest().WithCause(err)
	}
	return p, nil
}

// errOr returns err when there is one, else fallback.
func errOr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
