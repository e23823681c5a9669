package statuslist

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"civitas/internal/jose"
	"civitas/internal/kernel"
)

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Fetch returns the Status List Token at uri: FetchHTTP, or a Store's
	// Fetch for this site's own lists.
	Fetch func(ctx context.Context, uri string) ([]byte, error)
	// Key returns the key to verify the token at uri with, from the keys
	// the caller trusts for it; h is the token's unverified header, to pick
	// among them by "kid".
	Key   func(ctx context.Context, uri string, h jose.Header) (crypto.PublicKey, error)
	Clock kernel.Clock
	// MinTTL and MaxTTL bound how long a list is kept before it is fetched
	// again, whatever its "ttl" says: not so short that an issuer makes us
	// fetch at every check, not so long that a revocation goes unseen
	// (defaults 10 s and 1 h). A list without "ttl" is kept MaxTTL.
	MinTTL time.Duration
	MaxTTL time.Duration
	// MaxLists bounds how many lists are kept (default 1024).
	MaxLists int
}

// Cache keeps verified Status Lists for a relying party, so that checking
// the status of a Referenced Token costs a map lookup, and a fetch and a
// signature check only once per list and TTL.
type Cache struct {
	o     CacheOptions
	mu    sync.RWMutex
	lists map[string]*cacheEntry
}

// cacheEntry is one URI's list.
type cacheEntry struct {
	mu sync.Mutex // held while fetching: one fetch per list at a time
	v  atomic.Pointer[verifiedList]
}

// verifiedList is a verified list and how long it may be used.
type verifiedList struct {
	list      *List
	refreshAt time.Time // fetch again from then on
	expiry    time.Time // never use after; zero: the token had no exp
}

// NewCache returns an empty cache.
func NewCache(o CacheOptions) (*Cache, error) {
	if o.Fetch == nil || o.Key == nil {
		return nil, kernel.E(kernel.Invalid, "statuslist.error.options")
	}
	if o.Clock == nil {
		o.Clock = kernel.SystemClock{}
	}
	if o.MinTTL <= 0 {
		o.MinTTL = 10 * time.Second
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = time.Hour
	}
	if o.MaxLists <= 0 {
		o.MaxLists = 1024
	}
	return &Cache{o: o, lists: map[string]*cacheEntry{}}, nil
}

// Status returns the status of entry idx of the list at uri, as the
// Referenced Token's status_list claim names them. It fetches and verifies
// the list when it has none fresh. When a fetch fails after the list's TTL
// but before its "exp", the list already verified is used: the issuer
// promised it until then.
func (c *Cache) Status(ctx context.Context, uri string, idx int) (Status, error) {
	now := c.o.Clock.Now()
	c.mu.RLock()
	e := c.lists[uri]
	c.mu.RUnlock()
	if e != nil {
		if v := e.v.Load(); v != nil && now.Before(v.refreshAt) {
			return v.list.Get(idx)
		}
	} else {
		c.mu.Lock()
		if e = c.lists[uri]; e == nil {
			if len(c.lists) >= c.o.MaxLists {
				for k := range c.lists { // any one: lists come from documents the caller trusts, so few
					delete(c.lists, k)
					break
				}
			}
			e = &cacheEntry{}
			c.lists[uri] = e
		}
		c.mu.Unlock()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v := e.v.Load()
	if v != nil && now.Before(v.refreshAt) { // fetched while we waited
		return v.list.Get(idx)
	}
	nv, err := c.fetch(ctx, uri, now)
	if err != nil {
		if v != nil && !v.expiry.IsZero() && now.Before(v.expiry) {
			stale := *v
			stale.refreshAt = now.Add(c.o.MinTTL) // do not fetch again at every check
			e.v.Store(&stale)
			return v.list.Get(idx)
		}
		return 0, err
	}
	e.v.Store(nv)
	return nv.list.Get(idx)
}

// fetch gets and verifies the token at uri.
func (c *Cache) fetch(ctx context.Context, uri string, now time.Time) (*verifiedList, error) {
	tok, err := c.o.Fetch(ctx, uri)
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Internal {
			err = kernel.E(kernel.Unavailable, "statuslist.error.fetch").WithCause(err)
		}
		return nil, err
	}
	j, err := jose.Parse(string(tok))
	if err != nil {
		return nil, kernel.E(kernel.Invalid, "statuslist.error.bad_token").WithCause(err)
	}
	key, err := c.o.Key(ctx, uri, j.Header)
	if err != nil {
		return nil, err
	}
	t, err := Verify(tok, Expect{URI: uri, Key: key, Now: now})
	if err != nil {
		return nil, err
	}
	ttl := c.o.MaxTTL
	if t.TTL > 0 {
		ttl = min(max(t.TTL, c.o.MinTTL), c.o.MaxTTL)
	}
	v := &verifiedList{list: t.List, refreshAt: now.Add(ttl), expiry: t.Expiry}
	if !t.Expiry.IsZero() && t.Expiry.Before(v.refreshAt) {
		v.refreshAt = t.Expiry
	}
	return v, nil
}

// FetchHTTP returns a Fetch that GETs the token over HTTP with client
// (http.DefaultClient when nil). It wants a 200 answer of type
// application/statuslist+jwt no larger than jose.MaxTokenSize.
func FetchHTTP(client *http.Client) func(ctx context.Context, uri string) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context, uri string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
		if err != nil {
			return nil, kernel.E(kernel.Invalid, "statuslist.error.fetch").WithCause(err)
		}
		req.Header.Set("Accept", MediaType)
		resp, err := client.Do(req)
		if err != nil {
			return nil, kernel.E(kernel.Unavailable, "statuslist.error.fetch").WithCause(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, kernel.E(kernel.Unavailable, "statuslist.error.fetch").WithCause(fmt.Errorf("statuslist: %s answered %s", uri, resp.Status))
		}
		if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != MediaType {
			return nil, kernel.E(kernel.Invalid, "statuslist.error.bad_token").WithCause(fmt.Errorf("statuslist: content type %q", resp.Header.Get("Content-Type")))
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, jose.MaxTokenSize+1))
		if err != nil {
			return nil, kernel.E(kernel.Unavailable, "statuslist.error.fetch").WithCause(err)
		}
		if len(b) > jose.MaxTokenSize {
			return nil, kernel.E(kernel.Invalid, "statuslist.error.bad_token").WithCause(fmt.Errorf("statuslist: token over %d bytes", jose.MaxTokenSize))
		}
		return b, nil
	}
}
