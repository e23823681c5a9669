package wallet_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"civitas/internal/registry"
	"civitas/internal/sdjwt"
	"civitas/internal/statuslist"
	"civitas/internal/wallet"
)

// BenchmarkVerifyPresentation: a verifier checking a presented health
// insurance card (two claims disclosed, key binding, the issuer's status
// list): the issuer's signature, the holder's key-binding signature, the
// disclosures and the status, on both cores. "fresh" is a credential the
// verifier sees for the first time; "seen" one whose issuer signature it
// verified before (a card shown again); "fresh-unbound" a first-seen
// credential shown without key binding, so with one signature. Compare with
// BenchmarkRawECDSAVerify of the same run: issue 6 asks at least half its
// rate.
func BenchmarkVerifyPresentation(b *testing.B) {
	e := newEnv(b)
	insurance := e.agency(registry.SocialInsurance)
	const n = 512
	type shown struct{ pres, nonce, bare string }
	var ps []shown
	for i := range n {
		p := e.person(i % 40)
		h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
		doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: h, Claims: healthCard(p)})
		if err != nil {
			b.Fatal(err)
		}
		nonce := "n-" + doc.ID
		pres, err := e.w.Present(e.ctx, h, doc.ID, []string{"full_name", "hospital"}, "https://verifier.test", nonce)
		if err != nil {
			b.Fatal(err)
		}
		// The same two claims shown without key binding (a verifier
		// that does not ask for it): one signature, the issuer's.
		sd, err := sdjwt.Parse(doc.Credential)
		if err != nil {
			b.Fatal(err)
		}
		bare, err := sd.Present(func(path []string) bool { return path[0] == "full_name" || path[0] == "hospital" }, nil)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, shown{pres, nonce, bare})
	}
	verify := func(w *wallet.Service, s shown, bound bool) (wallet.Verification, error) {
		if !bound {
			return w.Verify(e.ctx, s.bare, nil)
		}
		return w.Verify(e.ctx, s.pres, &sdjwt.ExpectKeyBinding{Audience: "https://verifier.test", Nonce: s.nonce})
	}
	for _, mode := range []string{"fresh", "seen", "fresh-unbound"} {
		b.Run(mode, func(b *testing.B) {
			w, bound := e.w, mode != "fresh-unbound"
			if mode != "seen" {
				w = e.noCacheWallet()
			}
			for _, s := range ps { // warm: the verifier has the issuer's keys and status lists in hand
				if _, err := verify(w, s, bound); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					s := ps[i%n]
					i++
					v, err := verify(w, s, bound)
					if err != nil || v.Status != statuslist.Valid || v.KeyBound != bound || len(v.Disclosed) != 2 {
						b.Errorf("%v %+v", err, v)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}

// BenchmarkRawECDSAVerify is the limit: ECDSA P-256 verifications on both
// cores.
func BenchmarkRawECDSAVerify(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("civitas"))
	sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], sig) {
				b.Error("does not verify")
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}
