package wallet

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
)

// Share limits.
const (
	// CodeLen is the length of a share code: 8 characters of Crockford's
	// base32, 40 bits. With at most MaxActiveShares live shares per holder
	// and lookups throttled per client, guessing one is hopeless.
	CodeLen = 8
	// MaxShareTTL is the longest a share may live.
	MaxShareTTL = 24 * time.Hour
	// MinShareTTL is the shortest.
	MinShareTTL = time.Minute
	// MaxActiveShares bounds the live shares of one holder, and so the
	// codes a guesser could hit.
	MaxActiveShares = 20
	// MaxPurpose bounds the purpose the holder gives, in characters.
	MaxPurpose = 120
	// MaxShareUses bounds "use at most n times".
	MaxShareUses = 100
)

// Verdicts of a share's verification. The first five are the document's;
// the share_* ones say the share itself no longer works.
const (
	VerdictValid        = "valid"
	VerdictSuspended    = "suspended"
	VerdictRevoked      = "revoked"
	VerdictExpired      = "expired"
	VerdictInvalid      = "invalid"
	VerdictShareExpired = "share_expired"
	VerdictShareEnded   = "share_ended"
	VerdictShareUsed    = "share_used"
)

// Verdicts lists every verdict, for the message keys the pages build.
func Verdicts() []string {
	return []string{VerdictValid, VerdictSuspended, VerdictRevoked, VerdictExpired, VerdictInvalid,
		VerdictShareExpired, VerdictShareEnded, VerdictShareUsed}
}

// VerifierPublic is the verifier of a check made on the public page.
const VerifierPublic = "public"

// codeAlphabet is Crockford's base32: no I, L, O or U, so nothing reads as
// another character; input is case-insensitive and O, I, L are read as 0, 1, 1.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewCode returns a fresh share code, CodeLen characters of codeAlphabet.
func NewCode() string {
	var b [CodeLen]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	for i := range b {
		b[i] = codeAlphabet[b[i]&31]
	}
	return string(b[:])
}

// NormaliseCode reads a code as a person types it — any case, with spaces
// or dashes, O for 0, I or L for 1 — and returns it in canonical form.
func NormaliseCode(s string) (string, bool) {
	if len(s) > 4*CodeLen {
		return "", false
	}
	out := make([]byte, 0, CodeLen)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if strings.IndexByte(codeAlphabet, c) < 0 || len(out) == CodeLen {
			return "", false
		}
		out = append(out, c)
	}
	if len(out) != CodeLen {
		return "", false
	}
	return string(out), true
}

// FormatCode writes a canonical code in two groups of four, as people read it.
func FormatCode(code string) string {
	if len(code) != CodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// CodeThrottle counts failed guesses of a secret per key and locks the key
// after too many (the e-ID's throttle, given by app).
type CodeThrottle interface {
	Allow(ctx context.Context, key string) error
	Fail(ctx context.Context, tx *db.Tx, key string) error
}

// Share is a holder's choice of one document's claims, shown to whoever
// has its code until it expires, is used up or is ended.
type Share struct {
	ID         string
	DocumentID string
	Holder     Holder
	Claims     []string // the claims disclosed, in the type's order
	Purpose    string
	CreatedBy  string // the account that made it (the holder, a guardian, a representative)
	CreatedAt  time.Time
	ExpiresAt  time.Time
	MaxUses    int // 0: any number of times until it expires
	Uses       int
	Ended      bool
	EndedAt    time.Time
}

// Gone says why a share no longer works at t — VerdictShareEnded,
// VerdictShareExpired or VerdictShareUsed — or "" while it works.
func (s Share) Gone(t time.Time) string {
	switch {
	case s.Ended:
		return VerdictShareEnded
	case !t.Before(s.ExpiresAt):
		return VerdictShareExpired
	case s.MaxUses > 0 && s.Uses >= s.MaxUses:
		return VerdictShareUsed
	}
	return ""
}

// NewShare is what a holder (or whoever acts for them) asks to share.
type NewShare struct {
	Holder     Holder
	DocumentID string
	Claims     []string
	Purpose    string
	TTL        time.Duration
	MaxUses    int
	By         string // the account asking
}

// Shares keeps the shares of documents and checks them for verifiers.
type Shares struct {
	w        *Service
	throttle CodeThrottle

	mu  sync.Mutex
	key []byte // of the codes' hashes, loaded on first use
}

// NewShares returns the shares of w's documents; throttle counts wrong
// codes per client.
func NewShares(w *Service, throttle CodeThrottle) (*Shares, error) {
	if w == nil || throttle == nil {
		return nil, kernel.Wrap(errors.New("a wallet and a throttle are required"), "wallet: shares")
	}
	return &Shares{w: w, throttle: throttle}, nil
}

const shareKeyAAD = "wallet.share.key"

// hashKey returns the key of the codes' hashes: made once, sealed at rest.
// Two instances making it at once agree on the first one stored.
func (s *Shares) hashKey(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	read := func() (string, error) {
		var stored string
		err := s.w.o.DB.QueryRow(ctx, `SELECT sealed FROM wallet_share_keys WHERE id = 1`).Scan(&stored)
		return stored, err
	}
	stored, err := read()
	if errors.Is(err, sql.ErrNoRows) {
		fresh := make([]byte, 32)
		_, _ = rand.Read(fresh)
		sealedKey := base64.StdEncoding.EncodeToString(s.w.o.Box.Seal(fresh, []byte(shareKeyAAD)))
		err = s.w.o.DB.Update(ctx, s.w.o.Clock.Now(), func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO wallet_share_keys (id, sealed, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
				sealedKey, kernel.Micros(tx.Now))
			return err
		})
		if err == nil {
			stored, err = read()
		}
	}
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: share key")
	}
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: share key")
	}
	key, err := s.w.o.Box.Open(raw, []byte(shareKeyAAD))
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: share key")
	}
	s.key = key
	return key, nil
}

// codeHash is the stored form of a canonical code.
func (s *Shares) codeHash(ctx context.Context, code string) (string, error) {
	key, err := s.hashKey(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// CheckPurpose trims a purpose and checks it: 1 to MaxPurpose printable
// characters on one line.
func CheckPurpose(p string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" || !utf8.ValidString(p) || utf8.RuneCountInString(p) > MaxPurpose {
		return "", kernel.E(kernel.Invalid, "walletpages.error.purpose", MaxPurpose)
	}
	for _, r := range p {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", kernel.E(kernel.Invalid, "walletpages.error.purpose", MaxPurpose)
		}
	}
	return p, nil
}

// Create makes a share of one of n.Holder's valid documents and returns it
// with its code, which is never stored and so never shown again.
func (s *Shares) Create(ctx context.Context, n NewShare) (Share, string, error) {
	purpose, err := CheckPurpose(n.Purpose)
	if err != nil {
		return Share{}, "", err
	}
	if n.TTL < MinShareTTL || n.TTL > MaxShareTTL {
		return Share{}, "", kernel.E(kernel.Invalid, "walletpages.error.expiry")
	}
	if n.MaxUses < 0 || n.MaxUses > MaxShareUses {
		return Share{}, "", kernel.E(kernel.Invalid, "walletpages.error.uses")
	}
	d, err := s.w.Document(ctx, n.Holder, n.DocumentID)
	if err != nil {
		return Share{}, "", err
	}
	now := s.w.o.Clock.Now()
	if !d.Valid(now) {
		return Share{}, "", kernel.E(kernel.Conflict, "wallet.error.not_valid")
	}
	t, err := s.w.o.Catalogue.Type(d.Type)
	if err != nil {
		return Share{}, "", err
	}
	claims, err := chosenClaims(t, d.Claims, n.Claims)
	if err != nil {
		return Share{}, "", err
	}
	names, _ := json.Marshal(claims)
	sh := Share{ID: kernel.NewID(), DocumentID: d.ID, Holder: n.Holder, Claims: claims, Purpose: purpose, CreatedBy: n.By,
		MaxUses: n.MaxUses}
	var code string
	for attempt := 0; ; attempt++ {
		code = NewCode()
		hash, err := s.codeHash(ctx, code)
		if err != nil {
			return Share{}, "", err
		}
		err = s.w.o.DB.Update(ctx, now, func(tx *db.Tx) error {
			var live int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM wallet_shares WHERE holder_kind = ? AND holder_id = ? AND revoked = 0 AND expires_at > ?`,
				n.Holder.Kind, n.Holder.ID, kernel.Micros(tx.Now)).Scan(&live); err != nil {
				return kernel.Wrap(err, "wallet: count shares")
			}
			if live >= MaxActiveShares {
				return kernel.E(kernel.Conflict, "walletpages.error.too_many_shares", MaxActiveShares)
			}
			sh.CreatedAt = tx.Now.Truncate(time.Microsecond)
			sh.ExpiresAt = sh.CreatedAt.Add(n.TTL)
			if _, err := tx.Exec(ctx, `INSERT INTO wallet_shares (id, code_hash, document_id, holder_kind, holder_id, claims, purpose,
				created_by, created_at, expires_at, max_uses, uses, revoked, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0)`,
				sh.ID, hash, sh.DocumentID, sh.Holder.Kind, sh.Holder.ID, string(names), sh.Purpose, sh.CreatedBy,
				kernel.Micros(sh.CreatedAt), kernel.Micros(sh.ExpiresAt), sh.MaxUses); err != nil {
				return err
			}
			_, err := audit.Append(ctx, tx, audit.Entry{Action: "wallet.share.create", SubjectType: "wallet_share", SubjectID: sh.ID,
				Details: map[string]any{"document": d.ID, "type": d.Type, "holder_kind": d.Holder.Kind, "claims": claims,
					"expires_in_s": int(n.TTL / time.Second), "max_uses": n.MaxUses}})
			return err
		})
		// Codes of every share ever made are unique, so an old code never
		// opens a new share; a clash (about one in 10^6 for a million
		// shares kept) draws again.
		if db.IsUniqueViolation(err) && attempt < 4 {
			continue
		}
		if err != nil {
			if kernel.ErrorCode(err) == kernel.Internal {
				return Share{}, "", kernel.Wrap(err, "wallet: create share")
			}
			return Share{}, "", err
		}
		return sh, code, nil
	}
}

// chosenClaims checks the claims chosen against the document's and puts
// them in the type's order, each once.
func chosenClaims(t Type, have map[string]any, chosen []string) ([]string, error) {
	want := map[string]bool{}
	for _, c := range chosen {
		if _, ok := have[c]; !ok {
			return nil, kernel.E(kernel.Invalid, "wallet.error.claim_unknown", c)
		}
		want[c] = true
	}
	if len(want) == 0 {
		return nil, kernel.E(kernel.Invalid, "wallet.error.no_claims")
	}
	out := make([]string, 0, len(want))
	for _, c := range t.Claims {
		if want[c.Name] {
			out = append(out, c.Name)
			delete(want, c.Name)
		}
	}
	rest := make([]string, 0, len(want))
	for c := range want {
		rest = append(rest, c)
	}
	slices.Sort(rest)
	return append(out, rest...), nil
}

const shareColumns = `id, document_id, holder_kind, holder_id, claims, purpose, created_by, created_at, expires_at, max_uses, uses, revoked, ended_at`

func scanShare(sc interface{ Scan(...any) error }) (Share, error) {
	var sh Share
	var claims string
	var created, expires, ended int64
	var revoked int
	if err := sc.Scan(&sh.ID, &sh.DocumentID, &sh.Holder.Kind, &sh.Holder.ID, &claims, &sh.Purpose, &sh.CreatedBy,
		&created, &expires, &sh.MaxUses, &sh.Uses, &revoked, &ended); err != nil {
		return Share{}, err
	}
	if err := json.Unmarshal([]byte(claims), &sh.Claims); err != nil {
		return Share{}, err
	}
	sh.CreatedAt, sh.ExpiresAt = kernel.FromMicros(created), kernel.FromMicros(expires)
	sh.Ended = revoked != 0
	if ended != 0 {
		sh.EndedAt = kernel.FromMicros(ended)
	}
	return sh, nil
}

// Share returns one of h's shares; another holder's is NotFound.
func (s *Shares) Share(ctx context.Context, h Holder, id string) (Share, error) {
	sh, err := scanShare(s.w.o.DB.QueryRow(ctx, `SELECT `+shareColumns+` FROM wallet_shares WHERE id = ? AND holder_kind = ? AND holder_id = ?`,
		id, h.Kind, h.ID))
	if errors.Is(err, sql.ErrNoRows) {
		return Share{}, kernel.E(kernel.NotFound, "walletpages.error.no_share")
	}
	if err != nil {
		return Share{}, kernel.Wrap(err, "wallet: share")
	}
	return sh, nil
}

// Live lists the shares of one of h's documents that still work, newest first.
func (s *Shares) Live(ctx context.Context, h Holder, documentID string) ([]Share, error) {
	now := s.w.o.Clock.Now()
	rows, err := s.w.o.DB.Query(ctx, `SELECT `+shareColumns+` FROM wallet_shares WHERE document_id = ? AND holder_kind = ? AND holder_id = ?
		AND revoked = 0 AND expires_at > ? ORDER BY created_at DESC, id`, documentID, h.Kind, h.ID, kernel.Micros(now))
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: live shares")
	}
	defer rows.Close()
	var out []Share
	for rows.Next() {
		sh, err := scanShare(rows)
		if err != nil {
			return nil, kernel.Wrap(err, "wallet: live shares")
		}
		if sh.Gone(now) == "" {
			out = append(out, sh)
		}
	}
	return out, kernel.Wrap(rows.Err(), "wallet: live shares")
}

// End stops one of h's shares at once. Ending an ended share is no error.
func (s *Shares) End(ctx context.Context, h Holder, id string) error {
	return s.w.o.DB.Update(ctx, s.w.o.Clock.Now(), func(tx *db.Tx) error {
		var revoked int
		err := tx.QueryRow(ctx, `SELECT revoked FROM wallet_shares WHERE id = ? AND holder_kind = ? AND holder_id = ?`, id, h.Kind, h.ID).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return kernel.E(kernel.NotFound, "walletpages.error.no_share")
		}
		if err != nil {
			return kernel.Wrap(err, "wallet: end share")
		}
		if revoked != 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE wallet_shares SET revoked = 1, ended_at = ? WHERE id = ?`, kernel.Micros(tx.Now), id); err != nil {
			return kernel.Wrap(err, "wallet: end share")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "wallet.share.end", SubjectType: "wallet_share", SubjectID: id,
			Details: map[string]any{"holder_kind": h.Kind}})
		return err
	})
}

// Verifier is who checks a share.
type Verifier struct {
	// Client names the client for the throttle of wrong codes (its IP
	// address, or network for IPv6).
	Client string
	// Agency is the code of the official's agency, or "" for the public.
	Agency string
	// Account is the official's account, or "".
	Account string
	// Audience is the presentation's audience: this verifier.
	Audience string
}

// Checked is what a verifier learns from a share's code.
type Checked struct {
	Share   Share
	Verdict string
	// Type and Agency (a code) of the document; zero when the share no
	// longer works.
	Type   Type
	Agency string
	// Claims are the disclosed claims, only when the verdict is valid.
	Claims   map[string]any
	Names    []string // their names, in the type's order
	KeyBound bool     // presented by its holder
}

// Check looks up a share by its code and, while it works, has the
// holder's wallet present the chosen claims to this verifier (its
// audience, a fresh nonce) and verifies that presentation: signature,
// holder binding, status. Every check is recorded; a wrong code counts
// against the client and is NotFound, or TooManyRequests once locked.
func (s *Shares) Check(ctx context.Context, code string, v Verifier) (Checked, error) {
	key := "wallet.share:" + v.Client
	if err := s.throttle.Allow(ctx, key); err != nil {
		return Checked{}, err
	}
	canon, ok := NormaliseCode(code)
	if !ok {
		// Not a code at all: nothing was guessed, nothing to count.
		return Checked{}, kernel.E(kernel.NotFound, "walletpages.error.no_share")
	}
	hash, err := s.codeHash(ctx, canon)
	if err != nil {
		return Checked{}, err
	}
	var out Checked
	var miss, locked error
	err = s.w.o.DB.Update(ctx, s.w.o.Clock.Now(), func(tx *db.Tx) error {
		sh, err := scanShare(tx.QueryRow(ctx, `SELECT `+shareColumns+` FROM wallet_shares WHERE code_hash = ?`, hash))
		if errors.Is(err, sql.ErrNoRows) {
			miss = kernel.E(kernel.NotFound, "walletpages.error.no_share")
			if ferr := s.throttle.Fail(ctx, tx, key); kernel.ErrorCode(ferr) == kernel.TooManyRequests {
				locked = ferr
			} else if ferr != nil {
				return ferr
			}
			return nil
		}
		if err != nil {
			return kernel.Wrap(err, "wallet: find share")
		}
		out.Share = sh
		if gone := sh.Gone(tx.Now); gone != "" {
			out.Verdict = gone
			return s.record(ctx, tx, sh, v, gone)
		}
		// Take a use now: two verifiers of a single-use share cannot both have it.
		res, err := tx.Exec(ctx, `UPDATE wallet_shares SET uses = uses + 1 WHERE id = ? AND revoked = 0 AND (max_uses = 0 OR uses < max_uses)`, sh.ID)
		if err != nil {
			return kernel.Wrap(err, "wallet: use share")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			out.Verdict = VerdictShareUsed
			return s.record(ctx, tx, sh, v, VerdictShareUsed)
		}
		out.Share.Uses++
		return nil
	})
	switch {
	case err != nil:
		return Checked{}, err
	case locked != nil:
		return Checked{}, locked
	case miss != nil:
		return Checked{}, miss
	case out.Verdict != "":
		return out, nil
	}
	if err := s.present(ctx, &out, v); err != nil {
		return Checked{}, err
	}
	err = s.w.o.DB.Update(ctx, s.w.o.Clock.Now(), func(tx *db.Tx) error { return s.record(ctx, tx, out.Share, v, out.Verdict) })
	if err != nil {
		return Checked{}, err
	}
	return out, nil
}

// present has the holder's wallet present the share's claims to v and
// verifies the presentation as any verifier would, filling out.
func (s *Shares) present(ctx context.Context, out *Checked, v Verifier) error {
	sh := out.Share
	nonce := kernel.NewToken()
	pres, err := s.w.Present(ctx, sh.Holder, sh.DocumentID, sh.Claims, v.Audience, nonce)
	if err != nil {
		switch kernel.ErrorCode(err) {
		case kernel.Conflict, kernel.Invalid, kernel.NotFound:
			// No longer valid (or its claims changed): say why without claims.
			return s.notPresented(ctx, out)
		}
		return err
	}
	ver, err := s.w.Verify(ctx, pres, &sdjwt.ExpectKeyBinding{Audience: v.Audience, Nonce: nonce})
	if err != nil {
		if kernel.ErrorCode(err) != kernel.Invalid {
			return err
		}
		s.w.o.Logger.WarnContext(ctx, "wallet: a share's own presentation did not verify", slog.String("share", sh.ID),
			slog.String("request_id", kernel.RequestIDFrom(ctx)), slog.Any("err", err))
		out.Verdict = VerdictInvalid
		return nil
	}
	out.Type, out.Agency, out.KeyBound = ver.Type, ver.Agency, ver.KeyBound
	switch {
	case !ver.KeyBound:
		out.Verdict = VerdictInvalid
	case ver.Status == statuslist.Valid:
		out.Verdict = VerdictValid
	case ver.Status == statuslist.Suspended:
		out.Verdict = VerdictSuspended
	case ver.Status == statuslist.Invalid:
		out.Verdict = VerdictRevoked
	default:
		out.Verdict = VerdictInvalid
	}
	if out.Verdict != VerdictValid {
		return nil
	}
	// Only what the share names, whatever the presentation carries.
	out.Claims = map[string]any{}
	for _, c := range sh.Claims {
		if val, ok := ver.Claims[c]; ok {
			out.Claims[c] = val
			out.Names = append(out.Names, c)
		}
	}
	return nil
}

// notPresented fills the verdict of a share whose document the wallet no
// longer presents: revoked, suspended or expired.
func (s *Shares) notPresented(ctx context.Context, out *Checked) error {
	d, err := s.w.Document(ctx, out.Share.Holder, out.Share.DocumentID)
	if kernel.ErrorCode(err) == kernel.NotFound {
		out.Verdict = VerdictInvalid
		return nil
	}
	if err != nil {
		return err
	}
	out.Agency = d.Agency
	if t, err := s.w.o.Catalogue.Type(d.Type); err == nil {
		out.Type = t
	}
	switch {
	case d.Status == StatusRevoked:
		out.Verdict = VerdictRevoked
	case d.Status == StatusSuspended:
		out.Verdict = VerdictSuspended
	case !d.ExpiresAt.IsZero() && !s.w.o.Clock.Now().Before(d.ExpiresAt):
		out.Verdict = VerdictExpired
	default:
		out.Verdict = VerdictInvalid
	}
	return nil
}

// record writes a check of sh into its holder's history, and the audit log.
func (s *Shares) record(ctx context.Context, tx *db.Tx, sh Share, v Verifier, verdict string) error {
	who := v.Agency
	if who == "" {
		who = VerifierPublic
	}
	if _, err := tx.Exec(ctx, `INSERT INTO wallet_share_checks (id, share_id, holder_kind, holder_id, checked_at, verifier, verifier_account, verdict)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, kernel.NewID(), sh.ID, sh.Holder.Kind, sh.Holder.ID, kernel.Micros(tx.Now), who, v.Account, verdict); err != nil {
		return kernel.Wrap(err, "wallet: record check")
	}
	return audit.Queue(ctx, tx, audit.Entry{Action: "wallet.share.verify", SubjectType: "wallet_share", SubjectID: sh.ID,
		Details: map[string]any{"document": sh.DocumentID, "verifier": who, "verdict": verdict}})
}

// ShareEvent is a line of a holder's history: a share made, or a check of one.
type ShareEvent struct {
	At       time.Time
	Share    Share
	Check    bool   // a check of Share; otherwise Share being made
	Verifier string // of a check: VerifierPublic or an agency code
	Verdict  string // of a check
	DocType  string // the shared document's type code
}

// History lists the shares h made and every check of them, newest first,
// at most limit of each.
func (s *Shares) History(ctx context.Context, h Holder, limit int) ([]ShareEvent, error) {
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	var out []ShareEvent
	err := s.w.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT s.id, s.document_id, s.holder_kind, s.holder_id, s.claims, s.purpose, s.created_by, s.created_at,
			s.expires_at, s.max_uses, s.uses, s.revoked, s.ended_at, d.type
			FROM wallet_shares s LEFT JOIN wallet_documents d ON d.id = s.document_id
			WHERE s.holder_kind = ? AND s.holder_id = ? ORDER BY s.created_at DESC, s.id LIMIT ?`, h.Kind, h.ID, limit)
		if err != nil {
			return err
		}
		byID := map[string]Share{}
		types := map[string]string{}
		for rows.Next() {
			var typ sql.NullString
			sh, err := scanShare(scanPlus{rows, []any{&typ}})
			if err != nil {
				rows.Close()
				return err
			}
			byID[sh.ID], types[sh.ID] = sh, typ.String
			out = append(out, ShareEvent{At: sh.CreatedAt, Share: sh, DocType: typ.String})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT c.checked_at, c.verifier, c.verdict, s.id, s.document_id, s.holder_kind, s.holder_id, s.claims, s.purpose,
			s.created_by, s.created_at, s.expires_at, s.max_uses, s.uses, s.revoked, s.ended_at, d.type
			FROM wallet_share_checks c JOIN wallet_shares s ON s.id = c.share_id LEFT JOIN wallet_documents d ON d.id = s.document_id
			WHERE c.holder_kind = ? AND c.holder_id = ? ORDER BY c.checked_at DESC, c.id LIMIT ?`, h.Kind, h.ID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var at int64
			var e ShareEvent
			var typ sql.NullString
			sh, err := scanShare(scanPlus{scanFirst{rows, []any{&at, &e.Verifier, &e.Verdict}}, []any{&typ}})
			if err != nil {
				return err
			}
			e.At, e.Share, e.Check, e.DocType = kernel.FromMicros(at), sh, true, typ.String
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: history")
	}
	slices.SortStableFunc(out, func(a, b ShareEvent) int { return b.At.Compare(a.At) })
	return out, nil
}

// scanPlus scans the columns a scan function knows and then more.
type scanPlus struct {
	sc   interface{ Scan(...any) error }
	more []any
}

func (p scanPlus) Scan(dest ...any) error { return p.sc.Scan(append(dest, p.more...)...) }

// scanFirst scans some columns before those a scan function knows.
type scanFirst struct {
	sc    interface{ Scan(...any) error }
	first []any
}

func (p scanFirst) Scan(dest ...any) error { return p.sc.Scan(append(p.first, dest...)...) }
