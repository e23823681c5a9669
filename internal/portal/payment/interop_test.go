package payment

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// need finds a tool, or skips (fails when CIVITAS_REQUIRE_NODE is set, as
// .ci/payment sets it, so that CI never passes by skipping).
func need(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CIVITAS_REQUIRE_NODE") != "" {
		t.Fatalf("%s is missing, and CIVITAS_REQUIRE_NODE says it must run", what)
	}
	t.Skipf("%s is missing", what)
}

// interopPayloads are VietQR codes of orders as the service makes them:
// amounts, names, bill numbers and purposes of every length that occurs.
func interopPayloads(t *testing.T) []VietQR {
	var qs []VietQR
	for i, amount := range []int64{1000, 50000, 120000, 1_250_000, 999_999_999} {
		ref := "CV" + strings.Repeat(string(referenceAlphabet[i+3]), 10)
		qs = append(qs, VietQR{BIN: "970415", Account: "0011001932418", Service: ServiceToAccount, Amount: amount,
			MerchantName: ASCIIText("Kho bạc Nhà nước tỉnh Sông Xanh", 25), BillNumber: ref, Purpose: ASCIIText(ref+" Lệ phí khai sinh", 25)})
	}
	qs = append(qs, VietQR{Static: true, BIN: "970436", Account: "9704360000000001", Service: ServiceToCard})
	return qs
}

// TestInteropEMVQR: npm emvqr, an EMVCo QR parser nobody here wrote,
// reads every payload with a valid CRC and finds the NAPAS template, the
// amount and the purpose where VietQR puts them; a payload whose CRC was
// changed it refuses.
func TestInteropEMVQR(t *testing.T) {
	node, err := exec.LookPath("node")
	dir, _ := filepath.Abs("../../../tests/payment")
	_, statErr := os.Stat(filepath.Join(dir, "node_modules", "emvqr"))
	need(t, "node with tests/payment/node_modules (npm ci in tests/payment)", err == nil && statErr == nil)
	qs := interopPayloads(t)
	var in bytes.Buffer
	var payloads []string
	for _, q := range qs {
		p, err := q.Payload()
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
		fmt.Fprintln(&in, p)
	}
	tampered := payloads[1][:len(payloads[1])-4] + fmt.Sprintf("%04X", crc16(payloads[1][:len(payloads[1])-4])^0x5A5A)
	fmt.Fprintln(&in, tampered)
	cmd := exec.Command(node, filepath.Join(dir, "parse.mjs"))
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var results []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		results = append(results, m)
	}
	if len(results) != len(qs)+1 {
		t.Fatalf("%d results for %d payloads:\n%s", len(results), len(qs)+1, out)
	}
	for i, q := range qs {
		r := results[i]
		amount := ""
		if q.Amount > 0 {
			amount = fmt.Sprint(q.Amount)
		}
		initiation := "12"
		if q.Static {
			initiation = "11"
		}
		want := map[string]any{
			"ok": true, "format": "01", "initiation": initiation, "guid": NAPASGUID, "service": q.Service,
			"currency": "704 (VND)", "amount": amount, "country": "VN (Viet Nam)", "name": q.MerchantName,
			"bill": q.BillNumber, "purpose": q.Purpose, "crc": payloads[i][len(payloads[i])-4:],
			"beneficiary": fmt.Sprintf("00%02d%s01%02d%s", len(q.BIN), q.BIN, len(q.Account), q.Account),
		}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("payload %d (%s): emvqr read %s = %v, want %v", i, payloads[i], k, r[k], v)
			}
		}
	}
	if last := results[len(results)-1]; last["ok"] != false || !strings.Contains(fmt.Sprint(last["error"]), "checksum") {
		t.Errorf("a changed CRC was accepted: %v", last)
	}
}

// TestInteropZbarimg: zbarimg (the ZBar bar code reader) decodes the QR
// image of each payload back to exactly that payload.
func TestInteropZbarimg(t *testing.T) {
	_, err := exec.LookPath("zbarimg")
	need(t, "zbarimg (zbar-tools)", err == nil)
	dir := t.TempDir()
	for i, q := range interopPayloads(t) {
		p, err := q.Payload()
		if err != nil {
			t.Fatal(err)
		}
		img, err := QRImage(p)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, fmt.Sprintf("qr%d.png", i))
		if err := os.WriteFile(file, img, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file).Output()
		if err != nil {
			t.Fatalf("zbarimg %s: %v", file, err)
		}
		if got := strings.TrimRight(string(out), "\n"); got != p {
			t.Errorf("zbarimg read\n %q\nfrom the image of\n %q", got, p)
		}
	}
}
