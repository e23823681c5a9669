package statuslist_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	crand "crypto/rand"
	"crypto/sha256"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/jose"
	"civitas/internal/kernel"
	"civitas/internal/statuslist"
)

// BenchmarkAllocate measures issuance's share: one Allocate per db.Batch
// call from many goroutines, as the wallet issues. "batch" is the same calls
// doing nothing, the floor Allocate adds to; "document" inserts a 2 KB row
// with an ordered ID, as an issued document is, and "document+allocate"
// does both: the difference is what the status entry costs an issuance.
func BenchmarkAllocate(b *testing.B) {
	body := make([]byte, 2048)
	for _, name := range []string{"batch", "allocate", "document", "document+allocate"} {
		b.Run(dbtest.Name()+"/"+name, func(b *testing.B) {
			e := newEnv(b, statuslist.Options{})
			err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
				_, err := tx.Exec(e.ctx, `CREATE TABLE bench_documents (id TEXT PRIMARY KEY, body BYTEA NOT NULL, list TEXT NOT NULL, idx INTEGER NOT NULL)`)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(16) // 16 × GOMAXPROCS callers: requests waiting on the writer
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					for {
						err := e.d.Batch(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
							var ent statuslist.Entry
							if strings.Contains(name, "allocate") {
								var err error
								if ent, err = e.s.Allocate(e.ctx, tx, "wallet"); err != nil {
									return err
								}
							}
							if strings.HasPrefix(name, "document") {
								_, err := tx.Exec(e.ctx, `INSERT INTO bench_documents (id, body, list, idx) VALUES (?, ?, ?, ?)`,
									kernel.NewOrderedID(time.Now()), body, ent.List, ent.Index)
								return err
							}
							return nil
						})
						if kernel.ErrorCode(err) == kernel.Unavailable {
							time.Sleep(time.Millisecond) // the next list is being made
							continue
						}
						if err != nil {
							b.Error(err)
							return
						}
						break
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}

// benchList is a full-size list with 1 % of its entries revoked or
// suspended at random: a list after some years of service.
func benchList(b *testing.B) *statuslist.List {
	b.Helper()
	l, err := statuslist.New(statuslist.DefaultBits, statuslist.DefaultSize)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range statuslist.DefaultSize / 100 {
		l.Set(r.IntN(l.Len()), statuslist.Status(1+r.IntN(2)))
	}
	return l
}

// BenchmarkToken measures building and signing the token of a 100,000-entry
// list: "sign" alone (compress, encode, ES256), and "store" as the handler
// rebuilds it after its TTL (read from the database too).
func BenchmarkToken(b *testing.B) {
	key := newKey(b)
	l := benchList(b)
	b.Run("sign", func(b *testing.B) {
		var size int
		for b.Loop() {
			tok, err := statuslist.Sign(statuslist.Signer{Key: key}, statuslist.Token{URI: listURI, IssuedAt: time.Now(), TTL: time.Minute, List: l})
			if err != nil {
				b.Fatal(err)
			}
			size = len(tok)
		}
		b.ReportMetric(float64(size), "token-bytes")
	})
	b.Run(dbtest.Name()+"/store", func(b *testing.B) {
		e := newEnvOn(b, statuslist.Options{DB: dbtest.Open(b), TTL: time.Second}, key)
		ent := e.allocate(b)
		err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
			_, err := tx.Exec(e.ctx, `UPDATE status_lists SET packed = ? WHERE id = ?`, l.Bytes(), ent.List)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			e.clock.Advance(time.Second) // stale: rebuilt
			if _, err := e.s.Token(e.ctx, ent.List); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCheck measures a relying party checking one index: "cached" in a
// Cache holding the verified list (the usual case), "get" the bare lookup,
// "verify" what a cache miss costs (verify and inflate a 100,000-entry
// token) and "ecdsa-verify" the raw P-256 verification beside it.
func BenchmarkCheck(b *testing.B) {
	key := newKey(b)
	l := benchList(b)
	now := time.Now()
	tok, err := statuslist.Sign(statuslist.Signer{Key: key, Kid: "k"}, statuslist.Token{URI: listURI, IssuedAt: now, TTL: time.Hour, List: l})
	if err != nil {
		b.Fatal(err)
	}
	c, err := statuslist.NewCache(statuslist.CacheOptions{
		Fetch: func(context.Context, string) ([]byte, error) { return tok, nil },
		Key:   func(context.Context, string, jose.Header) (crypto.PublicKey, error) { return &key.PublicKey, nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("cached", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := c.Status(ctx, listURI, i%statuslist.DefaultSize); err != nil {
					b.Error(err)
					return
				}
				i += 7919
			}
		})
	})
	b.Run("get", func(b *testing.B) {
		i := 0
		for b.Loop() {
			l.Get(i % statuslist.DefaultSize)
			i += 7919
		}
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if _, err := statuslist.Verify(tok, statuslist.Expect{URI: listURI, Key: &key.PublicKey, Now: now}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ecdsa-verify", func(b *testing.B) {
		digest := sha256.Sum256([]byte("status"))
		sig, _ := ecdsa.SignASN1(crand.Reader, key, digest[:])
		for b.Loop() {
			ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig)
		}
	})
}
