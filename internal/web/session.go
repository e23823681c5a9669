package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Session cookie names. Over https the __Host- prefix makes the browser
// refuse the cookie unless it is Secure, host-only and for path /, so a
// sibling subdomain cannot plant a session (fixation).
const (
	sessionCookie       = "civitas_session"
	secureSessionCookie = "__Host-civitas_session"
	tokenLen            = 52 // kernel.NewToken: 256 bits in base32
)

// Session is a browser session. It starts anonymous, holding only the CSRF
// token; a login renews it with an account (RenewSession).
type Session struct {
	AccountID string // "" while anonymous
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
	// How the login was made (see Login); empty while anonymous.
	ACR      string
	AMR      []string
	AuthTime time.Time
	// ActingFor names whom the account acts for in this session (a guardian
	// for a dependent child, a member for an organisation), or "".
	ActingFor string
	UserAgent string

	idHash string
}

// ID is a stable public name of the session: safe to put in a page or a
// token (it is derived from the hash of the cookie, never the cookie).
func (s *Session) ID() string { return s.idHash[:32] }

// Login is what a successful login hands to StartLogin.
type Login struct {
	AccountID string
	ACR       string   // assurance reached, e.g. urn:civitas:acr:level1
	AMR       []string // RFC 8176 methods used: pwd, otp, hwk, ...
	AuthTime  time.Time
}

// SessionInfo describes one of an account's sessions for a "your sessions"
// list.
type SessionInfo struct {
	ID        string
	CreatedAt time.Time
	ExpiresAt time.Time
	UserAgent string
	ACR       string
	Current   bool
}

// errNoSession is returned when the request carries no live session.
func errNoSession() error { return kernel.E(kernel.Unauthenticated, "error.unauthenticated") }

type sessionKey struct{}

// sessionState is the request's session, loaded on first use: most requests
// (static files, plain pages, probes) never touch the database for it.
type sessionState struct {
	mu       sync.Mutex
	disabled bool // a CSRF-exempt path: the cookie is ignored
	loaded   bool
	sess     *Session
	err      error
	// slide is the session's new deadline, written once the handler is
	// done (zero: none). Not at lookup: the actor source may look the
	// session up inside the handler's write transaction, and a write there
	// would wait for ever for the writer that transaction holds.
	slide     time.Time
	slideHash string // the session it is for
}

func (s *Server) sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &sessionState{disabled: s.isExempt(r.URL.Path)}
		ctx := context.WithValue(r.Context(), sessionKey{}, st)
		// The acting person is whoever the session names, looked up only
		// when a service asks (an audit record, a rule): handlers never set it.
		ctx = kernel.WithActorSource(ctx, func() kernel.Actor {
			st.mu.Lock()
			defer st.mu.Unlock()
			sess, err := s.loadLocked(r, st)
			if err != nil || sess.AccountID == "" {
				return kernel.Actor{Kind: kernel.ActorAnonymous}
			}
			return kernel.Actor{Kind: kernel.ActorCitizen, ID: sess.AccountID, OnBehalfOf: sess.ActingFor}
		})
		next.ServeHTTP(w, r.WithContext(ctx))
		st.mu.Lock()
		slide, hash := st.slide, st.slideHash
		st.slide = time.Time{}
		st.mu.Unlock()
		if !slide.IsZero() {
			s.slideSession(context.WithoutCancel(r.Context()), hash, slide)
		}
	})
}

// slideSession moves a session's deadline forward. A failure costs the
// session some idle time, never the request: it is logged only.
func (s *Server) slideSession(ctx context.Context, idHash string, next time.Time) {
	err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE web_sessions SET expires_at = ? WHERE id_hash = ? AND expires_at < ?`,
			kernel.Micros(next), idHash, kernel.Micros(next))
		return err
	})
	if err != nil {
		s.log.WarnContext(ctx, "web: extend session", slog.String("request_id", kernel.RequestIDFrom(ctx)), slog.Any("err", err))
	}
}

func stateOf(r *http.Request) *sessionState {
	if st, ok := r.Context().Value(sessionKey{}).(*sessionState); ok {
		return st
	}
	return &sessionState{} // outside the chain (a test calling a handler directly)
}

func (s *Server) cookieName() string {
	if s.secure {
		return secureSessionCookie
	}
	return sessionCookie
}

// Session returns the request's live session. Without one it fails with an
// Unauthenticated error; a database failure is Internal.
func (s *Server) Session(r *http.Request) (*Session, error) {
	st := stateOf(r)
	st.mu.Lock()
	defer st.mu.Unlock()
	return s.loadLocked(r, st)
}

func (s *Server) loadLocked(r *http.Request, st *sessionState) (*Session, error) {
	if st.disabled {
		return nil, errNoSession()
	}
	if !st.loaded {
		st.loaded = true
		if c, err := r.Cookie(s.cookieName()); err == nil && validToken(c.Value) {
			st.sess, st.slide, st.err = s.findSession(r.Context(), c.Value)
			if st.sess != nil {
				st.slideHash = st.sess.idHash
			}
		} else {
			st.err = errNoSession()
		}
	}
	return st.sess, st.err
}

// findSession looks a session up by its cookie token, and says how far its
// idle deadline slides forward (zero: not at all). To spare the database a
// write per request, the deadline moves only once half the idle time has
// passed. It only reads.
func (s *Server) findSession(ctx context.Context, token string) (*Session, time.Time, error) {
	now := s.clock.Now()
	sess := &Session{idHash: hashToken(token)}
	var created, expires, authTime int64
	var amr string
	err := s.db.QueryRow(ctx,
		`SELECT account_id, csrf_token, created_at, expires_at, acr, amr, auth_time, acting_for, user_agent
		FROM web_sessions WHERE id_hash = ? AND expires_at > ?`,
		sess.idHash, kernel.Micros(now)).Scan(&sess.AccountID, &sess.CSRFToken, &created, &expires,
		&sess.ACR, &amr, &authTime, &sess.ActingFor, &sess.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, errNoSession()
	}
	if err != nil {
		return nil, time.Time{}, kernel.Wrap(err, "web: find session")
	}
	sess.CreatedAt, sess.ExpiresAt = kernel.FromMicros(created), kernel.FromMicros(expires)
	if authTime != 0 {
		sess.AuthTime = kernel.FromMicros(authTime)
	}
	sess.AMR = strings.Fields(amr)
	limit := sess.CreatedAt.Add(s.maxAge)
	if sess.ExpiresAt.Sub(now) < s.idle/2 && sess.ExpiresAt.Before(limit) {
		next := now.Add(s.idle)
		if next.After(limit) {
			next = limit
		}
		sess.ExpiresAt = next
		return sess, next, nil
	}
	return sess, time.Time{}, nil
}

// EnsureSession returns the request's session, starting an anonymous one
// (and setting its cookie) when there is none.
func (s *Server) EnsureSession(w http.ResponseWriter, r *http.Request) (*Session, error) {
	st := stateOf(r)
	st.mu.Lock()
	defer st.mu.Unlock()
	sess, err := s.loadLocked(r, st)
	if err == nil {
		return sess, nil
	}
	if kernel.ErrorCode(err) != kernel.Unauthenticated {
		return nil, err
	}
	if st.disabled {
		return nil, kernel.Wrap(errors.New("no sessions on CSRF-exempt paths"), "web: start session at %s", r.URL.Path)
	}
	sess, err = s.startSession(r.Context(), w, Login{}, "", "")
	if err != nil {
		return nil, err
	}
	st.sess, st.err = sess, nil
	return sess, nil
}

// CSRFToken returns the token a form must send back in its csrf_token
// field (or a script in the X-CSRF-Token header), starting a session if
// needed.
func (s *Server) CSRFToken(w http.ResponseWriter, r *http.Request) (string, error) {
	sess, err := s.EnsureSession(w, r)
	if err != nil {
		return "", err
	}
	return sess.CSRFToken, nil
}

// RenewSession replaces the request's session, if any, with a new one for
// accountID: a new cookie token and a new CSRF token. A login must call it,
// so that a session ID planted before the login (session fixation) is
// worthless after it. The old session stops working at once.
func (s *Server) RenewSession(w http.ResponseWriter, r *http.Request, accountID string) (*Session, error) {
	return s.StartLogin(w, r, Login{AccountID: accountID, AuthTime: s.clock.Now()})
}

// StartLogin is RenewSession with the details of how the login was made,
// which the OpenID Provider puts into ID tokens (acr, amr, auth_time).
func (s *Server) StartLogin(w http.ResponseWriter, r *http.Request, login Login) (*Session, error) {
	st := stateOf(r)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.disabled {
		return nil, kernel.Wrap(errors.New("no sessions on CSRF-exempt paths"), "web: renew session at %s", r.URL.Path)
	}
	old := ""
	if c, err := r.Cookie(s.cookieName()); err == nil && validToken(c.Value) {
		old = hashToken(c.Value)
	}
	login.AccountID = strings.TrimSpace(login.AccountID)
	sess, err := s.startSession(r.Context(), w, login, userAgent(r), old)
	if err != nil {
		return nil, err
	}
	st.loaded, st.sess, st.err = true, sess, nil
	return sess, nil
}

// userAgent keeps a short, printable form of the browser's name for the
// session list.
func userAgent(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, strings.ToValidUTF8(ua, ""))
}

// SetActingFor records in the request's live session whom its account acts
// for ("" to act for itself). The caller has checked the right to do so.
func (s *Server) SetActingFor(r *http.Request, whom string) error {
	sess, err := s.Session(r)
	if err != nil {
		return err
	}
	err = s.db.Update(r.Context(), s.clock.Now(), func(tx *db.Tx) error {
		_, err := tx.Exec(r.Context(), `UPDATE web_sessions SET acting_for = ? WHERE id_hash = ?`, whom, sess.idHash)
		return err
	})
	if err != nil {
		return kernel.Wrap(err, "web: set acting for")
	}
	sess.ActingFor = whom
	return nil
}

// AccountSessions lists the live sessions of an account, newest first;
// current is the ID of the session asking, marked Current in the list.
func (s *Server) AccountSessions(ctx context.Context, accountID, current string) ([]SessionInfo, error) {
	rows, err := s.db.Query(ctx,
		`SELECT id_hash, created_at, expires_at, user_agent, acr FROM web_sessions
		WHERE account_id = ? AND expires_at > ? ORDER BY created_at DESC LIMIT 100`,
		accountID, kernel.Micros(s.clock.Now()))
	if err != nil {
		return nil, kernel.Wrap(err, "web: list sessions")
	}
	defer rows.Close()
	var out []SessionInfo
	for rows.Next() {
		var si SessionInfo
		var created, expires int64
		if err := rows.Scan(&si.ID, &created, &expires, &si.UserAgent, &si.ACR); err != nil {
			return nil, kernel.Wrap(err, "web: list sessions")
		}
		si.ID = si.ID[:32]
		si.CreatedAt, si.ExpiresAt = kernel.FromMicros(created), kernel.FromMicros(expires)
		si.Current = si.ID == current
		out = append(out, si)
	}
	if err := rows.Err(); err != nil {
		return nil, kernel.Wrap(err, "web: list sessions")
	}
	return out, nil
}

// EndSessions ends sessions of an account: the one named id, or, when id
// is "", every one except keep ("sign out everywhere else"). It returns how
// many ended.
func (s *Server) EndSessions(ctx context.Context, accountID, id, keep string) (int64, error) {
	var n int64
	err := s.db.Update(ctx, s.clock.Now(), func(tx *db.Tx) error {
		var res sql.Result
		var err error
		if id != "" {
			if len(id) != 32 {
				return nil
			}
			res, err = tx.Exec(ctx, `DELETE FROM web_sessions WHERE account_id = ? AND id_hash LIKE ?`, accountID, id+"%")
		} else {
			res, err = tx.Exec(ctx, `DELETE FROM web_sessions WHERE account_id = ? AND id_hash NOT LIKE ?`, accountID, keep+"%")
		}
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, kernel.Wrap(err, "web: end sessions")
	}
	return n, nil
}

// SignOut ends the request's session and clears its cookie.
func (s *Server) SignOut(w http.ResponseWriter, r *http.Request) error {
	st := stateOf(r)
	st.mu.Lock()
	defer st.mu.Unlock()
	if c, err := r.Cookie(s.cookieName()); err == nil && validToken(c.Value) {
		err := s.db.Update(r.Context(), s.clock.Now(), func(tx *db.Tx) error {
			_, err := tx.Exec(r.Context(), `DELETE FROM web_sessions WHERE id_hash = ?`, hashToken(c.Value))
			return err
		})
		if err != nil {
			return kernel.Wrap(err, "web: sign out")
		}
	}
	http.SetCookie(w, s.sessionCookie("", -1))
	st.loaded, st.sess, st.err = true, nil, errNoSession()
	return nil
}

// startSession stores a new session, deleting the one whose hash is
// replace (if any) in the same transaction, and sets the cookie.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, login Login, ua, replace string) (*Session, error) {
	token := kernel.NewToken()
	now := s.clock.Now()
	sess := &Session{
		AccountID: login.AccountID,
		CSRFToken: kernel.NewToken(),
		CreatedAt: now,
		ExpiresAt: now.Add(s.idle),
		ACR:       login.ACR,
		AMR:       login.AMR,
		UserAgent: ua,
		idHash:    hashToken(token),
	}
	var authTime int64
	if login.AccountID != "" {
		sess.AuthTime = login.AuthTime
		if sess.AuthTime.IsZero() {
			sess.AuthTime = now
		}
		authTime = kernel.Micros(sess.AuthTime)
	}
	err := s.db.Update(ctx, now, func(tx *db.Tx) error {
		if replace != "" {
			if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, replace); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO web_sessions (id_hash, account_id, csrf_token, created_at, expires_at, acr, amr, auth_time, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.idHash, sess.AccountID, sess.CSRFToken, kernel.Micros(tx.Now), kernel.Micros(sess.ExpiresAt),
			sess.ACR, strings.Join(sess.AMR, " "), authTime, sess.UserAgent)
		return err
	})
	if err != nil {
		return nil, kernel.Wrap(err, "web: start session")
	}
	http.SetCookie(w, s.sessionCookie(token, 0))
	return sess, nil
}

// sessionCookie builds the cookie. It carries no Max-Age: it lasts until the
// browser closes, which matters on the shared phones and support-point
// computers many citizens use; the server's expiry bounds it anyway.
func (s *Server) sessionCookie(token string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     s.cookieName(),
		Value:    token,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteLaxMode,
	}
}

// DeleteExpiredSessions removes the sessions that expired at or before now
// and returns how many it removed.
func (s *Server) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.db.Update(ctx, now, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, kernel.Micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("web: delete expired sessions: %w", err)
	}
	return n, nil
}

// hashToken is what the database keeps instead of the token: a stolen copy
// of web_sessions opens no session.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// validToken accepts only what kernel.NewToken makes, so garbage cookies
// never reach the database.
func validToken(t string) bool {
	if len(t) != tokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return false
		}
	}
	return true
}

func equalTokens(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
