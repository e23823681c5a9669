package payment

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReceipts: the payer downloads the receipt of a paid order, made
// once and sealed by the agency (here a stand-in sealer), the same file
// every time; an official of the agency downloads it too, written to the
// data-use log; a stranger and an official of another agency get 404,
// and a pending order has none. pdftotext, when installed, reads the
// amount in words back.
func TestReceipts(t *testing.T) {
	e := newSite(t)
	if !e.s.ReceiptsEnabled() {
		if os.Getenv("CI") == "true" {
			t.Fatal("no system font in CI")
		}
		t.Skip("no system font (fonts-dejavu-core): no receipts")
	}
	c := e.start("acct1", "app-1", 1_250_000)
	payer, stranger := e.browser("acct1", false), e.browser("acct2", false)
	e.dir.posts["clerk"] = []string{"T99.UBND"}
	e.dir.posts["police"] = []string{"T99.CA"}
	clerk, police, clerk1 := e.browser("clerk", false), e.browser("police", false), e.browser("clerk", true)
	path := "/payments/" + c.OrderID + "/receipt.pdf"
	if st, _, _ := payer.get(path); st != http.StatusConflict {
		t.Fatalf("receipt of a pending order: %d", st)
	}
	if e.ipn(paid(c, "31337"), true) != "00" {
		t.Fatal("not paid")
	}
	if _, page, _ := payer.get("/payments/" + c.OrderID); !strings.Contains(page, path) {
		t.Fatal("the order page does not link the receipt")
	}
	st, b, h := payer.get(path)
	if st != http.StatusOK || h.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(b, "%PDF-") || !strings.HasSuffix(b, "%sealed\n") {
		t.Fatalf("%d %s %.20q", st, h.Get("Content-Type"), b)
	}
	if _, again, _ := payer.get(path); again != b || e.sealer.calls != 1 {
		t.Fatalf("second download differs or sealed again (%d seals)", e.sealer.calls)
	}
	if len(e.uses.uses) != 0 {
		t.Fatal("the payer's own read was logged as someone else's")
	}
	if st, _, _ := stranger.get(path); st != http.StatusNotFound {
		t.Fatalf("stranger: %d", st)
	}
	official := "/officer/payments/orders/" + c.OrderID + "/receipt.pdf"
	if st, ob, _ := clerk.get(official); st != http.StatusOK || ob != b {
		t.Fatalf("the agency's official: %d", st)
	}
	if len(e.uses.uses) != 1 || e.uses.uses[0].Subject != "099acct1" || e.uses.uses[0].Agency != "T99.UBND" || e.uses.uses[0].CaseRef != "app-1" {
		t.Fatalf("data use %+v", e.uses.uses)
	}
	if st, _, _ := police.get(official); st != http.StatusNotFound {
		t.Fatalf("another agency's official: %d", st)
	}
	if st, _, h := clerk1.get(official); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "acr=level2") {
		t.Fatalf("a level-1 session: %d", st)
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		dir := t.TempDir()
		file := filepath.Join(dir, "r.pdf")
		if err := os.WriteFile(file, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-enc", "UTF-8", file, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"BIÊN LAI THU PHÍ, LỆ PHÍ", "Một triệu hai trăm năm mươi nghìn đồng", "1.250.000 đ", c.Reference, "Nguyễn Thị Hoa"} {
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("pdftotext lacks %q:\n%s", want, out)
			}
		}
	}
}

// TestOfficerPages: the reconciliation pages need an official's level-2
// session; a citizen without a post is refused.
func TestOfficerPages(t *testing.T) {
	e := newSite(t)
	e.dir.posts["clerk"] = []string{"T99.UBND"}
	if _, err := e.s.Reconcile(e.ctx, "2026-03-01"); err != nil {
		t.Fatal(err)
	}
	st, page, _ := e.browser("clerk", false).get("/officer/payments")
	if st != http.StatusOK || !strings.Contains(page, "2026-03-01") {
		t.Fatalf("%d\n%s", st, page)
	}
	if st, _, _ := e.browser("acct1", false).get("/officer/payments"); st != http.StatusForbidden {
		t.Fatalf("a citizen: %d", st)
	}
	if st, _, h := e.browser("clerk", true).get("/officer/payments"); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "acr=level2") {
		t.Fatalf("level 1: %d", st)
	}
}
