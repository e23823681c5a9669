package feedback

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Client is an app that sends reports through Open311 with an API key.
type Client struct {
	ID        string
	Name      string
	CreatedAt time.Time
	Revoked   bool
}

// apiKeyPrefix starts every key, so a key found in a log or a repository
// is recognised for what it is.
const apiKeyPrefix = "civ311_"

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Clients are the Open311 client apps and their keys: what an operator's
// command needs, without the rest of the service.
type Clients struct {
	DB    *db.DB
	Clock kernel.Clock
}

// AddClient registers an Open311 client app and returns its API key, which
// is shown this once: only its hash is kept.
func (s *Service) AddClient(ctx context.Context, name string) (Client, string, error) {
	return Clients{DB: s.o.DB, Clock: s.o.Clock}.Add(ctx, name)
}

// Add registers an Open311 client app and returns its API key, which is
// shown this once: only its hash is kept.
func (cs Clients) Add(ctx context.Context, name string) (Client, string, error) {
	name, ok := cleanText(name, 100)
	if !ok || name == "" || strings.ContainsAny(name, "\n\t") {
		return Client{}, "", kernel.E(kernel.Invalid, "feedback.error.client_name")
	}
	key := apiKeyPrefix + kernel.NewToken()
	c := Client{ID: kernel.NewID(), Name: name, CreatedAt: cs.Clock.Now()}
	err := cs.DB.Update(ctx, c.CreatedAt, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO feedback_clients (id, name, key_hash, created_at) VALUES (?, ?, ?, ?)`,
			c.ID, c.Name, hashSecret(key), kernel.Micros(tx.Now)); err != nil {
			return kernel.Wrap(err, "feedback: add client")
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "feedback.client.add", SubjectType: "feedback_client", SubjectID: c.ID,
			Details: map[string]any{"name": c.Name}})
		return err
	})
	if err != nil {
		return Client{}, "", err
	}
	return c, key, nil
}

// RevokeClient stops a client's key from working (within keyCacheTTL on
// other instances).
func (s *Service) RevokeClient(ctx context.Context, id string) error {
	err := Clients{DB: s.o.DB, Clock: s.o.Clock}.Revoke(ctx, id)
	if err == nil {
		s.keys.forget()
	}
	return err
}

// Revoke stops a client's key from working (within keyCacheTTL on running
// servers).
func (cs Clients) Revoke(ctx context.Context, id string) error {
	return cs.DB.Update(ctx, cs.Clock.Now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE feedback_clients SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, kernel.Micros(tx.Now), id)
		if err != nil {
			return kernel.Wrap(err, "feedback: revoke client")
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return kernel.E(kernel.NotFound, "feedback.error.no_client")
		}
		_, err = audit.Append(ctx, tx, audit.Entry{Action: "feedback.client.revoke", SubjectType: "feedback_client", SubjectID: id})
		return err
	})
}

// List returns the client apps, newest first.
func (cs Clients) List(ctx context.Context) ([]Client, error) {
	var out []Client
	err := cs.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, name, created_at, revoked_at FROM feedback_clients ORDER BY created_at DESC, id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Client
			var created, revoked int64
			if err := rows.Scan(&c.ID, &c.Name, &created, &revoked); err != nil {
				return err
			}
			c.CreatedAt, c.Revoked = kernel.FromMicros(created), revoked != 0
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, kernel.Wrap(err, "feedback: list clients")
	}
	return out, nil
}

// keyCache remembers API keys checked recently, so that every report an
// app sends does not read the database for its key.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

type cachedKey struct {
	client Client
	ok     bool
	at     time.Time
}

// keyCacheTTL is how long a key's check is remembered.
const keyCacheTTL = 30 * time.Second

func newKeyCache() *keyCache { return &keyCache{m: map[string]cachedKey{}} }

func (c *keyCache) forget() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

func errBadKey() error { return kernel.E(kernel.Forbidden, "feedback.error.api_key") }

// client checks an API key and returns its client.
func (s *Service) client(ctx context.Context, key string) (Client, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 100 {
		return Client{}, errBadKey()
	}
	h := hashSecret(key)
	now := s.o.Clock.Now()
	s.keys.mu.Lock()
	ck, hit := s.keys.m[h]
	s.keys.mu.Unlock()
	if !hit || now.Sub(ck.at) > keyCacheTTL {
		var c Client
		var created, revoked int64
		err := s.o.DB.QueryRow(ctx, `SELECT id, name, created_at, revoked_at FROM feedback_clients WHERE key_hash = ?`, h).
			Scan(&c.ID, &c.Name, &created, &revoked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			ck = cachedKey{at: now}
		case err != nil:
			return Client{}, kernel.Wrap(err, "feedback: check API key")
		default:
			c.CreatedAt, c.Revoked = kernel.FromMicros(created), revoked != 0
			ck = cachedKey{client: c, ok: !c.Revoked, at: now}
		}
		s.keys.mu.Lock()
		if len(s.keys.m) > 10_000 { // guessed keys must not fill the memory
			clear(s.keys.m)
		}
		s.keys.m[h] = ck
		s.keys.mu.Unlock()
	}
	if !ck.ok {
		return Client{}, errBadKey()
	}
	return ck.client, nil
}
