package wallet_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/wallet"
)

func TestNormaliseCode(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"ok/canonical", "7K3MQ9TX", "7K3MQ9TX"},
		{"ok/as shown, in two groups", "7K3M-Q9TX", "7K3MQ9TX"},
		{"ok/lower case with spaces", " 7k3m q9tx ", "7K3MQ9TX"},
		{"ok/O read as zero, I and L as one", "OIL0-1ABC", "0110-1ABC"},
		{"fail/too short", "7K3M-Q9T", ""},
		{"fail/too long", "7K3M-Q9TXX", ""},
		{"fail/U is not in the alphabet", "7K3M-Q9TU", ""},
		{"fail/punctuation", "7K3M.Q9TX", ""},
		{"fail/not ASCII", "7K3M-Q9TẊ", ""},
		{"fail/empty", "", ""},
		{"fail/very long", strings.Repeat("-", 100) + "7K3MQ9TX", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := wallet.NormaliseCode(tc.in)
			want := strings.ReplaceAll(tc.want, "-", "")
			if got != want || ok != (want != "") {
				t.Fatalf("NormaliseCode(%q) = %q %v, want %q", tc.in, got, ok, want)
			}
		})
	}
	seen := map[string]bool{}
	for range 1000 {
		c := wallet.NewCode()
		if got, ok := wallet.NormaliseCode(wallet.FormatCode(c)); !ok || got != c {
			t.Fatalf("a new code %q does not read back: %q", c, got)
		}
		seen[c] = true
	}
	if len(seen) < 1000 {
		t.Fatal("new codes repeat")
	}
}

// FuzzNormaliseCode: whatever a verifier types, the answer is a canonical
// code that reads back as itself, or nothing.
func FuzzNormaliseCode(f *testing.F) {
	for _, s := range []string{"7K3M-Q9TX", "oil0 1abc", "", "----", "7K3MQ9TXU", "ẊẊẊẊẊẊẊẊ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := wallet.NormaliseCode(in)
		if !ok {
			if got != "" {
				t.Fatalf("refused %q but returned %q", in, got)
			}
			return
		}
		if len(got) != wallet.CodeLen {
			t.Fatalf("%q read as %q", in, got)
		}
		if again, ok := wallet.NormaliseCode(got); !ok || again != got {
			t.Fatalf("%q is not canonical", got)
		}
		if again, ok := wallet.NormaliseCode(strings.ToLower(wallet.FormatCode(got))); !ok || again != got {
			t.Fatalf("%q does not read back formatted", got)
		}
	})
}

func TestCheckPurpose(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"ok/Vietnamese", "  Khám bệnh tại bệnh viện tỉnh ", true},
		{"ok/Arabic", "فحص طبي", true},
		{"ok/at the limit", strings.Repeat("ư", wallet.MaxPurpose), true},
		{"fail/empty", "   ", false},
		{"fail/over the limit", strings.Repeat("ư", wallet.MaxPurpose+1), false},
		{"fail/two lines", "a\nb", false},
		{"fail/a line separator", "a\u2028b", false},
		{"fail/not UTF-8", "a\xffb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := wallet.CheckPurpose(tc.in)
			if tc.ok != (err == nil) || tc.ok && got != strings.TrimSpace(tc.in) {
				t.Fatalf("CheckPurpose(%q) = %q, %v", tc.in, got, err)
			}
			if !tc.ok && kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("error code %v", err)
			}
		})
	}
}

func testShares(e *env) *wallet.Shares {
	e.t.Helper()
	sh, err := wallet.NewShares(e.w, &identity.Throttle{DB: e.d, Clock: e.clock, MaxFailures: 1000, Window: time.Minute, LockFor: time.Minute, MaxLock: time.Minute})
	if err != nil {
		e.t.Fatal(err)
	}
	return sh
}

// Shares in the service: a single-use share goes to one of two verifiers
// at once; a holder has at most MaxActiveShares live; another instance
// (its own Shares) reads the same codes; only the holder ends a share.
func TestShares(t *testing.T) {
	e := newEnv(t)
	p := e.person(0)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: e.agency(registry.SocialInsurance), Type: "health_insurance_card", Holder: h, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := testShares(e), testShares(e)
	mk := func(uses int) (wallet.Share, string) {
		t.Helper()
		sh, code, err := a.Create(e.ctx, wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"hospital", "full_name", "hospital"},
			Purpose: "test", TTL: time.Hour, MaxUses: uses, By: "acct"})
		if err != nil {
			t.Fatal(err)
		}
		return sh, code
	}
	sh, code := mk(1)
	if strings.Join(sh.Claims, ",") != "full_name,hospital" {
		t.Fatalf("claims not in the type's order, once each: %v", sh.Claims)
	}
	verdicts := make(chan string, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*wallet.Shares{a, b}[i]
			c, err := s.Check(e.ctx, code, wallet.Verifier{Client: "192.0.2.1", Audience: issuer + "/wallet/verify"})
			if err != nil {
				t.Error(err)
				return
			}
			verdicts <- c.Verdict
		}()
	}
	wg.Wait()
	close(verdicts)
	got := map[string]int{}
	for v := range verdicts {
		got[v]++
	}
	if got[wallet.VerdictValid] != 1 || got[wallet.VerdictShareUsed] != 1 {
		t.Fatalf("two verifiers of a single-use share: %v", got)
	}

	other := wallet.Holder{Kind: wallet.HolderPerson, ID: e.person(1).CitizenID}
	if err := a.End(e.ctx, other, sh.ID); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another holder ends the share: %v", err)
	}
	if _, err := a.Share(e.ctx, other, sh.ID); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another holder reads the share: %v", err)
	}
	if _, _, err := a.Create(e.ctx, wallet.NewShare{Holder: other, DocumentID: doc.ID, Claims: []string{"full_name"}, Purpose: "x", TTL: time.Hour}); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("another holder shares the document: %v", err)
	}
	for _, tc := range []struct {
		name string
		n    wallet.NewShare
	}{
		{"fail/too short", wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"full_name"}, Purpose: "x", TTL: time.Second}},
		{"fail/too long", wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"full_name"}, Purpose: "x", TTL: 25 * time.Hour}},
		{"fail/negative uses", wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"full_name"}, Purpose: "x", TTL: time.Hour, MaxUses: -1}},
		{"fail/no claims", wallet.NewShare{Holder: h, DocumentID: doc.ID, Purpose: "x", TTL: time.Hour}},
		{"fail/the credential's own claims are not the holder's to pick", wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"issuing_authority"}, Purpose: "x", TTL: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := a.Create(e.ctx, tc.n); kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("got %v", err)
			}
		})
	}

	// At most MaxActiveShares live at once; ending one makes room.
	live := []wallet.Share{}
	for range wallet.MaxActiveShares - 1 {
		s, _ := mk(0)
		live = append(live, s)
	}
	if _, _, err := a.Create(e.ctx, wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"full_name"}, Purpose: "x", TTL: time.Hour}); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("share number %d: %v", wallet.MaxActiveShares+1, err)
	}
	if err := a.End(e.ctx, h, live[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := a.End(e.ctx, h, live[0].ID); err != nil {
		t.Fatalf("ending twice: %v", err)
	}
	if _, _, err := a.Create(e.ctx, wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"full_name"}, Purpose: "x", TTL: time.Hour}); err != nil {
		t.Fatalf("after ending one: %v", err)
	}
	if l, err := a.Live(e.ctx, h, doc.ID); err != nil || len(l) != wallet.MaxActiveShares-1 {
		t.Fatalf("live shares: %d %v", len(l), err)
	}

	// A document no longer valid cannot be shared.
	if err := e.w.SetStatus(e.ctx, e.agency(registry.SocialInsurance), doc.ID, wallet.StatusSuspended, "investigation"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Create(e.ctx, wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"full_name"}, Purpose: "x", TTL: time.Hour}); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("sharing a suspended document: %v", err)
	}
	if c, err := b.Check(e.ctx, wallet.FormatCode(strings.ToLower(code)), wallet.Verifier{Client: "x"}); err != nil || c.Verdict != wallet.VerdictShareUsed {
		t.Fatalf("a used share: %+v %v", c, err)
	}
	if err := a.End(e.ctx, h, live[1].ID); err != nil {
		t.Fatal(err)
	}
	_, code2 := func() (wallet.Share, string) {
		if err := e.w.SetStatus(e.ctx, e.agency(registry.SocialInsurance), doc.ID, wallet.StatusValid, "other"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := e.w.SetStatus(e.ctx, e.agency(registry.SocialInsurance), doc.ID, wallet.StatusSuspended, "investigation"); err != nil {
				t.Fatal(err)
			}
		}()
		return mk(0)
	}()
	c, err := b.Check(e.ctx, code2, wallet.Verifier{Client: "x", Audience: "https://v.test"})
	if err != nil || c.Verdict != wallet.VerdictSuspended || c.Claims != nil || c.Type.Code != "health_insurance_card" {
		t.Fatalf("a suspended document's share: %+v %v", c, err)
	}
}

// BenchmarkShareCheck is the verifier's hot path: find the share, take a
// use, present (holder's key), verify (issuer's key, key binding, status
// list) and record the check.
func BenchmarkShareCheck(b *testing.B) {
	e := newEnv(b)
	p := e.person(0)
	h := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	doc, err := e.w.Issue(e.ctx, wallet.Issuance{Agency: e.agency(registry.SocialInsurance), Type: "health_insurance_card", Holder: h, Claims: healthCard(p)})
	if err != nil {
		b.Fatal(err)
	}
	s := testShares(e)
	_, code, err := s.Create(e.ctx, wallet.NewShare{Holder: h, DocumentID: doc.ID, Claims: []string{"full_name", "hospital"}, Purpose: "bench", TTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		c, err := s.Check(e.ctx, code, wallet.Verifier{Client: "192.0.2.1", Audience: issuer + "/wallet/verify"})
		if err != nil || c.Verdict != wallet.VerdictValid {
			b.Fatal(c.Verdict, err)
		}
	}
}
