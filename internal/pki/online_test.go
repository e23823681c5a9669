package pki_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"civitas/internal/db/dbtest"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pki"
	"civitas/internal/pki/pkitest"
	"civitas/internal/web"
)

// serve mounts the trust services on a real HTTP server.
func (e *env) serve(s *pki.Service, extra ...func(*web.Server)) *httptest.Server {
	e.t.Helper()
	cat, _ := i18n.Load()
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: cat, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Mount(ws); err != nil {
		e.t.Fatal(err)
	}
	for _, f := range extra {
		f(ws)
	}
	srv.Config.Handler = ws.Handler()
	srv.Start()
	e.t.Cleanup(srv.Close)
	return srv
}

// OCSP through /pki/ocsp: openssl checks the delegated responder's
// signature; a revocation in this process shows at once, one made by
// another process (another Service on the same database) after a poll.
func TestOCSPEndpoint(t *testing.T) {
	pkitest.NeedOpenSSL(t)
	e := newEnv(t)
	ctx := context.Background()
	srv := e.serve(e.s)
	a, err := e.s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.s.IssueCitizen(ctx, "001090000003")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root, _ := e.s.CA(pki.Root)
	citizens, _ := e.s.CA(pki.Citizens)
	issuer := pkitest.WritePEM(t, dir, "citizens.pem", citizens.Cert)
	chain := pkitest.WritePEM(t, dir, "chain.pem", root.Cert, citizens.Cert)
	leafA := pkitest.WritePEM(t, dir, "a.pem", a.Cert)
	leafB := pkitest.WritePEM(t, dir, "b.pem", b.Cert)
	ask := func(leaf string) string {
		return pkitest.OpenSSL(t, "ocsp", "-issuer", issuer, "-cert", leaf, "-url", srv.URL+"/pki/ocsp", "-CAfile", chain)
	}
	if out := ask(leafA); !strings.Contains(out, "Response verify OK") || !strings.Contains(out, "a.pem: good") {
		t.Fatalf("good certificate: %s", out)
	}
	if err := e.s.Revoke(ctx, a.Cert.SerialNumber, 1); err != nil {
		t.Fatal(err)
	}
	if out := ask(leafA); !strings.Contains(out, "a.pem: revoked") || !strings.Contains(out, "keyCompromise") {
		t.Fatalf("revoked in this process: %s", out)
	}

	// Another process revokes B; the cached "good" stays until the poll.
	get := func() int { // GET, with the base64 request in the path
		req, _ := xocsp.CreateRequest(b.Cert, citizens.Cert, nil)
		resp, err := http.Get(srv.URL + "/pki/ocsp/" + url.PathEscape(base64.StdEncoding.EncodeToString(req)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		der, _ := io.ReadAll(resp.Body)
		r, err := xocsp.ParseResponseForCert(der, b.Cert, citizens.Cert)
		if err != nil {
			t.Fatalf("GET answer: %v", err)
		}
		return r.Status
	}
	if st := get(); st != xocsp.Good { // cached: GET has no nonce
		t.Fatalf("B: status %d", st)
	}
	other := e.open(e.box)
	if err := other.Revoke(ctx, b.Cert.SerialNumber, 4); err != nil {
		t.Fatal(err)
	}
	if st := get(); st != xocsp.Good {
		t.Fatalf("before the poll the cached answer stands (status %d); this test is meaningless otherwise", st)
	}
	if err := e.s.PollRevocations(ctx); err != nil {
		t.Fatal(err)
	}
	if st := get(); st != xocsp.Revoked {
		t.Fatalf("after the poll: status %d", st)
	}
	if out := ask(leafB); !strings.Contains(out, "b.pem: revoked") || !strings.Contains(out, "superseded") {
		t.Fatalf("revoked by another process: %s", out)
	}
	// Answers clients ask for are renewed before they are due.
	if n, err := e.s.RenewOCSP(ctx); err != nil || n != 0 {
		t.Fatalf("renewed fresh answers: %d %v", n, err)
	}
	e.clock.Advance(44*time.Minute + 30*time.Second)
	if n, err := e.s.RenewOCSP(ctx); err != nil || n != 1 {
		t.Fatalf("RenewOCSP 44 minutes in: %d %v", n, err)
	}
}

// The TSA at /pki/tsa gives tokens openssl accepts, and the audit
// checkpoints carry tokens that audit verify checks; a forged token is
// caught.
func TestTimeStamps(t *testing.T) {
	pkitest.NeedOpenSSL(t)
	e := newEnv(t)
	ctx := context.Background()
	srv := e.serve(e.s)
	dir := t.TempDir()
	root, _ := e.s.CA(pki.Root)
	officials, _ := e.s.CA(pki.Officials)
	unit, _ := e.s.CA(pki.TSA)
	rootPEM := pkitest.WritePEM(t, dir, "root.pem", root.Cert)
	untrusted := pkitest.WritePEM(t, dir, "untrusted.pem", officials.Cert, unit.Cert)
	doc := filepath.Join(dir, "doc")
	_ = os.WriteFile(doc, []byte("Giấy khai sinh"), 0o644)
	pkitest.OpenSSL(t, "ts", "-query", "-data", doc, "-sha256", "-cert", "-out", filepath.Join(dir, "q.tsq"))
	q, err := os.ReadFile(filepath.Join(dir, "q.tsq"))
	if err != nil || len(q) == 0 {
		t.Fatalf("openssl ts -query: %v", err)
	}
	resp, err := http.Post(srv.URL+"/pki/tsa", "application/timestamp-query", bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	tsr, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
		t.Fatalf("POST /pki/tsa: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	_ = os.WriteFile(filepath.Join(dir, "r.tsr"), tsr, 0o644)
	if out := pkitest.OpenSSL(t, "ts", "-verify", "-data", doc, "-in", filepath.Join(dir, "r.tsr"), "-CAfile", rootPEM, "-untrusted", untrusted); !strings.Contains(out, "Verification: OK") {
		t.Fatalf("openssl ts -verify: %s", out)
	}
	if out := pkitest.OpenSSL(t, "ts", "-reply", "-in", filepath.Join(dir, "r.tsr"), "-text"); !strings.Contains(out, "2.25.305336798") {
		t.Fatalf("the token does not name the civitas time-stamping policy: %s", out)
	}

	// Checkpoints stamped by the same TSA, checked by audit verify.
	stamper := e.s.Stamper()
	if stamper == nil {
		t.Fatal("no stamper once the services are up")
	}
	if _, _, err := e.s.Checkpoint(ctx, stamper); err != nil {
		t.Fatal(err)
	}
	rep, err := pki.VerifyCheckpoints(ctx, e.d)
	if err != nil || rep.Problem != "" || rep.Stamped != 1 {
		t.Fatalf("stamped checkpoint: %+v %v", rep, err)
	}
	// A token for another digest, or one with a byte changed, is caught.
	var seq int64
	var tok string
	if err := e.d.QueryRow(ctx, `SELECT seq, timestamp_token FROM audit_checkpoints`).Scan(&seq, &tok); err != nil {
		t.Fatal(err)
	}
	other := sha256.Sum256([]byte("another checkpoint"))
	forged, err := stamper.Stamp(ctx, other[:])
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(tok)
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-5] ^= 1 // in the signature
	for name, bad := range map[string][]byte{"another digest": forged, "a changed byte": flipped} {
		if _, err := e.d.WritePool().ExecContext(ctx, e.d.Rebind(`UPDATE audit_checkpoints SET timestamp_token = ? WHERE seq = ?`), base64.StdEncoding.EncodeToString(bad), seq); err != nil {
			t.Fatal(err)
		}
		if rep, _ := pki.VerifyCheckpoints(ctx, e.d); rep.FirstBad != seq || !strings.Contains(rep.Problem, "time-stamp") {
			t.Errorf("%s: %+v", name, rep)
		}
	}
}

// The officer's desk: an officer of the holder's area finds them and
// suspends their certificate; an officer elsewhere sees nothing of them.
func TestOfficerPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, err := pki.New(ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: e.box, Clock: e.clock}, Holders: people, Officers: officers{}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	serial := strings.ToLower(a.Cert.SerialNumber.Text(16))
	srv := e.serve(s, func(ws *web.Server) {
		ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
			if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "level2"}); err != nil {
				ws.Error(w, r, err)
			}
		})
	})
	browser := func(id string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(srv.URL + "/test/login/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return c
	}
	page := func(c *http.Client, q string) (int, string) {
		resp, err := c.Get(srv.URL + "/officer/certificates?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	officer, stranger := browser("off-1"), browser("off-2")
	if st, html := page(officer, "agency=PA-01&citizen_id=001090000001"); st != http.StatusOK || !strings.Contains(html, serial) || !strings.Contains(html, "Nguyễn Thị Ánh") {
		t.Fatalf("officer of the area: %d", st)
	}
	for _, q := range []string{"agency=PA-01&citizen_id=001090000003", "agency=PA-02&citizen_id=001090000001"} {
		if st, html := page(officer, q); st != http.StatusForbidden || strings.Contains(html, "Lê Văn") || strings.Contains(html, serial) {
			t.Errorf("%s: %d", q, st)
		}
	}
	if st, html := page(stranger, "agency=PA-01&citizen_id=001090000001"); st != http.StatusForbidden || strings.Contains(html, serial) {
		t.Errorf("another official: %d", st)
	}
	if st, _ := page(officer, "agency=PA-01&citizen_id=12ab"); st != http.StatusBadRequest {
		t.Errorf("malformed citizen ID: %d", st)
	}
	_, html := page(officer, "agency=PA-01&citizen_id=001090000001")
	tok := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(html)
	if tok == nil {
		t.Fatal("no CSRF token")
	}
	post := func(c *http.Client, form url.Values) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/officer/certificates/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	form := url.Values{"csrf_token": {tok[1]}, "agency": {"PA-02"}, "citizen_id": {"001090000001"}, "serial": {serial}, "reason": {"certificateHold"}}
	if st, _ := post(officer, form); st != http.StatusForbidden {
		t.Fatalf("revoking through a post the officer does not hold: %d", st)
	}
	form.Set("agency", "PA-01")
	if st, loc := post(officer, form); st != http.StatusSeeOther || !strings.Contains(loc, "done=1") {
		t.Fatalf("officer suspending: %d %s", st, loc)
	}
	if st, _ := s.Status(ctx, pki.Citizens, a.Cert.SerialNumber); st.State != pki.Revoked || st.Reason != pki.ReasonHold {
		t.Fatalf("after the officer's suspension: %+v", st)
	}
}

// RSA-3072, the option for relying parties that still need RSA: the whole
// hierarchy, a citizen's certificate, OCSP, CRL and time-stamped checkpoints.
func TestRSAHierarchy(t *testing.T) {
	if testing.Short() {
		t.Skip("RSA-3072 key generation takes seconds")
	}
	e := newEnv(t)
	ctx := context.Background()
	d := dbtest.Open(t)
	s, err := pki.New(ctx, pki.Options{DB: d, Clock: e.clock, Keys: pki.Software{DB: d, Box: e.box, Clock: e.clock}, Algorithm: pki.RSA3072, Holders: people})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	issued, err := s.IssueCitizen(ctx, "001090000001")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := issued.Cert.PublicKey.(*rsa.PublicKey); !ok || issued.Cert.SignatureAlgorithm != x509.SHA256WithRSA {
		t.Fatalf("not RSA: %T %v", issued.Cert.PublicKey, issued.Cert.SignatureAlgorithm)
	}
	srv := (&env{t: t, d: d, clock: e.clock}).serve(s)
	citizens, _ := s.CA(pki.Citizens)
	req, _ := xocsp.CreateRequest(issued.Cert, citizens.Cert, nil)
	resp, err := http.Post(srv.URL+"/pki/ocsp", "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if r, err := xocsp.ParseResponseForCert(der, issued.Cert, citizens.Cert); err != nil || r.Status != xocsp.Good {
		t.Fatalf("OCSP with RSA keys: %v", err)
	}
	if _, _, err := s.Checkpoint(ctx, s.Stamper()); err != nil {
		t.Fatal(err)
	}
	if rep, err := pki.VerifyCheckpoints(ctx, d); err != nil || rep.Problem != "" || rep.Stamped != 1 {
		t.Fatalf("RSA checkpoint: %+v %v", rep, err)
	}
	crlDER, err := s.CRL(ctx, pki.Citizens)
	if err != nil {
		t.Fatal(err)
	}
	if crl, err := x509.ParseRevocationList(crlDER); err != nil || crl.CheckSignatureFrom(citizens.Cert) != nil {
		t.Fatalf("RSA CRL: %v", err)
	}
}

// An agency's seal is issued on first use and found again; the evidence for
// its chain is a good OCSP answer from the officials' responder and the
// officials' CRL, both signed by the hierarchy.
func TestSealAndEvidence(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, err := pki.New(ctx, pki.Options{DB: e.d, Clock: e.clock, Keys: pki.Software{DB: e.d, Box: e.box, Clock: e.clock}, Holders: people, Organisations: orgs{}})
	if err != nil {
		t.Fatal(err)
	}
	signer, chain, err := s.Seal(ctx, "UB-01")
	if err != nil {
		t.Fatal(err)
	}
	_, again, err := s.Seal(ctx, "UB-01")
	if err != nil || !again[0].Equal(chain[0]) {
		t.Fatalf("second use issued another seal: %v", err)
	}
	if len(chain) != 3 || !chain[2].Equal(func() *x509.Certificate { r, _ := s.CA(pki.Root); return r.Cert }()) {
		t.Fatalf("chain of %d", len(chain))
	}
	if !signer.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(chain[0].PublicKey) {
		t.Fatal("the seal key is not the certificate's")
	}
	if _, _, err := s.Seal(ctx, "NO-SUCH"); kernel.ErrorCode(err) != kernel.NotFound {
		t.Fatalf("seal of an unknown agency: %v", err)
	}
	ocsps, crls, err := s.Evidence(ctx, chain)
	if err != nil || len(ocsps) != 1 || len(crls) != 2 {
		t.Fatalf("evidence: %d OCSP, %d CRL, %v", len(ocsps), len(crls), err)
	}
	r, err := xocsp.ParseResponseForCert(ocsps[0], chain[0], chain[1])
	if err != nil || r.Status != xocsp.Good {
		t.Fatalf("OCSP evidence: %v", err)
	}
	for _, der := range crls {
		crl, err := x509.ParseRevocationList(der)
		if err != nil || (crl.CheckSignatureFrom(chain[1]) != nil && crl.CheckSignatureFrom(chain[2]) != nil) {
			t.Fatalf("CRL evidence: %v", err)
		}
	}
}
