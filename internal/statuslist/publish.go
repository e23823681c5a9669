package statuslist

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
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

// gzipped returns b gzipped, or nil when that is no smaller. The draft
// asks for Content-Encoding on JWT tokens: base64 leaves a quarter to gain.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	_, _ = w.Write(b)                                       // a bytes.Buffer does not fail
	if w.Close() != nil || buf.Len() >= len(b) {
		return nil
	}
	return buf.Bytes()
}

// Mount serves GET PathPrefix{list}: the list's Status List Token as
// application/statuslist+jwt, cacheable for what remains of its TTL, to
// anyone (CORS, as the draft asks, since it is public and signed), and 404
// for a list this store does not hold. Relying parties come without a
// session, so PathPrefix is exempt from CSRF (and ignores the cookie).
func (s *Store) Mount(ws *web.Server) {
	ws.ExemptFromCSRF(PathPrefix)
	ws.HandleFunc("GET "+PathPrefix+"{list}", func(w http.ResponseWriter, r *http.Request) {
		b, err := s.current(r.Context(), r.PathValue("list"))
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		left := max(0, b.at.Add(s.ttl).Sub(s.clock.Now())/time.Second)
		h := w.Header()
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(left)))
		h.Set("ETag", b.etag)
		h.Set("Access-Control-Allow-Origin", "*")
		if etagMatches(r.Header.Get("If-None-Match"), b.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", MediaType)
		h.Set("Vary", "Accept-Encoding")
		body := b.token
		if b.gzipped != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body = b.gzipped
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	})
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for v := range strings.SplitSeq(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(v), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q, _ := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
			return q == "" || strings.Trim(q, "0.") != "" // "q=0", "q=0.000" refuse it
		}
	}
	return false
}

// etagMatches reports whether an If-None-Match header names etag (or is "*").
func etagMatches(header, etag string) bool {
	for v := range strings.SplitSeq(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == etag || v == "*" {
			return true
		}
	}
	return false
}
