package wallet_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/app"
	"civitas/internal/audit"
	"civitas/internal/i18n"
	"civitas/internal/identity"
	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/registry"
	"civitas/internal/wallet"
	"civitas/internal/web"
)

// testPDFSealer seals as internal/app's sealer does: the agency's seal from
// the trust services, at the level asked (B-T in production), time-stamped
// by the province's TSA.
type testPDFSealer struct {
	ca    *pki.Service
	clock kernel.Clock
	level pades.Level
	calls *atomic.Int64
}

var _ wallet.PDFSealer = testPDFSealer{}

func (s testPDFSealer) SealPDF(ctx context.Context, agency string, in []byte) ([]byte, error) {
	if s.calls != nil {
		s.calls.Add(1)
	}
	signer, chain, err := s.ca.Seal(ctx, agency)
	if err != nil {
		return nil, err
	}
	if err := s.ca.StartOnline(ctx); err != nil {
		return nil, err
	}
	tsaChain, err := s.ca.TSAChain()
	if err != nil {
		return nil, err
	}
	o := pades.Options{Level: s.level, Certificate: chain[0], Chain: chain[1:], Stamper: s.ca.Stamper(), TSAChain: tsaChain,
		PDF: pdf.SignOptions{Name: chain[0].Subject.CommonName, Reason: "Bản sao giấy tờ", SignTime: s.clock.Now()}}
	var out pdfBuffer
	n, err := pades.Sign(ctx, &out, bytes.NewReader(in), int64(len(in)), signer, o)
	if err != nil {
		return nil, err
	}
	return out.b[:n], nil
}

// pdfBuffer is a file in memory for pades.Sign.
type pdfBuffer struct{ b []byte }

func (m *pdfBuffer) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[off:], p)
	return len(p), nil
}

// newPDFSite is the wallet's pages on the real router (as newWalletSite)
// with sealed PDFs on or off, and the trust services served there too:
// their certificates name this server's OCSP responder, which poppler's
// pdfsig asks before it calls a certificate trusted. seals counts the
// PDFs sealed.
func newPDFSite(t *testing.T, on bool) (*walletSite, *atomic.Int64) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	pub, _ := url.Parse("http://" + srv.Listener.Addr().String())
	e := newEnvAt(t, pub.String())
	var err error
	seals := &atomic.Int64{}
	o := e.opts
	if on {
		o.PDF = &wallet.PDFOptions{Sealer: testPDFSealer{ca: e.ca, clock: e.clock, level: pades.LevelBT, calls: seals}, Font: pdfFont(t)}
	}
	if e.w, err = wallet.New(o); err != nil {
		t.Fatal(err)
	}

	id, err := identity.New(identity.Options{DB: e.d, Clock: e.clock, Registry: e.reg, Box: e.opts.Box, SMS: noSMS{},
		Password: identity.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	ws, err := web.NewServer(web.Options{DB: e.d, Clock: e.clock, Catalog: msgs, PublicURL: pub, Ready: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ca.Mount(ws); err != nil {
		t.Fatal(err)
	}
	throttle := &identity.Throttle{DB: e.d, Clock: e.clock, MaxFailures: shareWrongCodes, Window: 15 * time.Minute, LockFor: time.Minute, MaxLock: time.Hour}
	if err := e.w.MountPages(wallet.PagesOptions{Web: ws, Accounts: app.WalletAccounts(id), Registry: e.reg, Throttle: throttle, PublicURL: pub.String()}); err != nil {
		t.Fatal(err)
	}
	ws.HandleFunc("GET /test/login/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := ws.StartLogin(w, r, web.Login{AccountID: r.PathValue("id"), ACR: "urn:civitas:acr:level2"}); err != nil {
			ws.Error(w, r, err)
		}
	})
	srv.Config.Handler = ws.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return &walletSite{env: e, id: id, srv: srv}, seals
}

// trust is the province's root, the only anchor of validation.
func (e *env) trust() pades.Trust {
	e.t.Helper()
	root, err := e.ca.CA(pki.Root)
	if err != nil {
		e.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	return pades.Trust{Roots: pool}
}

func (e *env) validatePDF(b []byte) *pades.Report {
	e.t.Helper()
	rep, err := pades.Validate(e.ctx, bytes.NewReader(b), int64(len(b)), e.trust(), e.ca)
	if err != nil {
		e.t.Fatalf("validate: %v", err)
	}
	return rep
}

// nssDB makes an NSS database that trusts the province's root, for pdfsig.
func (e *env) nssDB(t testing.TB) string {
	t.Helper()
	pdfTool(t, "certutil")
	root, err := e.ca.CA(pki.Root)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, rootPEM := filepath.Join(dir, "nss"), filepath.Join(dir, "root.pem")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-N", "-d", "sql:" + db, "--empty-password"},
		{"-A", "-d", "sql:" + db, "-n", "civitas-root", "-t", "CT,C,C", "-i", rootPEM},
	} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil %v: %v\n%s", args, err, out)
		}
	}
	return "sql:" + db
}

var pdfsigBlock = regexp.MustCompile(`(?m)^Signature #\d+:`)

// pdfsigReport runs poppler's verifier and splits its report per signature.
func pdfsigReport(t testing.TB, nss, file string) []string {
	t.Helper()
	out, _ := exec.Command("pdfsig", "-nssdir", nss, file).CombinedOutput() // non-zero for invalid signatures
	idx := pdfsigBlock.FindAllStringIndex(string(out), -1)
	var blocks []string
	for i, loc := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		blocks = append(blocks, string(out[loc[0]:end]))
	}
	return blocks
}

// TestPDF: the holder's document as a PDF sealed by its agency at B-T,
// which our validator and poppler both accept against the province's root;
// made once, stored sealed, the same bytes at every download; nobody
// else's; refused once revoked; every download audited without claims.
func TestPDF(t *testing.T) {
	site, seals := newPDFSite(t, true)
	e, w := site.env, site.w
	p, other := e.person(0), e.person(1)
	holder := wallet.Holder{Kind: wallet.HolderPerson, ID: p.CitizenID}
	insurance := e.agency(registry.SocialInsurance)
	doc, err := w.Issue(e.ctx, wallet.Issuance{Agency: insurance, Type: "health_insurance_card", Holder: holder, Claims: healthCard(p)})
	if err != nil {
		t.Fatal(err)
	}
	agency, err := e.reg.Agency(e.ctx, insurance)
	if err != nil {
		t.Fatal(err)
	}

	first, err := w.PDF(e.ctx, holder, doc.ID, "en")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ok/valid at B-T against the province's root", func(t *testing.T) {
		rep := e.validatePDF(first)
		if rep.Verdict != pades.Passed || len(rep.Signatures) != 1 {
			t.Fatalf("verdict %s: %+v", rep.Verdict, rep.Signatures)
		}
		s := rep.Signatures[0]
		if s.Level != pades.LevelBT || s.TimestampTime == nil || !s.CoversWholeRevision || s.ModifiedAfter || s.Revocation != "good" {
			t.Errorf("report %+v", s)
		}
		_, chain, err := e.ca.Seal(e.ctx, insurance)
		if err != nil || s.SignerName != chain[0].Subject.CommonName {
			t.Errorf("signed by %q, want the agency's seal (%v)", s.SignerName, err)
		}
	})
	t.Run("ok/pdfsig: valid and trusted", func(t *testing.T) {
		pdfTool(t, "pdfsig", "qpdf", "pdftotext")
		file := writeTemp(t, "sealed.pdf", first)
		qpdfCheck(t, file)
		blocks := pdfsigReport(t, e.nssDB(t), file)
		if len(blocks) != 1 {
			t.Fatalf("pdfsig found %d signatures:\n%s", len(blocks), strings.Join(blocks, ""))
		}
		for _, want := range []string{"Signature Validation: Signature is Valid.", "Certificate Validation: Certificate is Trusted.",
			"Signature Type: ETSI.CAdES.detached", "Total document signed"} {
			if !strings.Contains(blocks[0], want) {
				t.Errorf("pdfsig lacks %q:\n%s", want, blocks[0])
			}
		}
		text := pdfText(t, file)
		for _, want := range []string{"Thẻ bảo hiểm y tế", "Health insurance card", agency.Name, p.FullName, "DN4797912345678", "Bệnh viện Đa khoa tỉnh",
			doc.ID, issuer + "/verify"} {
			if !strings.Contains(text, want) {
				t.Errorf("pdftotext lacks %q:\n%s", want, text)
			}
		}
	})
	t.Run("ok/the second download is the same file, not sealed again", func(t *testing.T) {
		again, err := w.PDF(e.ctx, holder, doc.ID, "en")
		if err != nil || !bytes.Equal(again, first) {
			t.Fatalf("second download differs (%v)", err)
		}
		if n := seals.Load(); n != 1 {
			t.Errorf("%d seals for one rendering", n)
		}
		vi, err := w.PDF(e.ctx, holder, doc.ID, "fr") // any other language is Vietnamese only
		if err != nil || bytes.Equal(vi, first) || seals.Load() != 2 {
			t.Fatalf("Vietnamese: %v, %d seals", err, seals.Load())
		}
		if again, err := w.PDF(e.ctx, holder, doc.ID, "vi"); err != nil || !bytes.Equal(again, vi) || seals.Load() != 2 {
			t.Fatalf("vi after fr: %v, %d seals", err, seals.Load())
		}
	})
	t.Run("ok/stored sealed at rest", func(t *testing.T) {
		rows, err := e.d.Query(e.ctx, `SELECT lang, sealed FROM wallet_renderings WHERE document_id = ?`, doc.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var lang, stored string
			if err := rows.Scan(&lang, &stored); err != nil {
				t.Fatal(err)
			}
			raw, err := base64.StdEncoding.DecodeString(stored)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte("%PDF")) || bytes.Contains(raw, []byte("DN4797912345678")) || len(raw) < len(first)/2 {
				t.Errorf("%s: the PDF is stored in the clear", lang)
			}
			n++
		}
		if err := rows.Err(); err != nil || n != 2 {
			t.Fatalf("%d renderings stored (%v), want en and vi", n, err)
		}
	})
	t.Run("ok/one changed byte fails validation", func(t *testing.T) {
		bad := bytes.Clone(first)
		i := bytes.Index(bad, []byte("stream\n")) + len("stream\n") + 5 // inside the page's content, under the signature
		bad[i] ^= 0x01
		rep, err := pades.Validate(e.ctx, bytes.NewReader(bad), int64(len(bad)), e.trust(), e.ca)
		if err == nil && rep.Verdict == pades.Passed {
			t.Fatal("a changed file still passes")
		}
		if err == nil && (rep.Verdict != pades.Failed || len(rep.Signatures) != 1) {
			t.Errorf("verdict %s: %+v", rep.Verdict, rep.Signatures)
		}
	})
	t.Run("fail/another citizen", func(t *testing.T) {
		stranger := wallet.Holder{Kind: wallet.HolderPerson, ID: other.CitizenID}
		if _, err := w.PDF(e.ctx, stranger, doc.ID, "vi"); kernel.ErrorCode(err) != kernel.NotFound {
			t.Fatalf("got %v, want NotFound", err)
		}
		if _, err := w.PDF(e.ctx, holder, "nosuchdocument", "vi"); kernel.ErrorCode(err) != kernel.NotFound {
			t.Fatalf("got %v, want NotFound", err)
		}
	})
	t.Run("fail/off without a sealer", func(t *testing.T) {
		off, err := wallet.New(e.opts)
		if err != nil {
			t.Fatal(err)
		}
		if off.PDFEnabled() {
			t.Fatal("PDFs on without a sealer")
		}
		if _, err := off.PDF(e.ctx, holder, doc.ID, "vi"); kernel.ErrorCode(err) != kernel.NotFound {
			t.Fatalf("got %v, want NotFound", err)
		}
		o := e.opts
		o.PDF = &wallet.PDFOptions{Font: pdfFont(t)}
		if off, err = wallet.New(o); err != nil || off.PDFEnabled() {
			t.Fatalf("PDFs on with a font and no sealer (%v)", err)
		}
	})
	t.Run("ok/every download audited, without claims", func(t *testing.T) {
		recs, err := audit.List(e.ctx, e.d, audit.Query{SubjectType: "wallet_document", SubjectID: doc.ID})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range recs {
			if r.Action != "wallet.pdf.download" {
				continue
			}
			n++
			for _, secret := range []string{"DN4797912345678", p.FullName, p.BirthDate, "Bệnh viện"} {
				if strings.Contains(r.Details, secret) {
					t.Errorf("audit details hold a claim: %s", r.Details)
				}
			}
		}
		if n != 4 {
			t.Errorf("%d downloads audited, want 4", n)
		}
	})
	t.Run("fail/suspended, then revoked", func(t *testing.T) {
		for _, tc := range []struct{ status, reason, key string }{
			{wallet.StatusSuspended, "investigation", "walletpdf.error.suspended"},
			{wallet.StatusRevoked, "withdrawn", "walletpdf.error.revoked"},
		} {
			if err := w.SetStatus(e.ctx, insurance, doc.ID, tc.status, tc.reason); err != nil {
				t.Fatal(err)
			}
			for _, lang := range []string{"en", "ar"} { // rendered before, and not
				_, err := w.PDF(e.ctx, holder, doc.ID, lang)
				if k, _ := kernel.ErrorKey(err); kernel.ErrorCode(err) != kernel.Conflict || k != tc.key {
					t.Errorf("%s, %s: got %v, want Conflict %s", tc.status, lang, err, tc.key)
				}
			}
			// Suspended, its stored copies stay for a reinstatement;
			// revoked, they are deleted.
			var kept int
			if err := e.d.QueryRow(e.ctx, `SELECT COUNT(*) FROM wallet_renderings WHERE document_id = ?`, doc.ID).Scan(&kept); err != nil {
				t.Fatal(err)
			}
			if revoked := tc.status == wallet.StatusRevoked; revoked != (kept == 0) {
				t.Errorf("%s: %d stored PDFs", tc.status, kept)
			}
		}
	})
}

// TestPDFOrganisation: an organisation's document names the enterprise.
func TestPDFOrganisation(t *testing.T) {
	site, _ := newPDFSite(t, true)
	e, w := site.env, site.w
	b := e.business()
	org := wallet.Holder{Kind: wallet.HolderOrganisation, ID: b.RegNumber}
	doc, err := w.Issue(e.ctx, wallet.Issuance{Agency: e.agency(registry.PeopleCommittee), Type: "business_registration", Holder: org})
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.PDF(e.ctx, org, doc.ID, "ar")
	if err != nil {
		t.Fatal(err)
	}
	if rep := e.validatePDF(out); rep.Verdict != pades.Passed {
		t.Fatalf("verdict %s: %+v", rep.Verdict, rep.Signatures)
	}
	pdfTool(t, "pdftotext")
	if text := pdfText(t, writeTemp(t, "org.pdf", out)); !strings.Contains(text, b.Name+" ("+b.RegNumber+")") {
		t.Errorf("pdftotext lacks the enterprise %q:\n%s", b.Name, text)
	}
}
