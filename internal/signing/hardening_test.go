package signing_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pki"
	"civitas/internal/signing"
)

// cancelAfterIssue is the CA as app adapts it, whose caller goes away
// right after the certificate is issued: the signing transaction that
// records the credential then fails.
type cancelAfterIssue struct {
	keys
	cancel context.CancelFunc
	issued **x509.Certificate
}

func (k cancelAfterIssue) Issue(ctx context.Context, citizenID string) (*x509.Certificate, error) {
	c, err := k.keys.Issue(ctx, citizenID)
	*k.issued = c
	k.cancel()
	return c, err
}

// The CA and signing write in two transactions: when the second fails, the
// certificate of the first is revoked, so no certificate stays valid
// without a credential its holder sees.
func TestEnrolFailureLeavesNoValidCertificate(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var issued *x509.Certificate
	s, err := signing.New(signing.Options{DB: e.d, Clock: e.clock, Keys: cancelAfterIssue{keys{e.ca}, cancel, &issued}, Confirm: &confirmer{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enrol(ctx, "acct-01", "001090000001", "00001"); err == nil {
		t.Fatal("enrol succeeded with its caller gone")
	}
	if issued == nil {
		t.Fatal("no certificate was issued")
	}
	if creds, err := e.s.Credentials(e.ctx, "acct-01"); err != nil || len(creds) != 0 {
		t.Fatalf("credentials: %v %v", creds, err)
	}
	st, err := e.ca.Status(e.ctx, pki.Citizens, issued.SerialNumber)
	if err != nil || st.State != pki.Revoked {
		t.Fatalf("the orphan certificate is %+v (%v), want revoked", st, err)
	}
	// Enrolling again works.
	if _, err := e.s.Enrol(e.ctx, "acct-01", "001090000001", "00001"); err != nil {
		t.Fatal(err)
	}
}

func TestSubmitIsAudited(t *testing.T) {
	e := newEnv(t)
	c := e.active(1)
	q, err := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Hồ sơ", Items: hashes(2, "audit")})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'signing.request.submit' AND details LIKE ?`, "%"+q.ID+"%").Scan(&n); err != nil || n != 1 {
		t.Fatalf("submit audit records: %d %v", n, err)
	}
}

// A request's documents are its application's: another application with
// a token of the same holder gets NotFound.
func TestDocumentsHonourTheClient(t *testing.T) {
	e := newEnv(t)
	e.withPDF()
	e.active(1)
	q, err := e.s.SubmitPDFs(e.ctx, signing.PDFSubmission{AccountID: "acct-01", Client: "portal", Description: "Quyết định",
		Documents: []signing.PDFDocument{{Name: "a.pdf", Level: pades.LevelBB, Data: variant(1)}}})
	if err != nil {
		t.Fatal(err)
	}
	if docs, err := e.s.Documents(e.ctx, "portal", "acct-01", q.ID); err != nil || len(docs) != 1 {
		t.Fatalf("own documents: %v %v", docs, err)
	}
	for _, who := range [][2]string{{"another-app", "acct-01"}, {"portal", "acct-02"}} {
		_, err := e.s.Documents(e.ctx, who[0], who[1], q.ID)
		wantCode(t, err, kernel.NotFound, "signing.error.no_request")
	}
}

// HasDocument tells a database error from "no document".
func TestHasDocumentReturnsDatabaseErrors(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.s.HasDocument(ctx, "acct-01", "nope"); err == nil {
		t.Fatal("a failed query read as no document")
	}
	if ok, err := e.s.HasDocument(e.ctx, "acct-01", "nope"); ok || err != nil {
		t.Fatalf("no document: %v %v", ok, err)
	}
}

// A citizen's PDF never lands in the shared temporary directory, neither
// uploaded by the holder nor sent by an application, nor when signed:
// with TMPDIR a file, where nothing can be created, all of it works.
func TestPDFsNeverTouchTheTemporaryDirectory(t *testing.T) {
	e := newEnv(t)
	e.withPDF()
	e.active(1)
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", notADir)
	if _, err := os.CreateTemp("", "probe-*"); err == nil {
		t.Fatal("a temporary file could still be made")
	}
	own, err := e.s.UploadPDF(e.ctx, "acct-01", "", "hop-dong.pdf", bytes.NewReader(variant(3)), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.ApproveAndSign(e.ctx, "acct-01", own.ID, goodCode); err != nil {
		t.Fatal(err)
	}
	if _, signed, err := e.s.SignedPDF(e.ctx, "acct-01", own.ID); err != nil || e.validate(t, signed).Verdict != pades.Passed {
		t.Fatalf("signed upload: %v", err)
	}
	if _, err := e.s.SubmitPDFs(e.ctx, signing.PDFSubmission{AccountID: "acct-01", Client: "portal", Description: "Quyết định",
		Documents: []signing.PDFDocument{{Name: "b.pdf", Data: variant(4)}}}); err != nil {
		t.Fatal(err)
	}
}

// signHash signs only with the algorithms the credential's key has, and
// with hashes of the algorithm named; a refusal leaves the SAD usable.
func TestSignHashRefusesAlgorithmsThatDoNotMatch(t *testing.T) {
	e := newEnv(t)
	c := e.active(1)
	items := hashes(1, "algo")
	q, err := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Hồ sơ", Items: items})
	if err != nil {
		t.Fatal(err)
	}
	sad, err := e.s.Approve(e.ctx, "acct-01", q.ID, goodCode)
	if err != nil {
		t.Fatal(err)
	}
	sha256OID, sha512OID := "2.16.840.1.101.3.4.2.1", "2.16.840.1.101.3.4.2.3"
	for name, h := range map[string]signing.HashSigning{
		"fail/rsa-for-an-ec-key":       {SignAlgo: "1.2.840.113549.1.1.11", HashOID: sha256OID},
		"fail/rsa-key-algo":            {SignAlgo: "1.2.840.113549.1.1.1"},
		"fail/pss":                     {SignAlgo: "1.2.840.113549.1.1.10"},
		"fail/sha512-oid-sha256-hash":  {HashOID: sha512OID},
		"fail/ecdsa-sha384-sha256-oid": {SignAlgo: "1.2.840.10045.4.3.3", HashOID: sha256OID},
		"fail/unknown-hash":            {HashOID: "1.2.3.4"},
	} {
		h.Client, h.CredentialID, h.SAD, h.Hashes = "portal", c.ID, sad, digests(items)
		_, err := e.s.SignHash(e.ctx, h)
		if kernel.ErrorCode(err) != kernel.Invalid {
			t.Fatalf("%s: %v, want Invalid", name, err)
		}
	}
	// A SHA-512 hash named as such, with an ECDSA key algorithm, is not what was approved.
	other := sha512.Sum512([]byte("x"))
	if _, err := e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: [][]byte{other[:]}, HashOID: sha512OID, SignAlgo: "1.2.840.10045.2.1"}); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("unapproved hash: %v", err)
	}
	if _, err := e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: digests(items), HashOID: sha256OID, SignAlgo: "1.2.840.10045.4.3.2"}); err != nil {
		t.Fatalf("matching algorithms: %v", err)
	}
}

// credentials/info reports the certificate's real state: revoked,
// suspended, expired.
func TestCredentialInfoReportsCertificateStatus(t *testing.T) {
	e := newEnv(t)
	srv := e.serve(t)
	app := client{t: t, url: srv.URL, token: "acct-01 portal signing"}
	status := func(id string) (string, string) {
		t.Helper()
		st, out := app.call("POST", "/api/csc/v2/credentials/info", map[string]any{"credentialID": id})
		if st != http.StatusOK {
			t.Fatalf("credentials/info: %d %v", st, out)
		}
		return out["cert"].(map[string]any)["status"].(string), out["key"].(map[string]any)["status"].(string)
	}
	c := e.active(1)
	if cs, ks := status(c.ID); cs != "valid" || ks != "enabled" {
		t.Fatalf("fresh: %s %s", cs, ks)
	}
	serial := func(c signing.Credential) *big.Int { n, _ := new(big.Int).SetString(c.Serial, 16); return n }
	if err := e.ca.Revoke(e.ctx, serial(c), pki.ReasonHold); err != nil {
		t.Fatal(err)
	}
	if cs, ks := status(c.ID); cs != "suspended" || ks != "disabled" {
		t.Fatalf("on hold: %s %s", cs, ks)
	}
	if err := e.ca.Revoke(e.ctx, serial(c), pki.Reasons["keyCompromise"]); err != nil {
		t.Fatal(err)
	}
	if cs, _ := status(c.ID); cs != "revoked" {
		t.Fatalf("revoked: %s", cs)
	}
	d := e.active(1)
	e.clock.Advance(20 * 365 * 24 * time.Hour)
	if cs, ks := status(d.ID); cs != "expired" || ks != "disabled" {
		t.Fatalf("after its validity: %s %s", cs, ks)
	}
}

// A credential disabled between the approval and the call signs nothing,
// though the approval is kept in memory: the write that uses the SAD up
// checks the credential in the database.
func TestDisabledCredentialDoesNotSignAKeptApproval(t *testing.T) {
	e := newEnv(t)
	c := e.active(1)
	items := hashes(1, "disabled")
	r, _ := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Hồ sơ", Items: items})
	sad, err := e.s.Approve(e.ctx, "acct-01", r.ID, goodCode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.WritePool().ExecContext(e.ctx, e.d.Rebind(`UPDATE signing_credentials SET status = ? WHERE id = ?`), signing.CredentialDisabled, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SignHash(e.ctx, signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: digests(items)}); err == nil {
		t.Fatal("a disabled credential signed")
	}
	if q, _ := e.s.Request(e.ctx, "acct-01", r.ID); q.Status == signing.RequestDone || len(q.Items[0].Signature) != 0 {
		t.Fatalf("request %s, signature stored: %v", q.Status, len(q.Items[0].Signature) != 0)
	}
}

// Many callers at once, each with its own approval, and some with another
// caller's or a used one: each gets exactly its own signatures, written in
// groups, or nothing.
func TestConcurrentSignHashGroups(t *testing.T) {
	e := newEnv(t)
	c := e.active(1)
	const n = 40
	calls := make([]signing.HashSigning, n)
	ids := make([]string, n)
	for i := range calls {
		items := hashes(1+i%3, fmt.Sprintf("group %d", i))
		r, err := e.s.Submit(e.ctx, signing.Submission{AccountID: "acct-01", CredentialID: c.ID, Client: "portal", Description: "Nhóm", Items: items})
		if err != nil {
			t.Fatal(err)
		}
		sad, err := e.s.Approve(e.ctx, "acct-01", r.ID, goodCode)
		if err != nil {
			t.Fatal(err)
		}
		calls[i], ids[i] = signing.HashSigning{Client: "portal", CredentialID: c.ID, SAD: sad, Hashes: digests(items)}, r.ID
	}
	var wg sync.WaitGroup
	results := make([][][]byte, 2*n)
	for i := range 2 * n { // every SAD twice
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = e.s.SignHash(e.ctx, calls[i%n])
		}()
	}
	wg.Wait()
	for i := range n {
		got := 0
		for _, k := range []int{i, i + n} {
			if results[k] != nil {
				got++
				for j, sig := range results[k] {
					if !ecdsa.VerifyASN1(e.publicKey(t, c), calls[i].Hashes[j], sig) {
						t.Fatalf("call %d: signature %d does not verify", i, j)
					}
				}
			}
		}
		q, _ := e.s.Request(e.ctx, "acct-01", ids[i])
		if got != 1 || q.Status != signing.RequestDone {
			t.Fatalf("request %d: signed %d times, %s", i, got, q.Status)
		}
		for j, it := range q.Items {
			if len(it.Signature) == 0 {
				t.Fatalf("request %d item %d: no signature stored", i, j)
			}
		}
	}
}

// publicKey is the key of a credential's certificate.
func (e *env) publicKey(t *testing.T, c signing.Credential) *ecdsa.PublicKey {
	t.Helper()
	sn, _ := new(big.Int).SetString(c.Serial, 16)
	chain, err := e.ca.Chain(e.ctx, sn)
	if err != nil {
		t.Fatal(err)
	}
	return chain[0].PublicKey.(*ecdsa.PublicKey)
}
