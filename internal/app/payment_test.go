package app

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/pdf"
	"civitas/internal/pki"
	"civitas/internal/portal/payment"
)

// TestPaymentDemoPathAndSealedReceipt: on the whole platform with --demo,
// a citizen pays a fee through the demo bank (the gateway driver's signed
// redirect, the bank's signed IPN through the router), the order is paid,
// and the receipt is sealed by the collecting agency at PAdES B-T: valid
// for our validator and, when installed, for poppler's pdfsig against the
// province's root.
func TestPaymentDemoPathAndSealedReceipt(t *testing.T) {
	if _, err := pdf.SystemFont(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no system font in CI: %v", err)
		}
		t.Skip("no system font (fonts-dejavu-core): no receipts")
	}
	s := startSite(t)
	if s.a.Payments() == nil || !s.a.Payments().ReceiptsEnabled() {
		t.Fatal("--demo has no payments or no receipts")
	}
	ctx := kernel.WithActor(s.ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: s.account.ID})
	c, err := s.a.Payments().Start(ctx, payment.Order{ApplicationID: "app-demo-1", Procedure: "birth_registration", Agency: s.insurance,
		Unit: s.person.UnitCode, Amount: 50000, Description: "Lệ phí cấp thẻ", PayerCitizen: s.person.CitizenID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := payment.ParseVietQR(c.QRPayload); err != nil {
		t.Fatal(err)
	}
	b := s.browser(s.account.ID)
	resp, err := b.Get(s.base + "/payments/" + c.OrderID + "/pay")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	bankURL := resp.Request.URL
	if resp.StatusCode != http.StatusOK || bankURL.Path != "/demo/pay/"+c.Reference {
		t.Fatalf("the gateway link led to %d %s", resp.StatusCode, bankURL)
	}
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if token == nil {
		t.Fatalf("no form on the bank's page:\n%s", page)
	}
	form := url.Values{"csrf_token": {string(token[1])}, "q": {bankURL.RawQuery}, "action": {"pay"}}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/demo/pay/"+c.Reference, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err = b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	result, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(result, []byte(`id="payment-ok"`)) {
		t.Fatalf("result %d:\n%s", resp.StatusCode, result)
	}
	if got, _ := s.a.Payments().Status(s.ctx, c.OrderID); got.Status != payment.StatusPaid {
		t.Fatalf("order %s after the bank confirmed", got.Status)
	}

	resp, err = b.Get(s.base + "/payments/" + c.OrderID + "/receipt.pdf")
	if err != nil {
		t.Fatal(err)
	}
	receipt, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("receipt %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	root, err := s.a.pki.CA(pki.Root)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	rep, err := pades.Validate(s.ctx, bytes.NewReader(receipt), int64(len(receipt)), pades.Trust{Roots: pool}, s.a.pki)
	if err != nil || rep.Verdict != pades.Passed || len(rep.Signatures) != 1 || rep.Signatures[0].Level != pades.LevelBT {
		t.Fatalf("validation: %v %+v", err, rep)
	}
	for _, tool := range []string{"pdfsig", "certutil"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed, and CI must have it", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	file, rootPEM, nss := filepath.Join(dir, "receipt.pdf"), filepath.Join(dir, "root.pem"), filepath.Join(dir, "nss")
	if err := os.WriteFile(file, receipt, 0o600); err != nil {
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
