package signing_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"crypto/x509"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
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
