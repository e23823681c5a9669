package app

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
)

// TestWalletPDFOverHTTP: through the real router, the holder's details
// page links the PDF sealed by the agency, GET /wallet/{id}/pdf sends it,
// sealed at B-T by the trust services' seal of the issuing agency, valid
// for our validator and for poppler against the province's root; a
// stranger gets 404.
func TestWalletPDFOverHTTP(t *testing.T) {
	if _, err := pdf.SystemFont(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no system font in CI: %v", err)
		}
		t.Skip("no system font (fonts-dejavu-core): the wallet offers no PDFs")
	}
	s := startSite(t)
	if !s.a.wallet.PDFEnabled() {
		t.Fatal("the app does not turn the wallet's PDFs on")
	}
	holder, stranger := s.browser(s.account.ID), s.browser(s.stranger.ID)
	get := func(c *http.Client, path string) (int, http.Header, []byte) {
		t.Helper()
		resp, err := c.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	pdfPath := "/wallet/" + s.doc.ID + "/pdf"
	if st, _, page := get(holder, "/wallet/"+s.doc.ID); st != http.StatusOK || !bytes.Contains(page, []byte(`href="`+pdfPath+`"`)) {
		t.Fatalf("details page: %d, no link to %s", st, pdfPath)
	}
	st, h, b := get(holder, pdfPath)
	if st != http.StatusOK || h.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("%d %q %q", st, h.Get("Content-Type"), h.Get("Content-Disposition"))
	}
	root, err := s.a.pki.CA(pki.Root)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	rep, err := pades.Validate(s.ctx, bytes.NewReader(b), int64(len(b)), pades.Trust{Roots: pool}, s.a.pki)
	if err != nil || rep.Verdict != pades.Passed || len(rep.Signatures) != 1 || rep.Signatures[0].Level != pades.LevelBT {
		t.Fatalf("validation: %v %+v", err, rep)
	}
	if st, _, again := get(holder, pdfPath); st != http.StatusOK || !bytes.Equal(again, b) {
		t.Errorf("second download: %d, same bytes %v", st, bytes.Equal(again, b))
	}
	if st, _, body := get(stranger, pdfPath); st != http.StatusNotFound || bytes.HasPrefix(body, []byte("%PDF")) {
		t.Errorf("a stranger gets %d", st)
	}

	// poppler, trusting the root through an NSS database; the seal's OCSP
	// responder is this server.
	for _, tool := range []string{"pdfsig", "certutil"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed, and CI must have it", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	file, rootPEM, nss := filepath.Join(dir, "doc.pdf"), filepath.Join(dir, "root.pem"), filepath.Join(dir, "nss")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(nss, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-N", "-d", "sql:" + nss, "--empty-password"}, {"-A", "-d", "sql:" + nss, "-n", "root", "-t", "CT,C,C", "-i", rootPEM}} {
		if out, err := exec.Command("certutil", args...).CombinedOutput(); err != nil {
			t.Fatalf("certutil: %v\n%s", err, out)
		}
	}
	out, _ := exec.Command("pdfsig", "-nssdir", "sql:"+nss, file).CombinedOutput()
	for _, want := range []string{"Signature is Valid.", "Certificate is Trusted.", "ETSI.CAdES.detached"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("pdfsig lacks %q:\n%s", want, out)
		}
	}
}
