package wallet_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"

	"civitas/internal/app"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/sealed"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
)

// benchWallet is the wallet of newEnv (demo province, trust services,
// SQLite unless CIVITAS_TEST_POSTGRES is set) with the status lists as
// production has them (statuslist defaults: 100,000 entries a list), and
// every demo person as a holder with the claims of their citizen ID card.
func benchWallet(b *testing.B) (*env, *wallet.Service, string, []wallet.Holder, []map[string]any) {
	b.Helper()
	e := newEnv(b)
	var w *wallet.Service
	status, err := statuslist.NewStore(statuslist.Options{DB: e.d, PublicURL: issuer, Clock: e.clock,
		Signer: func(ctx context.Context, group string) (statuslist.Signer, error) {
			agency, err := w.AgencyOfGroup(ctx, group)
			if err != nil {
				return statuslist.Signer{}, err
			}
			key, chain, err := e.ca.Seal(ctx, agency)
			if err != nil {
				return statuslist.Signer{}, err
			}
			return statuslist.Signer{Key: key, Issuer: issuer, Header: map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(chain[0].Raw)}}}, nil
		}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(status.Close)
	cat, err := wallet.LoadCatalogue("")
	if err != nil {
		b.Fatal(err)
	}
	box, _ := sealed.New(bytes.Repeat([]byte{9}, sealed.KeySize))
	w, err = wallet.New(wallet.Options{DB: e.d, Clock: e.clock, Box: box, Catalogue: cat, Seals: app.WalletSeals(e.ca), Registries: e.reg, Status: status, Issuer: issuer})
	if err != nil {
		b.Fatal(err)
	}
	persons, err := e.reg.ListPersons(e.ctx, kernel.Page{Limit: 300})
	if err != nil {
		b.Fatal(err)
	}
	var holders []wallet.Holder
	var claims []map[string]any
	for _, p := range persons {
		holders = append(holders, wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID})
		claims = append(claims, map[string]any{"citizen_id": p.CitizenID, "full_name": p.FullName, "birth_date": p.BirthDate,
			"sex": string(p.Sex), "residence": p.UnitCode, "nationality": "Việt Nam"})
	}
	return e, w, e.agency(registry.Police), holders, claims
}

// BenchmarkIssue measures documents issued per second through
// wallet.Issue by concurrent callers (an agency's batch, or many officials):
// an SD-JWT VC signed with the agency's seal, bound to the holder's key,
// its status-list entry, sealed at rest and audited. "claims" gives the
// claims of a citizen ID card; "registry" leaves them to the population
// registry (one more read per document). Every holder has had a document
// before, so holder keys exist, as they do in steady state. Compare
// docs/s with BenchmarkRawECDSASign's sigs/s of the same run (-cpu 2:
// both cores).
func BenchmarkIssue(b *testing.B) {
	for _, mode := range []string{"claims", "registry"} {
		b.Run(mode+"/"+dbtest.Name(), func(b *testing.B) {
			e, w, police, holders, claims := benchWallet(b)
			issue := func(n int) error {
				in := wallet.Issuance{Agency: police, Type: "citizen_id_card", Holder: holders[n%len(holders)]}
				if strings.HasPrefix(mode, "claims") {
					in.Claims = claims[n%len(holders)]
				}
				_, err := w.Issue(e.ctx, in)
				return err
			}
			for n := range holders { // holder keys, the seal, the first status list
				if err := issue(n); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			b.SetParallelism(32) // callers wait on the shared commit, not on a core
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := issue(int(next.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}

// BenchmarkRawECDSASign is the ceiling: ECDSA P-256 signatures per second
// on every core, the one signature each document costs the issuer.
func BenchmarkRawECDSASign(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("civitas"))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sigs/s")
}
