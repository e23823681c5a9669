package signing_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/sealed"
	"civitas/internal/signing"
)

// holders: every citizen ID 0010900000NN has a level-2 account acct-NN,
// except 001090000099, level 1.
type holders struct{}

func (holders) Holder(_ context.Context, citizenID string) (pki.Holder, error) {
	if !strings.HasPrefix(citizenID, "0010900000") {
		return pki.Holder{}, kernel.E(kernel.NotFound, "error.person.not_found")
	}
	level := 2
	if citizenID == "001090000099" {
		level = 1
	}
	return pki.Holder{AccountID: "acct-" + citizenID[10:], CitizenID: citizenID, Name: "Trần Thị Bình", Level: level}, nil
}

// The registry of officials, for the tests: acct-05 (citizen 001090000005)
// is chairman of the commune's people's committee; nobody else holds a
// post.
const (
	testAgency     = "UBND-00001"
	testAgencyName = "Ủy ban nhân dân xã Tân Phú"
	testTitle      = "Chủ tịch"
)

func (h holders) Official(ctx context.Context, citizenID, agencyCode string) (pki.Official, error) {
	holder, err := h.Holder(ctx, citizenID)
	if err != nil {
		return pki.Official{}, err
	}
	if citizenID != "001090000005" || agencyCode != testAgency {
		return pki.Official{}, kernel.E(kernel.Forbidden, "error.identity.not_officer")
	}
	return pki.Official{Holder: holder, AgencyCode: testAgency, AgencyName: testAgencyName, Role: testTitle}, nil
}

func (holders) Agency(_ context.Context, code string) (pki.Agency, error) {
	if code != testAgency {
		return pki.Agency{}, kernel.E(kernel.NotFound, "error.not_found")
	}
	return pki.Agency{Code: testAgency, Name: testAgencyName}, nil
}

// officials adapts the CA and the registry to what signing needs, as app does.
type officials struct{ s *pki.Service }

var _ signing.Officials = officials{}

func (officials) Posts(_ context.Context, accountID string) ([]signing.Capacity, error) {
	if accountID != "acct-05" {
		return nil, nil
	}
	return []signing.Capacity{{AgencyCode: testAgency, AgencyName: testAgencyName, Title: testTitle}}, nil
}

func (o officials) IssueOfficial(ctx context.Context, citizenID, agencyCode string) (*x509.Certificate, error) {
	issued, err := o.s.IssueOfficial(ctx, citizenID, agencyCode)
	return issued.Cert, err
}

// keys adapts the real CA to what signing needs, as app does.
type keys struct{ s *pki.Service }

func (k keys) Issue(ctx context.Context, citizenID string) (*x509.Certificate, error) {
	issued, err := k.s.IssueCitizen(ctx, citizenID)
	return issued.Cert, err
}

func (k keys) Signer(ctx context.Context, serial *big.Int) (crypto.Signer, *x509.Certificate, error) {
	return k.s.HolderSigner(ctx, serial)
}

func (k keys) Withdraw(ctx context.Context, serial *big.Int) error {
	return k.s.Revoke(ctx, serial, pki.Reasons["cessationOfOperation"])
}

// confirmer accepts the code "246810" and counts what it was asked.
type confirmer struct{ calls atomic.Int64 }

func (c *confirmer) ConfirmWithTOTP(_ context.Context, accountID, code, kind string, _ map[string]string) error {
	c.calls.Add(1)
	if code != "246810" {
		return kernel.E(kernel.Unauthenticated, "error.identity.otp_wrong")
	}
	return nil
}

const goodCode = "246810"

type env struct {
	t     testing.TB
	ctx   context.Context
	d     *db.DB
	clock *kernel.ManualClock
	ca    *pki.Service
	box   *sealed.Box
	logs  *logBuffer // what the services log
	s     *signing.Service
}

// logBuffer collects log lines from concurrent deliveries.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), d: dbtest.Open(t), clock: kernel.NewManualClock(time.Now()), logs: &logBuffer{}}
	e.box, _ = sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	var err error
	e.ca, err = pki.New(e.ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: e.box, Clock: e.clock}, Holders: holders{}, Organisations: holders{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ca.Init(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.s = e.service(nil)
	return e
}

// service makes a signing service on e's database, with webhooks and
// officials' credentials, and PDFs when pdf is not nil.
func (e *env) service(pdf *signing.PDF) *signing.Service {
	e.t.Helper()
	s, err := signing.New(signing.Options{DB: e.d, Clock: e.clock, Keys: keys{e.ca}, Confirm: &confirmer{}, PDF: pdf,
		Officials: officials{e.ca}, Box: e.box, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// withPDF turns on PDFs, with the CA's online services (time-stamps, OCSP)
// for the levels above B-B.
func (e *env) withPDF() {
	e.t.Helper()
	if err := e.ca.StartOnline(e.ctx); err != nil {
		e.t.Fatal(err)
	}
	tsaChain, err := e.ca.TSAChain()
	if err != nil {
		e.t.Fatal(err)
	}
	e.s = e.service(&signing.PDF{Chain: e.ca.Chain, Stamper: e.ca.Stamper(), Revocation: e.ca, TSAChain: tsaChain, MaxFile: 1 << 20})
}

// active enrols and activates a credential for acct-NN.
func (e *env) active(n int) signing.Credential {
	e.t.Helper()
	c, err := e.s.Enrol(e.ctx, fmt.Sprintf("acct-%02d", n), fmt.Sprintf("0010900000%02d", n), "00001")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.Activate(e.ctx, c.AccountID, c.ID, goodCode); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func hashes(n int, salt string) []signing.Item {
	items := make([]signing.Item, n)
	for i := range items {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s document %d", salt, i)))
		items[i] = signing.Item{Label: fmt.Sprintf("Quyết định số %d/QĐ-UBND", i+1), Hash: h[:]}
	}
	return items
}

func digests(items []signing.Item) [][]byte {
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = it.Hash
	}
	return out
}

func wantCode(t testing.TB, err error, code kernel.Code, key string) {
	t.Helper()
	if kernel.ErrorCode(err) != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	if k, _ := kernel.ErrorKey(err); key != "" && k != key {
		t.Fatalf("err key = %s, want %s", k, key)
	}
}

func TestEnrolAndActivate(t *testing.T) {
	e := newEnv(t)
	_, err := e.s.Enrol(e.ctx, "acct-99", "001090000099", "00001")
	wantCode(t, err, kernel.Forbidden, "pki.error.level2_required")
	c, err := e.s.Enrol(e.ctx, "acct-01", "001090000001", "00001")
	if err != nil || c.Status != signing.CredentialIssued {
		t.Fatalf("enrol: %+v %v", c, err)
	}
	_, err = e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Hồ sơ", Items: hashes(1, "a")})
	wantCode(t, err, kernel.Forbidden, "signing.error.credential_inactive")
	wantCode(t, e.s.Activate(e.ctx, "acct-02", c.ID, goodCode), kernel.NotFound, "signing.error.no_credential")
	wantCode(t, e.s.Activate(e.ctx, "acct-01", c.ID, "000000"), kernel.Unauthenticated, "")
	if err := e.s.Activate(e.ctx, "acct-01", c.ID, goodCode); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.s.Activate(e.ctx, "acct-01", c.ID, goodCode), kernel.Conflict, "signing.error.already_active")
	list, err := e.s.Credentials(e.ctx, "acct-01")
	if err != nil || len(list) != 1 || list[0].Status != signing.CredentialActive || list[0].ActivatedAt.IsZero() {
		t.Fatalf("credentials: %+v %v", list, err)
	}
	if others, _ := e.s.Credentials(e.ctx, "acct-02"); len(others) != 0 {
		t.Fatal("another holder sees the credential")
	}
}

// The whole flow, and every way a signature without valid SAD is refused:
// forged, for another credential or application, for other hashes,
// replayed, expired, and after a refusal.
func TestNoSignatureWithoutApproval(t *testing.T) {
	e := newEnv(t)
	c := e.active(1)
	other := e.active(2)
	items := hashes(3, "batch")
	sub := signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Đăng ký khai sinh", Items: items}
	r, err := e.s.Submit(e.ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	// Another holder neither sees nor decides it.
	if p, _ := e.s.Pending(e.ctx, "acct-02"); len(p) != 0 {
		t.Fatal("another holder sees the request")
	}
	_, err = e.s.Request(e.ctx, "acct-02", r.ID)
	wantCode(t, err, kernel.NotFound, "signing.error.no_request")
	_, err = e.s.Approve(e.ctx, "acct-02", r.ID, goodCode)
	wantCode(t, err, kernel.NotFound, "signing.error.no_request")
	wantCode(t, e.s.Refuse(e.ctx, "acct-02", r.ID), kernel.NotFound, "signing.error.no_request")
	// The holder sees what, for whom, which documents.
	got, err := e.s.Request(e.ctx, "acct-01", r.ID)
	if err != nil || got.Client != "portal" || len(got.Items) != 3 || got.Items[1].Label != items[1].Label || !bytes.Equal(got.Items[1].Hash, items[1].Hash) {
		t.Fatalf("holder's view: %+v %v", got, err)
	}
	// Before approval there is no SAD to forge.
	forged := strings.Repeat("A", 43)
	_, err = e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: forged, Hashes: digests(items)})
	wantCode(t, err, kernel.Forbidden, "signing.error.bad_sad")
	_, err = e.s.Approve(e.ctx, "acct-01", r.ID, "135790")
	wantCode(t, err, kernel.Unauthenticated, "")
	sad, err := e.s.Approve(e.ctx, "acct-01", r.ID, goodCode)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := e.s.Status(e.ctx, "portal", r.ID); st != signing.RequestApproved {
		t.Fatalf("status after approval: %s", st)
	}
	_, err = e.s.Status(e.ctx, "another-app", r.ID)
	wantCode(t, err, kernel.NotFound, "")

	refused := []struct {
		name string
		h    signing.HashSigning
	}{
		{"forged SAD", signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: forged, Hashes: digests(items)}},
		{"the request's ID with a forged secret", signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: r.ID + "." + forged, Hashes: digests(items)}},
		{"the SAD's secret under another request", signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: "x" + sad, Hashes: digests(items)}},
		{"another credential", signing.HashSigning{Client: "portal", CredentialID: other.ID, SAD: sad, Hashes: digests(items)}},
		{"another application", signing.HashSigning{Client: "evil", CredentialID: c.ID, SAD: sad, Hashes: digests(items)}},
		{"other hashes", signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: digests(hashes(3, "other"))}},
		{"one hash more", signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: append(digests(items), digests(hashes(1, "x"))...)}},
		{"a subset", signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: digests(items[:2])}},
		{"a hash twice", signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: [][]byte{items[0].Hash, items[0].Hash, items[1].Hash}}},
	}
	for _, tt := range refused {
		_, err := e.s.SignHash(e.ctx, tt.h)
		if k, _ := kernel.ErrorKey(err); kernel.ErrorCode(err) != kernel.Forbidden || k != "signing.error.bad_sad" {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// The approved hashes, in another order: signed, each verifiable with
	// the credential's certificate.
	order := [][]byte{items[2].Hash, items[0].Hash, items[1].Hash}
	sigs, err := e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: order})
	if err != nil {
		t.Fatal(err)
	}
	sn, _ := new(big.Int).SetString(c.Serial, 16)
	_, cert, _ := e.ca.HolderSigner(e.ctx, sn)
	for i, sig := range sigs {
		if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), order[i], sig) {
			t.Fatalf("signature %d does not verify", i)
		}
	}
	// Replayed.
	_, err = e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: order})
	wantCode(t, err, kernel.Forbidden, "signing.error.bad_sad")
	// Every signature is in the audit log.
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'signing.sign'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d signatures audited (%v)", n, err)
	}

	// An approval not used in time expires.
	r2, _ := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Lần hai", Items: hashes(1, "late")})
	sad2, err := e.s.Approve(e.ctx, "acct-01", r2.ID, goodCode)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(5*time.Minute + time.Second)
	_, err = e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad2, Hashes: digests(hashes(1, "late"))})
	wantCode(t, err, kernel.Forbidden, "signing.error.bad_sad")
	// A request not decided in time expires.
	r3, _ := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Lần ba", Items: hashes(1, "slow")})
	e.clock.Advance(10*time.Minute + time.Second)
	_, err = e.s.Approve(e.ctx, "acct-01", r3.ID, goodCode)
	wantCode(t, err, kernel.Conflict, "signing.error.not_pending")
	if st, _ := e.s.Status(e.ctx, "portal", r3.ID); st != signing.RequestExpired {
		t.Fatalf("expired request's status: %s", st)
	}
	// A refused request cannot be approved after.
	r4, _ := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Lần bốn", Items: hashes(1, "no")})
	if err := e.s.Refuse(e.ctx, "acct-01", r4.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Approve(e.ctx, "acct-01", r4.ID, goodCode)
	wantCode(t, err, kernel.Conflict, "signing.error.not_pending")
	if st, _ := e.s.Status(e.ctx, "portal", r4.ID); st != signing.RequestRefused {
		t.Fatalf("refused request's status: %s", st)
	}
}

// Two applications racing with one SAD: exactly one signs.
func TestSADSingleUseUnderRace(t *testing.T) {
	e := newEnv(t)
	c := e.active(1)
	items := hashes(2, "race")
	r, _ := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Race", Items: items})
	sad, err := e.s.Approve(e.ctx, "acct-01", r.ID, goodCode)
	if err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: digests(items)}); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d calls signed with one SAD", ok.Load())
	}
}

// A suspended certificate signs nothing, even with an approval given
// before: suspending is the holder's brake when a phone is lost.
func TestRevokedCertificateDoesNotSign(t *testing.T) {
	e := newEnv(t)
	c := e.active(1)
	items := hashes(1, "lost phone")
	r, _ := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Mất máy", Items: items})
	sad, _ := e.s.Approve(e.ctx, "acct-01", r.ID, goodCode)
	sn, _ := new(big.Int).SetString(c.Serial, 16)
	if err := e.ca.Revoke(e.ctx, sn, pki.ReasonHold); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: digests(items)})
	wantCode(t, err, kernel.Forbidden, "pki.error.certificate_not_valid")
}

func TestBadSubmissions(t *testing.T) {
	e := newEnv(t)
	c := e.active(1)
	good := signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Hồ sơ", Items: hashes(1, "ok")}
	for name, edit := range map[string]func(*signing.Submission){
		"no items":       func(s *signing.Submission) { s.Items = nil },
		"too many":       func(s *signing.Submission) { s.Items = hashes(1001, "many") },
		"short hash":     func(s *signing.Submission) { s.Items = []signing.Item{{Label: "x", Hash: []byte{1, 2, 3}}} },
		"no label":       func(s *signing.Submission) { s.Items = []signing.Item{{Hash: make([]byte, 32)}} },
		"twice":          func(s *signing.Submission) { s.Items = append(hashes(1, "ok"), hashes(1, "ok")...) },
		"no description": func(s *signing.Submission) { s.Description = "" },
		"bad utf-8":      func(s *signing.Submission) { s.Description = "\xff" },
		"no client":      func(s *signing.Submission) { s.Client = "" },
		"other's":        func(s *signing.Submission) { s.AccountID = "acct-02" },
		"no such":        func(s *signing.Submission) { s.CredentialID = "nope" },
		"label too long?": func(s *signing.Submission) {
			s.Items = []signing.Item{{Label: strings.Repeat("x", 301), Hash: make([]byte, 32)}}
		},
	} {
		sub := good
		edit(&sub)
		if _, err := e.s.Submit(e.ctx, sub); err == nil || kernel.ErrorCode(err) == kernel.Internal {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := e.s.Submit(e.ctx, good); err != nil {
		t.Fatal(err)
	}
}

func TestFigures(t *testing.T) {
	e := newEnv(t)
	a := e.active(1)
	e.active(2)
	if _, err := e.s.Enrol(e.ctx, "acct-03", "001090000003", "00001"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Enrol(e.ctx, "acct-04", "001090000004", "00002"); err != nil {
		t.Fatal(err)
	}
	items := hashes(1, "fig")
	r, _ := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: a.ID, Client: "portal", Description: "x", Items: items})
	if err := e.s.ApproveAndSign(e.ctx, "acct-01", r.ID, goodCode); err != nil {
		t.Fatal(err)
	}
	f, err := e.s.Figures(e.ctx, "")
	if err != nil || len(f) != 2 {
		t.Fatalf("figures: %+v %v", f, err)
	}
	if f[0] != (signing.UnitFigures{UnitCode: "00001", Issued: 3, Activated: 2, Used: 1}) || f[1] != (signing.UnitFigures{UnitCode: "00002", Issued: 1}) {
		t.Fatalf("figures: %+v", f)
	}
	if f, _ := e.s.Figures(e.ctx, "00002"); len(f) != 1 {
		t.Fatalf("figures of one commune: %+v", f)
	}
}

// Concurrent single-hash calls share Batch transactions; each signature is
// counted on its credential once, whichever transaction it went in.
func TestSignatureCounts(t *testing.T) {
	e := newEnv(t)
	a, b := e.active(1), e.active(2)
	const n = 24
	type job struct {
		cred signing.Credential
		h    signing.HashSigning
	}
	jobs := make([]job, n)
	for i := range jobs {
		c := a
		if i%3 == 0 {
			c = b
		}
		items := hashes(1+i%2, fmt.Sprintf("count %d", i))
		r, err := e.s.Submit(e.ctx, signing.Submission{AccountID: c.AccountID, CredentialID: c.ID, Client: "portal", Description: "x", Items: items})
		if err != nil {
			t.Fatal(err)
		}
		sad, err := e.s.Approve(e.ctx, c.AccountID, r.ID, goodCode)
		if err != nil {
			t.Fatal(err)
		}
		jobs[i] = job{c, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: digests(items)}}
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.s.SignHash(e.ctx, j.h); err != nil {
				t.Error(err)
			}
			// Replayed: refused, and not counted.
			if _, err := e.s.SignHash(e.ctx, j.h); err == nil {
				t.Error("a replayed SAD signed")
			}
		}()
	}
	wg.Wait()
	want := map[string]int{}
	for _, j := range jobs {
		want[j.cred.ID] += len(j.h.Hashes)
	}
	for id, w := range want {
		var got int
		var last int64
		if err := e.d.QueryRow(e.ctx, `SELECT signatures, last_used_at FROM signing_credentials WHERE id = ?`, id).Scan(&got, &last); err != nil || got != w || last == 0 {
			t.Errorf("credential %s: %d signatures (last used %d), %v; want %d", id, got, last, err, w)
		}
	}
}
