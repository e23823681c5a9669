package statuslist

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"time"

	"civitas/internal/kernel"
)

// tokenSlot holds the token served for one list.
type tokenSlot struct {
	mu    sync.Mutex // one build at a time
	built *built
}

// built is a signed token and what it was built from.
type built struct {
	token   []byte
	gzipped []byte // the token gzipped, for clients that accept it (nil when no smaller)
	etag    string
	version int64
	at      time.Time
}

func (s *Store) slot(list string) *tokenSlot {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[list]
	if t == nil {
		t = &tokenSlot{}
		s.tokens[list] = t
	}
	return t
}

// Token returns the signed Status List Token of list. It is built when the
// list has changed since the last one (in any process: the version is
// read at every call) or when that one is TTL old, and kept otherwise.
func (s *Store) Token(ctx context.Context, list string) ([]byte, error) {
	b, err := s.current(ctx, list)
	if err != nil {
		return nil, err
	}
	return b.token, nil
}

// Fetch returns the token at uri when it is one of this store's lists: a
// Fetch for a Cache that checks this site's own documents without HTTP.
func (s *Store) Fetch(ctx context.Context, uri string) ([]byte, error) {
	list, ok := strings.CutPrefix(uri, s.base+PathPrefix)
	if !ok {
		return nil, kernel.E(kernel.NotFound, "statuslist.error.no_list")
	}
	return s.Token(ctx, list)
}

// Published is a list's Status List Token as it is published: the token,
// the same gzipped (nil when that is no smaller: the draft asks for
// Content-Encoding on JWT tokens, and base64 leaves a quarter to gain), an
// entity tag naming this token, and how long caches may keep it (what is
// left of its TTL). The capability that publishes the lists serves them;
// this package serves no pages.
type Published struct {
	Token   []byte
	Gzipped []byte
	ETag    string
	MaxAge  time.Duration
}

// Published returns the token of list as it is published; an unknown list
// is NotFound.
func (s *Store) Published(ctx context.Context, list string) (Published, error) {
	b, err := s.current(ctx, list)
	if err != nil {
		return Published{}, err
	}
	left := max(0, b.at.Add(s.ttl).Sub(s.clock.Now()))
	return Published{Token: b.token, Gzipped: b.gzipped, ETag: b.etag, MaxAge: left}, nil
}

func (s *Store) current(ctx context.Context, list string) (*built, error) {
	if !validName(list) {
		return nil, kernel.E(kernel.NotFound, "statuslist.error.no_list")
	}
	var version int64
	err := s.db.QueryRow(ctx, `SELECT version FROM status_lists WHERE id = ?`, list).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kernel.E(kernel.NotFound, "statuslist.error.no_list")
	}
	if err != nil {
		return nil, kernel.Wrap(err, "statuslist: token")
	}
	t := s.slot(list)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := s.clock.Now()
	if b := t.built; b != nil && b.version >= version && now.Before(b.at.Add(s.ttl)) {
		return b, nil
	}
	var group string
	var bits int
	var packed []byte
	if err := s.db.QueryRow(ctx, `SELECT group_name, bits, version, packed FROM status_lists WHERE id = ?`, list).
		Scan(&group, &bits, &version, &packed); err != nil {
		return nil, kernel.Wrap(err, "statuslist: token")
	}
	l, err := FromBytes(bits, packed)
	if err != nil {
		return nil, kernel.Wrap(err, "statuslist: stored list %s", list)
	}
	signer, err := s.signer(ctx, group)
	if err != nil {
		return nil, kernel.Wrap(err, "statuslist: signer of %s", group)
	}
	now = now.Truncate(time.Second) // the claims are whole seconds: iat + TTL is when the next one is built
	tok, err := Sign(signer, Token{URI: s.URI(list), Issuer: signer.Issuer, IssuedAt: now,
		Expiry: now.Add(s.lifetime), TTL: s.ttl, List: l})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(tok)
	t.built = &built{token: tok, gzipped: gzipped(tok), etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`, version: version, at: now}
	return t.built, nil
}

// gzipped returns b gzipped, or nil when that is no smaller.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	_, _ = w.Write(b)                                       // a bytes.Buffer does not fail
	if w.Close() != nil || buf.Len() >= len(b) {
		return nil
	}
	return buf.Bytes()
}
