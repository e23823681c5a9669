package pki_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/sealed"
	"civitas/internal/web"
)

type holders map[string]pki.Holder

func (h holders) Holder(_ context.Context, citizenID string) (pki.Holder, error) {
	if p, ok := h[citizenID]; ok {
		return p, nil
	}
	return pki.Holder{}, kernel.E(kernel.NotFound, "error.person.not_found")
}

var people = holders{
	"001090000001": {AccountID: "acct-1", CitizenID: "001090000001", Name: "Nguyễn Thị Ánh", Level: 2},
	"001090000002": {AccountID: "acct-2", CitizenID: "001090000002", Name: "Tran Van B", Level: 1},
	"001090000003": {AccountID: "acct-3", CitizenID: "001090000003", Name: "Lê Văn Cường", Level: 2},
}

type env struct {
	t     *testing.T
	d     *db.DB
	box   *sealed.Box
	clock *kernel.ManualClock
	s     *pki.Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, d: dbtest.Open(t), clock: kernel.NewManualClock(time.Now())}
	e.box, _ = sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	e.s = e.open(e.box)
	if _, err := e.s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) open(box *sealed.Box) *pki.Service {
	e.t.Helper()
	s, err := pki.New(context.Background(), pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: box, Clock: e.clock},
		PublicURL: "http://localhost:8080/", Province: "Tỉnh Thử Nghiệm", Holders: people})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func TestHierarchy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if !e.s.Ready() {
		t.Fatal("hierarchy not ready after Init")
	}
	// Init again, and from a new process: nothing new.
	if created, err := e.open(e.box).Init(ctx); err != nil || len(created) != 0 {
		t.Fatalf("second Init: %v %v", created, err)
	}
	root, _ := e.s.CA(pki.Root)
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	for _, name := range []string{pki.Citizens, pki.Officials, pki.TSA, pki.OCSPCitizens, pki.OCSPOfficials} {
		ca, err := e.s.CA(name)
		if err != nil {
			t.Fatal(err)
		}
		inter := x509.NewCertPool()
		if issuer, err := e.s.CA(ca.Issuer); err == nil && issuer.Name != pki.Root {
			inter.AddCert(issuer.Cert)
		}
		if _, err := ca.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("%s does not chain to the root: %v", name, err)
		}
	}
	tsa, _ := e.s.CA(pki.TSA)
	if len(tsa.Cert.ExtKeyUsage) != 1 || tsa.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping {
		t.Errorf("TSA EKU %v", tsa.Cert.ExtKeyUsage)
	}
	for _, ext := range tsa.Cert.Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) && !ext.Critical {
			t.Error("the TSA's extended key usage is not critical (RFC 3161 §2.3)")
		}
	}
	ocsp, _ := e.s.CA(pki.OCSPCitizens)
	if len(ocsp.Cert.ExtKeyUsage) != 1 || ocsp.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
		t.Errorf("OCSP signer EKU %v", ocsp.Cert.ExtKeyUsage)
	}
}

// An attacker with the database but not the key-encryption key has no key
// to sign with: the stored keys are sealed, and open under no other key.
func TestKeysAtRest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	root, _ := e.s.CA(pki.Root)
	d, err := root.Signer.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(root.Signer)
	rows, err := e.d.Query(ctx, `SELECT label, private_sealed FROM pki_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var label, s string
		if err := rows.Scan(&label, &s); err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(s)
		if bytes.Contains(raw, d) || bytes.Contains(raw, der) || bytes.Contains([]byte(s), []byte(base64.StdEncoding.EncodeToString(d))) {
			t.Errorf("key %s is stored in the clear", label)
		}
		n++
	}
	if n < 6 {
		t.Fatalf("%d keys stored, want the 6 of the hierarchy", n)
	}
	other, _ := sealed.New(bytes.Repeat([]byte{8}, sealed.KeySize))
	if _, err := pki.New(ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: other, Clock: e.clock}}); err == nil {
		t.Fatal("the CA keys opened under another key-encryption key")
	}
}

func TestIssueAndRevoke(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.s.IssueCitizen(ctx, "001090000002"); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("level 1 got a certificate: %v", err)
	}
	if _, err := e.s.IssueCitizen(ctx, "099999999999"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("unknown person: %v", err)
	}
	got, err := e.s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	c := got.Cert
	if c.Subject.CommonName != "Nguyễn Thị Ánh" || c.Subject.SerialNumber != "EID-acct-1" {
		t.Errorf("subject %v", c.Subject)
	}
	if !bytes.Contains(c.RawSubject, append([]byte{0x0c, byte(len("Nguyễn Thị Ánh"))}, "Nguyễn Thị Ánh"...)) {
		t.Error("the holder's name is not a UTF8String")
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment || c.IsCA {
		t.Errorf("key usage %v, CA %v", c.KeyUsage, c.IsCA)
	}
	if len(c.OCSPServer) != 1 || c.OCSPServer[0] != "http://localhost:8080/pki/ocsp" ||
		c.IssuingCertificateURL[0] != "http://localhost:8080/pki/ca/citizens.crt" || c.CRLDistributionPoints[0] != "http://localhost:8080/pki/crl/citizens.crl" {
		t.Errorf("links %v %v %v", c.OCSPServer, c.IssuingCertificateURL, c.CRLDistributionPoints)
	}
	if len(c.PolicyIdentifiers) != 1 || !c.PolicyIdentifiers[0].Equal(pki.PolicyCitizen) {
		t.Errorf("policies %v", c.PolicyIdentifiers)
	}
	if st, _ := e.s.Status(ctx, pki.Citizens, c.SerialNumber); st.State != pki.Good {
		t.Fatalf("status %v", st)
	}
	if st, _ := e.s.Status(ctx, pki.Officials, c.SerialNumber); st.State != pki.Unknown {
		t.Fatalf("status under the other CA %v", st)
	}

	// Suspension, then revocation for good; not twice.
	if err := e.s.Revoke(ctx, c.SerialNumber, 7); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("reason 7: %v", err)
	}
	other, _ := pki.ParseSerial("4000000000000000000000000000000a")
	if err := e.s.Revoke(ctx, other, 1); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("unknown serial: %v", err)
	}
	if err := e.s.Revoke(ctx, c.SerialNumber, pki.ReasonHold); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Revoke(ctx, c.SerialNumber, pki.ReasonHold); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("suspended twice: %v", err)
	}
	if err := e.s.Revoke(ctx, c.SerialNumber, pki.Reasons["keyCompromise"]); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Revoke(ctx, c.SerialNumber, 0); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("revoked twice: %v", err)
	}
	st, _ := e.s.Status(ctx, pki.Citizens, c.SerialNumber)
	if st.State != pki.Revoked || st.Reason != 1 {
		t.Fatalf("status after revocation %v", st)
	}
	der, err := e.s.CRL(ctx, pki.Citizens)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := e.s.CA(pki.Citizens)
	if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(c.SerialNumber) != 0 ||
		crl.RevokedCertificateEntries[0].ReasonCode != 1 {
		t.Fatalf("CRL entries %+v", crl.RevokedCertificateEntries)
	}
}

// Decree 23/2025: a public key is certified once.
func TestPublicKeyUnique(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.s.IssueCitizen(ctx, "001090000001") // a second certificate gets a new key
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Cert.RawSubjectPublicKeyInfo, b.Cert.RawSubjectPublicKeyInfo) {
		t.Fatal("two certificates share a key")
	}
	if _, err := e.d.WritePool().ExecContext(ctx, e.d.Rebind(`UPDATE pki_certs SET spki_sha256 = (SELECT spki_sha256 FROM pki_certs WHERE serial = ?) WHERE serial = ?`),
		strings.ToLower(a.Cert.SerialNumber.Text(16)), strings.ToLower(b.Cert.SerialNumber.Text(16))); !db.IsUniqueViolation(err) {
		t.Fatalf("the store accepted one key under two certificates: %v", err)
	}
}

// openssl, which nobody here wrote, builds the chain and checks our CRL.
func TestOpenSSLVerifiesChainAndCRL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	e := newEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, kind string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root, _ := e.s.CA(pki.Root)
	citizens, _ := e.s.CA(pki.Citizens)
	rootPEM, caPEM := write("root.pem", "CERTIFICATE", root.Cert.Raw), write("citizens.pem", "CERTIFICATE", citizens.Cert.Raw)
	got, err := e.s.IssueCitizen(ctx, "001090000003")
	if err != nil {
		t.Fatal(err)
	}
	leaf := write("leaf.pem", "CERTIFICATE", got.Cert.Raw)
	verify := func(want string) {
		t.Helper()
		crl, err := e.s.CRL(ctx, pki.Citizens)
		if err != nil {
			t.Fatal(err)
		}
		rootCRL, err := e.s.CRL(ctx, pki.Root)
		if err != nil {
			t.Fatal(err)
		}
		crlFile := filepath.Join(dir, "crls.pem")
		both := append(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: rootCRL})...)
		if err := os.WriteFile(crlFile, both, 0o600); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("openssl", "verify", "-crl_check_all", "-CAfile", rootPEM, "-untrusted", caPEM, "-CRLfile", crlFile, leaf).CombinedOutput()
		if !strings.Contains(string(out), want) {
			t.Fatalf("openssl verify: %s (want %q)", out, want)
		}
	}
	verify(leaf + ": OK")
	if err := e.s.Revoke(ctx, got.Cert.SerialNumber, pki.Reasons["keyCompromise"]); err != nil {
		t.Fatal(err)
	}
	verify("certificate revoked")
}

func TestEndpoints(t *testing.T) {
	e := newEnv(t)
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := url.Parse("http://localhost:8080")
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Mount(ws); err != nil {
		t.Fatal(err)
	}
	h := ws.Handler()
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	root, _ := e.s.CA(pki.Root)
	if rec := get("/pki/ca/root.crt"); rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/pkix-cert" || !bytes.Equal(rec.Body.Bytes(), root.Cert.Raw) {
		t.Fatalf("root.crt: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	rec := get("/pki/crl/citizens.crl")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("citizens.crl: %d", rec.Code)
	}
	if _, err := x509.ParseRevocationList(rec.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/pki/ca/nope.crt", "/pki/ca/root.pem", "/pki/crl/tsa.crl", "/pki/crl/citizens", "/pki/crl/%00.crl"} {
		if rec := get(path); rec.Code != http.StatusNotFound && rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
	}
}

// A holder revokes their own certificate, and only theirs.
func TestRevokeOwn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.s.IssueCitizen(ctx, "001090000003")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.RevokeOwn(ctx, "acct-3", a.Cert.SerialNumber, 1); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("citizen B revoked A's certificate: %v", err)
	}
	if err := e.s.RevokeOwn(ctx, "", a.Cert.SerialNumber, 1); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("anonymous revoked a certificate: %v", err)
	}
	if err := e.s.RevokeOwn(ctx, "acct-1", a.Cert.SerialNumber, 2); kernel.ErrorCode(err) != kernel.Invalid {
		t.Fatalf("a holder gave cACompromise: %v", err)
	}
	if err := e.s.RevokeOwn(ctx, "acct-1", a.Cert.SerialNumber, pki.ReasonHold); err != nil {
		t.Fatal(err)
	}
	list, err := e.s.Certificates(ctx, "acct-1")
	if err != nil || len(list) != 1 || list[0].RevokedAt.IsZero() || list[0].Reason != pki.ReasonHold || list[0].Subject != "Nguyễn Thị Ánh" {
		t.Fatalf("A's certificates: %+v %v", list, err)
	}
	if st, _ := e.s.Status(ctx, pki.Citizens, b.Cert.SerialNumber); st.State != pki.Good {
		t.Fatalf("B's certificate changed: %v", st)
	}
}

// The holder's page: anonymous goes to log in, citizen A sees and suspends
// their certificate, citizen B cannot touch it, and a form without the CSRF
// token is refused.
func TestHolderPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.IssueCitizen(ctx, "001090000003"); err != nil { // B has a certificate of their own
		t.Fatal(err)
	}
	serial := strings.ToLower(a.Cert.SerialNumber.Text(16))
	// Logging in belongs to internal/identity; here a test route starts the session.
	srv := e.serve(e.s, func(ws *web.Server) {
		ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
			if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "level2"}); err != nil {
				ws.Error(w, r, err)
			}
		})
	})
	browser := func(id string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if id != "" {
			resp, err := c.Get(srv.URL + "/test/login/" + id)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		return c
	}
	page := func(c *http.Client) (int, string, string) {
		resp, err := c.Get(srv.URL + "/account/certificates")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	token := func(html string) string {
		m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(html)
		if m == nil {
			t.Fatal("no CSRF token on the page")
		}
		return m[1]
	}
	post := func(c *http.Client, form url.Values) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/account/certificates/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if st, loc, _ := page(browser("")); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/login?next=") {
		t.Fatalf("anonymous: %d %s", st, loc)
	}
	citizenA := browser("acct-1")
	st, _, html := page(citizenA)
	if st != http.StatusOK || !strings.Contains(html, serial) || !strings.Contains(html, "Nguyễn Thị Ánh") {
		t.Fatalf("A's page: %d", st)
	}
	citizenB := browser("acct-3")
	_, _, htmlB := page(citizenB)
	if strings.Contains(htmlB, serial) {
		t.Fatal("B sees A's certificate")
	}
	if st := post(citizenB, url.Values{"csrf_token": {token(htmlB)}, "serial": {serial}, "reason": {"keyCompromise"}}); st != http.StatusNotFound {
		t.Fatalf("B revoking A's certificate: %d", st)
	}
	if st := post(citizenA, url.Values{"serial": {serial}, "reason": {"certificateHold"}}); st != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", st)
	}
	for _, bad := range []url.Values{{"serial": {"zz"}, "reason": {"certificateHold"}}, {"serial": {serial}, "reason": {"lost"}}, {"serial": {serial}, "reason": {"cACompromise"}}} {
		bad.Set("csrf_token", token(html))
		if st := post(citizenA, bad); st != http.StatusBadRequest {
			t.Fatalf("bad input %v: %d", bad, st)
		}
	}
	if st, _ := e.s.Status(ctx, pki.Citizens, a.Cert.SerialNumber); st.State != pki.Good {
		t.Fatal("a refused request changed the certificate")
	}
	if st := post(citizenA, url.Values{"csrf_token": {token(html)}, "serial": {serial}, "reason": {"certificateHold"}}); st != http.StatusSeeOther {
		t.Fatalf("A suspending: %d", st)
	}
	if st, _ := e.s.Status(ctx, pki.Citizens, a.Cert.SerialNumber); st.State != pki.Revoked || st.Reason != pki.ReasonHold {
		t.Fatalf("after suspension: %v", st)
	}
}

// officers: off-1 at PA-01 serves the area where acct-1 lives, not acct-3's.
type officers struct{}

func (officers) MayActFor(_ context.Context, officer, agency, holder string) error {
	if officer == "off-1" && agency == "PA-01" && holder == "acct-1" {
		return nil
	}
	return kernel.E(kernel.Forbidden, "error.identity.outside_area")
}

// Only an authorised officer of the holder's area revokes others'
// certificates.
func TestRevokeAsOfficer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.s = func() *pki.Service {
		s, err := pki.New(ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: e.box, Clock: e.clock},
			Holders: people, Officers: officers{}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	a, err := e.s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.s.IssueCitizen(ctx, "001090000003")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		officer, agency string
		serial          *big.Int
		reason          int
		want            kernel.Code
	}{
		{"", "PA-01", a.Cert.SerialNumber, 1, kernel.Forbidden},                        // nobody
		{"acct-3", "PA-01", a.Cert.SerialNumber, 1, kernel.Forbidden},                  // a citizen, not an officer
		{"off-1", "PA-02", a.Cert.SerialNumber, 1, kernel.Forbidden},                   // a post they do not hold
		{"off-1", "PA-01", b.Cert.SerialNumber, 1, kernel.Forbidden},                   // another commune
		{"off-1", "PA-01", a.Cert.SerialNumber, 2, kernel.Invalid},                     // the CA's own reason
		{"off-1", "PA-01", big.NewInt(12345), 1, kernel.NotFound},                      // no such certificate
		{"off-1", "PA-01", a.Cert.SerialNumber, pki.Reasons["privilegeWithdrawn"], ""}, // allowed
	} {
		err := e.s.RevokeAsOfficer(ctx, tt.officer, tt.agency, tt.serial, tt.reason)
		if kernel.ErrorCode(err) != tt.want && !(tt.want == "" && err == nil) {
			t.Errorf("%s@%s revoking %x: %v, want %q", tt.officer, tt.agency, tt.serial, err, tt.want)
		}
	}
	if st, _ := e.s.Status(ctx, pki.Citizens, a.Cert.SerialNumber); st.State != pki.Revoked {
		t.Fatal("the officer's revocation did not take")
	}
	if st, _ := e.s.Status(ctx, pki.Citizens, b.Cert.SerialNumber); st.State != pki.Good {
		t.Fatal("a refused revocation changed B's certificate")
	}
}

// Checkpoints seal the head of the audit log: someone with write access to
// the database who rewrites history (even recomputing the hash chain so the
// log verifies on its own) is caught, since the seal needs the audit key.
func TestAuditCheckpoints(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cp, made, err := e.s.Checkpoint(ctx, nil)
	if err != nil || !made || cp.Seq == 0 {
		t.Fatalf("first checkpoint: %+v %v %v", cp, made, err)
	}
	if _, made, err := e.s.Checkpoint(ctx, nil); err != nil || made {
		t.Fatalf("a checkpoint with nothing new: %v %v", made, err)
	}
	if _, err := e.s.IssueCitizen(ctx, "001090000001"); err != nil { // audited: the head moves
		t.Fatal(err)
	}
	if _, made, err := e.s.Checkpoint(ctx, nil); err != nil || !made {
		t.Fatalf("second checkpoint: %v %v", made, err)
	}
	rep, err := pki.VerifyCheckpoints(ctx, e.d)
	if err != nil || rep.Problem != "" || rep.Checkpoints != 2 {
		t.Fatalf("intact: %+v %v", rep, err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := e.d.WritePool().ExecContext(ctx, e.d.Rebind(q), args...); err != nil {
			t.Fatal(err)
		}
	}
	// History rewritten at the sealed record.
	exec(`UPDATE audit_log SET hash = 'forged' WHERE seq = ?`, cp.Seq)
	if rep, _ := pki.VerifyCheckpoints(ctx, e.d); rep.FirstBad != cp.Seq || !strings.Contains(rep.Problem, "rewritten") {
		t.Fatalf("rewritten record: %+v", rep)
	}
	exec(`UPDATE audit_log SET hash = ? WHERE seq = ?`, cp.Hash, cp.Seq)
	// A forged checkpoint for the forged history.
	exec(`UPDATE audit_checkpoints SET hash = 'forged' WHERE seq = ?`, cp.Seq)
	exec(`UPDATE audit_log SET hash = 'forged' WHERE seq = ?`, cp.Seq)
	if rep, _ := pki.VerifyCheckpoints(ctx, e.d); rep.FirstBad != cp.Seq || !strings.Contains(rep.Problem, "seal does not verify") {
		t.Fatalf("forged checkpoint: %+v", rep)
	}
	// The sealed record deleted.
	exec(`DELETE FROM audit_log WHERE seq = ?`, cp.Seq)
	if rep, _ := pki.VerifyCheckpoints(ctx, e.d); rep.FirstBad != cp.Seq || !strings.Contains(rep.Problem, "gone") {
		t.Fatalf("deleted record: %+v", rep)
	}
}

func TestRenew(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Renew(ctx, "001090000003", a.Cert.SerialNumber); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("renewing another's certificate: %v", err)
	}
	n, err := e.s.Renew(ctx, "001090000001", a.Cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(n.Cert.RawSubjectPublicKeyInfo, a.Cert.RawSubjectPublicKeyInfo) {
		t.Fatal("the renewed certificate reuses the key")
	}
	if st, _ := e.s.Status(ctx, pki.Citizens, a.Cert.SerialNumber); st.State != pki.Revoked || st.Reason != pki.Reasons["superseded"] {
		t.Fatalf("old certificate after renewal: %+v", st)
	}
	if _, err := e.s.Renew(ctx, "001090000001", a.Cert.SerialNumber); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("renewing a retired certificate: %v", err)
	}
}

// orgs: acct-1 is a clerk at UB-01; acct-2 (level 1) is an officer there.
type orgs struct{}

func (orgs) Official(ctx context.Context, citizenID, agency string) (pki.Official, error) {
	h, err := people.Holder(ctx, citizenID)
	if err != nil {
		return pki.Official{}, err
	}
	if agency != "UB-01" || citizenID == "001090000003" {
		return pki.Official{}, kernel.E(kernel.Forbidden, "error.identity.not_officer")
	}
	return pki.Official{Holder: h, AgencyCode: agency, AgencyName: "UBND Phường Bến Nghé", Role: "Công chức Tư pháp - Hộ tịch"}, nil
}

func (orgs) Agency(_ context.Context, code string) (pki.Agency, error) {
	if code != "UB-01" {
		return pki.Agency{}, kernel.E(kernel.NotFound, "error.registry.agency_not_found")
	}
	return pki.Agency{Code: code, Name: "UBND Phường Bến Nghé"}, nil
}

// Officials get certificates at their posts and agencies seals, under the
// officials' CA; only level-2 holders of a post qualify.
func TestOfficialsAndSeals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, err := pki.New(ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: e.box, Clock: e.clock}, Holders: people, Organisations: orgs{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		citizen, agency string
		want            kernel.Code
	}{
		{"001090000003", "UB-01", kernel.Forbidden}, // no post there
		{"001090000001", "UB-02", kernel.Forbidden}, // a post elsewhere
		{"001090000002", "UB-01", kernel.Forbidden}, // level 1
		{"099999999999", "UB-01", kernel.NotFound},
	} {
		if _, err := s.IssueOfficial(ctx, tt.citizen, tt.agency); kernel.ErrorCode(err) != tt.want {
			t.Errorf("%s at %s: %v, want %s", tt.citizen, tt.agency, err, tt.want)
		}
	}
	off, err := s.IssueOfficial(ctx, "001090000001", "UB-01")
	if err != nil {
		t.Fatal(err)
	}
	seal, err := s.IssueSeal(ctx, "UB-01")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueSeal(ctx, "UB-09"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Errorf("seal of an unknown agency: %v", err)
	}
	officials, _ := s.CA(pki.Officials)
	for _, c := range []*x509.Certificate{off.Cert, seal.Cert} {
		if err := c.CheckSignatureFrom(officials.Cert); err != nil {
			t.Errorf("%s not signed by the officials' CA: %v", c.Subject, err)
		}
		if len(c.PolicyIdentifiers) != 1 || !c.PolicyIdentifiers[0].Equal(pki.PolicyOfficial) {
			t.Errorf("%s policies %v", c.Subject, c.PolicyIdentifiers)
		}
	}
	if off.Cert.Subject.CommonName != "Nguyễn Thị Ánh" || off.Cert.Subject.Organization[0] != "UBND Phường Bến Nghé" {
		t.Errorf("official's subject %v", off.Cert.Subject)
	}
	orgID := ""
	for _, n := range seal.Cert.Subject.Names {
		if n.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 97}) {
			orgID, _ = n.Value.(string)
		}
	}
	if seal.Cert.Subject.CommonName != "UBND Phường Bến Nghé" || orgID != "VN:GOV-UB-01" {
		t.Errorf("seal's subject %v", seal.Cert.Subject)
	}
	// Each is revocable like any other certificate, and shows in the CRL.
	if err := s.Revoke(ctx, seal.Cert.SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	der, _ := s.CRL(ctx, pki.Officials)
	crl, _ := x509.ParseRevocationList(der)
	if crl == nil || len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(seal.Cert.SerialNumber) != 0 {
		t.Fatal("the revoked seal is not in the officials' CRL")
	}
}

// The logs never carry key material: everything the CA logs at debug level
// while it makes its hierarchy, issues, revokes and seals is searched for
// every private key it holds, raw, hex, base64 and PKCS #8.
func TestNoKeysInLogs(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clock := kernel.NewManualClock(time.Now())
	box, _ := sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := pki.New(ctx, pki.Options{DB: d, Clock: clock, Keys: pki.Software{DB: d, Box: box, Clock: clock}, Holders: people, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, a.Cert.SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Checkpoint(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if logs.Len() == 0 {
		t.Fatal("nothing logged: the test would prove nothing")
	}
	keys := pki.Software{DB: d, Box: box, Clock: clock}
	rows, err := d.Query(ctx, `SELECT label FROM pki_keys`)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for rows.Next() {
		var l string
		_ = rows.Scan(&l)
		labels = append(labels, l)
	}
	rows.Close()
	for _, l := range labels {
		k, err := keys.Load(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := k.(*ecdsa.PrivateKey).Bytes()
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		for _, form := range []string{string(raw), hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(der), base64.RawURLEncoding.EncodeToString(raw)} {
			if strings.Contains(logs.String(), form) {
				t.Fatalf("key %s appears in the logs", l)
			}
		}
	}
}
