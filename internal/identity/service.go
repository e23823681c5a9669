package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"math/big"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sealed"
)

// Assurance levels as OpenID Connect acr values.
//
// Deprecated: use kernel.ACRLevel1 and kernel.ACRLevel2; these aliases stay
// while other packages move to the shared vocabulary.
const (
	ACRLevel1 = kernel.ACRLevel1
	ACRLevel2 = kernel.ACRLevel2
)

// Registry is what identity reads from the national registries.
type Registry interface {
	Person(ctx context.Context, citizenID string) (registry.Person, error)
	HouseholdMembers(ctx context.Context, householdID string) ([]registry.Person, error)
	Unit(ctx context.Context, code string) (registry.Unit, error)
	Agency(ctx context.Context, code string) (registry.Agency, error)
	AgenciesIn(ctx context.Context, unitCode string) ([]registry.Agency, error)
	OfficialsOf(ctx context.Context, citizenID string) ([]registry.Official, error)
	Business(ctx context.Context, regNumber string) (registry.Business, error)
	Within(ctx context.Context, unit, area string) (bool, error)
}

var _ Registry = (*registry.Service)(nil)

// Messages translates the texts sent to holders into their language.
type Messages interface {
	T(lang, key string, args ...any) string
}

var _ Messages = (*i18n.Catalog)(nil)

// Options configure a Service.
type Options struct {
	DB       *db.DB
	Clock    kernel.Clock
	Registry Registry
	Box      *sealed.Box // seals TOTP seeds
	SMS      SMS
	Logger   *slog.Logger
	// Issuer names civitas in authenticator apps.
	Issuer string
	// Password is the argon2id cost; zero means DefaultPasswordParams.
	Password PasswordParams
	// HashSlots bounds the argon2id computations in flight (zero: one per
	// core); HashQueue bounds the requests waiting for one (zero: 64 per
	// slot) and HashWait how long each may wait (zero: 10 s). Beyond either
	// bound a login is told to try again.
	HashSlots int
	HashQueue int
	HashWait  time.Duration
	// ClientBudget is how many wrong guesses one client may make across
	// accounts within ten minutes before it is locked out (zero: 30);
	// SupportPoints are the addresses of support points, where many citizens
	// share one, whose budget is SupportPointBudget (zero: 300).
	ClientBudget       int
	SupportPoints      []netip.Prefix
	SupportPointBudget int
	// Messages writes the texts holders get; nil: the embedded catalogue.
	Messages Messages
	// UseLog is the data-use log: an officer's look-up of a person at a
	// desk is a read of their data by someone else. nil: none.
	UseLog UseLog
}

// UseLog records a read of a person's data by someone else, in the
// caller's transaction (the data-use log the person sees).
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Service holds the rules of e-ID accounts.
type Service struct {
	db     *db.DB
	clock  kernel.Clock
	reg    Registry
	box    *sealed.Box
	sms    SMS
	uses   UseLog
	log    *slog.Logger
	issuer string
	params PasswordParams
	// throttle counts wrong guesses of an account from a client, and locks
	// that client out of it (see guessing.go); clientBudget and
	// supportBudget count a client's wrong guesses across accounts, and
	// accountAlarm an account's from anywhere.
	throttle      *Throttle
	clientBudget  *Throttle
	supportBudget *Throttle
	supportPoints []netip.Prefix
	accountAlarm  *Throttle
	// sends bounds the texts a citizen ID gets, so nobody can flood a phone.
	sends    *Throttle
	messages func() (Messages, error)
	// dummy is a password hash verified for unknown users, so timing tells
	// nothing; made at the first such login, not at start.
	dummy  func() (string, error)
	hashes *hashQueue
	// rp is the WebAuthn relying party; nil while passkeys are off (Mount
	// sets it from the public URL).
	rp *relyingParty
}

// New returns the identity service.
func New(o Options) (*Service, error) {
	if o.Password == (PasswordParams{}) {
		o.Password = DefaultPasswordParams
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Issuer == "" {
		o.Issuer = "civitas"
	}
	params := o.Password
	if o.ClientBudget <= 0 {
		o.ClientBudget = defaultClientBudget
	}
	if o.SupportPointBudget <= 0 {
		o.SupportPointBudget = defaultSupportPointBudget
	}
	budget := func(n int) *Throttle {
		// Failure n+1 locks: "more than n within ten minutes".
		return &Throttle{DB: o.DB, Clock: o.Clock, MaxFailures: n + 1, Window: clientWindow, LockFor: clientWindow, MaxLock: clientWindow, Forgive: true}
	}
	messages := func() (Messages, error) { return o.Messages, nil }
	if o.Messages == nil {
		messages = sync.OnceValues(func() (Messages, error) { return i18n.Load() })
	}
	return &Service{
		db: o.DB, clock: o.Clock, reg: o.Registry, box: o.Box, sms: o.SMS, uses: o.UseLog, log: o.Logger,
		issuer: o.Issuer, params: params,
		dummy:        sync.OnceValues(func() (string, error) { return HashPassword(kernel.NewToken(), params) }),
		hashes:       newHashQueue(o.HashSlots, o.HashQueue, o.HashWait),
		throttle:     DefaultThrottle(o.DB, o.Clock),
		clientBudget: budget(o.ClientBudget), supportBudget: budget(o.SupportPointBudget), supportPoints: o.SupportPoints,
		// "Locked" here means "ask a second factor", for an hour after the
		// latest wrong guess.
		accountAlarm: &Throttle{DB: o.DB, Clock: o.Clock, MaxFailures: accountAlarmFailures, Window: accountAlarmWindow,
			LockFor: accountAlarmWindow, MaxLock: accountAlarmWindow, Forgive: true},
		sends:    &Throttle{DB: o.DB, Clock: o.Clock, MaxFailures: 5, Window: time.Hour, LockFor: time.Hour, MaxLock: 24 * time.Hour},
		messages: messages,
	}, nil
}

// text is a message to a holder in their language (Vietnamese when the
// catalogue cannot be read).
func (s *Service) text(lang, key string, args ...any) string {
	m, err := s.messages()
	if err != nil {
		s.log.Error("identity: message catalogue", slog.Any("err", err))
		return "civitas"
	}
	if lang == "" {
		lang = i18n.Default
	}
	return m.T(lang, key, args...)
}

// Throttle returns the limiter of guessable secrets (for the cleanup job).
func (s *Service) Throttle() *Throttle { return s.throttle }

// hashSecret is how one-time codes and recovery codes are kept: SHA-256 over
// a context (flow or account) and the code.
func hashSecret(context, code string) string {
	sum := sha256.Sum256([]byte(context + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

func equalHash(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// randomDigits returns n random decimal digits.
func randomDigits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic("identity: no randomness: " + err.Error())
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

// codeAlphabet has no 0/O, 1/I/L: activation letters are read and typed by hand.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// randomCode returns groups of four characters of codeAlphabet joined by '-'.
func randomCode(groups int) string {
	var b strings.Builder
	for g := 0; g < groups; g++ {
		if g > 0 {
			b.WriteByte('-')
		}
		for i := 0; i < 4; i++ {
			d, err := rand.Int(rand.Reader, big.NewInt(int64(len(codeAlphabet))))
			if err != nil {
				panic("identity: no randomness: " + err.Error())
			}
			b.WriteByte(codeAlphabet[d.Int64()])
		}
	}
	return b.String()
}

// normalizeCode undoes what people do to a typed code: spaces, dashes,
// lower case, and the letters confused with digits.
func normalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
		case r == 'O' || r == '0':
			b.WriteByte('0')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// normalizeName compares names as people type them: case, accents
// composed or not, extra spaces.
func normalizeName(s string) string {
	s = norm.NFC.String(strings.ToLower(strings.TrimSpace(s)))
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// normalizePhone keeps digits, turning the +84 prefix into the national 0.
func normalizePhone(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if !(r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || (r == '+' && i == 0)) {
			return ""
		}
	}
	d := b.String()
	if strings.HasPrefix(s, "+84") {
		d = "0" + d[2:]
	}
	if len(d) < 9 || len(d) > 11 || d[0] != '0' {
		return ""
	}
	return d
}

// MaskPhone shows a phone number the way a page may: the last three digits.
func MaskPhone(phone string) string {
	if len(phone) < 4 {
		return "***"
	}
	return strings.Repeat("•", len(phone)-3) + phone[len(phone)-3:]
}
