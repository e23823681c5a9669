package payment

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
)

func TestCRC16(t *testing.T) {
	// The check value of CRC-16/CCITT-FALSE (CRC-16/IBM-3740 in the
	// catalogue of parametrised CRC algorithms).
	if got := crc16("123456789"); got != 0x29B1 {
		t.Fatalf("crc16(123456789) = %04X, want 29B1", got)
	}
}

// TestVietQRKnownPayloads builds payloads a public VietQR implementation
// published, byte for byte: github.com/subiz/vietqr (MIT), its README
// ("Sinh mã chuyển khoản 120.000 vào STK 0011001932418 ngân hàng Vietin")
// and vietqr_test.go. Bank apps scan those; ours must be the same string.
func TestVietQRKnownPayloads(t *testing.T) {
	for name, tc := range map[string]struct {
		q    VietQR
		want string
	}{
		"ok/static without amount (subiz/vietqr vietqr_test.go)": {
			VietQR{Static: true, BIN: "970423", Account: "0099999999", Service: ServiceToAccount},
			"00020101021138540010A00000072701240006970423011000999999990208QRIBFTTA53037045802VN6304CBB4"},
		"ok/one payment with amount and purpose (subiz/vietqr vietqr_test.go)": {
			VietQR{BIN: "970422", Account: "0023457923442", Service: ServiceToAccount, Amount: 40123, Purpose: "test text string"},
			"00020101021238570010A00000072701270006970422011300234579234420208QRIBFTTA53037045405401235802VN62200816test text string6304D9C6"},
		"ok/purpose without diacritics (subiz/vietqr README)": {
			VietQR{BIN: "970415", Account: "0011001932418", Service: ServiceToAccount, Amount: 120000, Purpose: ASCIIText("ủng hộ lũ lụt", 25)},
			"00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN62170813ung ho lu lut6304C15C"},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.q.Payload()
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("payload\n got %s\nwant %s", got, tc.want)
			}
			back, err := ParseVietQR(got)
			if err != nil {
				t.Fatal(err)
			}
			if back != tc.q {
				t.Fatalf("parsed back %+v, want %+v", back, tc.q)
			}
		})
	}
}

func TestVietQRFull(t *testing.T) {
	q := VietQR{BIN: "970415", Account: "113366668888", Service: ServiceToCard, Amount: 50000,
		MerchantName: ASCIIText("Ủy ban nhân dân xã Hòa Thắng", 25), MerchantCity: "BUON MA THUOT", BillNumber: "CV7K2M9Q4X1B", Purpose: "CV7K2M9Q4X1B LE PHI"}
	p, err := q.Payload()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"000201", "010212", "0010A000000727", "0208QRIBFTTC", "5303704", "540550000", "5802VN", "5925Uy ban nhan dan xa Hoa Th", "6013BUON MA THUOT", "0112CV7K2M9Q4X1B"} {
		if !strings.Contains(p, want) {
			t.Errorf("payload %s lacks %s", p, want)
		}
	}
	back, err := ParseVietQR(p)
	if err != nil || back != q {
		t.Fatalf("%v: %+v", err, back)
	}
}

func TestVietQRRefuses(t *testing.T) {
	good := VietQR{BIN: "970415", Account: "0011001932418", Service: ServiceToAccount, Amount: 120000, Purpose: "x"}
	for name, edit := range map[string]func(*VietQR){
		"fail/short BIN":           func(q *VietQR) { q.BIN = "97041" },
		"fail/account with a dash": func(q *VietQR) { q.Account = "0011-001" },
		"fail/account too long":    func(q *VietQR) { q.Account = strings.Repeat("1", 20) },
		"fail/unknown service":     func(q *VietQR) { q.Service = "QRPUSH" },
		"fail/negative amount":     func(q *VietQR) { q.Amount = -1 },
		"fail/static with amount":  func(q *VietQR) { q.Static = true },
		"fail/purpose too long":    func(q *VietQR) { q.Purpose = strings.Repeat("a", 26) },
		"fail/purpose not ASCII":   func(q *VietQR) { q.Purpose = "lệ phí" },
	} {
		t.Run(name, func(t *testing.T) {
			q := good
			edit(&q)
			if p, err := q.Payload(); err == nil {
				t.Fatalf("built %s", p)
			}
		})
	}
	known := "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN62170813ung ho lu lut6304C15C"
	for name, p := range map[string]string{
		"fail/CRC off by one":          known[:len(known)-1] + "D",
		"fail/amount changed":          strings.Replace(known, "5406120000", "5406990000", 1),
		"fail/no CRC":                  known[:len(known)-8],
		"fail/truncated":               known[:40],
		"fail/empty":                   "",
		"fail/not format 01":           "000202" + known[6:],
		"fail/length past the end":     "00020101021238990010A000000727",
		"fail/currency USD":            mustEMV(t, []Object{{"00", "01"}, {"01", "12"}, {"38", "0010A00000072701270006970415011300110019324180208QRIBFTTA"}, {"53", "840"}, {"58", "VN"}}),
		"fail/other scheme in 38":      mustEMV(t, []Object{{"00", "01"}, {"01", "12"}, {"38", "0010A00000000101270006970415011300110019324180208QRIBFTTA"}, {"53", "704"}, {"58", "VN"}}),
		"fail/amount with decimals":    mustEMV(t, []Object{{"00", "01"}, {"01", "12"}, {"38", "0010A00000072701270006970415011300110019324180208QRIBFTTA"}, {"53", "704"}, {"54", "100.50"}, {"58", "VN"}}),
		"fail/an object twice":         mustEMV(t, []Object{{"00", "01"}, {"01", "12"}, {"38", "0010A00000072701270006970415011300110019324180208QRIBFTTA"}, {"53", "704"}, {"53", "704"}, {"58", "VN"}}),
		"fail/no merchant information": mustEMV(t, []Object{{"00", "01"}, {"01", "12"}, {"53", "704"}, {"58", "VN"}}),
	} {
		t.Run(name, func(t *testing.T) {
			if q, err := ParseVietQR(p); err == nil {
				t.Fatalf("parsed %+v", q)
			}
		})
	}
}

func mustEMV(t *testing.T, objects []Object) string {
	t.Helper()
	s, err := BuildEMV(objects)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestQRImage(t *testing.T) {
	p, err := VietQR{BIN: "970415", Account: "0011001932418", Service: ServiceToAccount, Amount: 120000, Purpose: "CV7K2M9Q4X1B"}.Payload()
	if err != nil {
		t.Fatal(err)
	}
	b, err := QRImage(p)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w < 200 {
		t.Fatalf("image %d pixels wide", w)
	}
}

func TestASCIIText(t *testing.T) {
	for in, want := range map[string]string{
		"Lệ phí đăng ký khai sinh": "Le phi dang ky khai sinh",
		"  ĐẮK  LẮK\n":             "DAK LAK",
		"ủng hộ – lũ lụt":          "ung ho lu lut",
	} {
		if got := ASCIIText(in, 40); got != want {
			t.Errorf("ASCIIText(%q) = %q, want %q", in, got, want)
		}
	}
	if got := ASCIIText("abc def ghi", 4); got != "abc" {
		t.Errorf("cut: %q", got)
	}
}

// FuzzParseEMV: any string either fails to parse or parses to objects
// that BuildEMV writes back to the same string (with an upper-case CRC),
// and ParseVietQR never panics.
func FuzzParseEMV(f *testing.F) {
	f.Add("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN62170813ung ho lu lut6304C15C")
	f.Add("00020101021138540010A00000072701240006970423011000999999990208QRIBFTTA53037045802VN6304CBB4")
	f.Add("000201010212")
	f.Add("6304")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseVietQR(s)
		objects, err := ParseEMV(s)
		if err != nil {
			return
		}
		back, err := BuildEMV(objects[:len(objects)-1])
		if err != nil {
			t.Fatalf("parsed %q but cannot build it back: %v", s, err)
		}
		if !strings.EqualFold(back, s) {
			t.Fatalf("round trip\n got %q\nwant %q", back, s)
		}
	})
}

func BenchmarkVietQRPayload(b *testing.B) {
	q := VietQR{BIN: "970415", Account: "0011001932418", Service: ServiceToAccount, Amount: 50000, MerchantName: "UBND XA HOA THANG", Purpose: "CV7K2M9Q4X1B LE PHI"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.Payload(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVietQRImage is what a checkout page costs: the payload and its
// QR code as PNG.
func BenchmarkVietQRImage(b *testing.B) {
	q := VietQR{BIN: "970415", Account: "0011001932418", Service: ServiceToAccount, Amount: 50000, MerchantName: "UBND XA HOA THANG", Purpose: "CV7K2M9Q4X1B LE PHI"}
	b.ReportAllocs()
	for b.Loop() {
		p, err := q.Payload()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := QRImage(p); err != nil {
			b.Fatal(err)
		}
	}
}
