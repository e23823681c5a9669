package payment

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"rsc.io/qr"
)

// VietQR is a bank transfer request in NAPAS's VietQR format: an EMV QR
// payload (merchant-presented) whose merchant account information (ID 38)
// names the NAPAS 247 service (GUID A000000727), the beneficiary's bank by
// its BIN and the account or card, and the service: QRIBFTTA to an account,
// QRIBFTTC to a card. Every Vietnamese bank's app reads it and fills a
// transfer with the amount and the purpose, which is where the order's
// reference travels to the statement.
type VietQR struct {
	// Static marks a code for many payments, without an amount (point of
	// initiation 11); otherwise it is for one payment (12).
	Static  bool
	BIN     string // the beneficiary bank's NAPAS BIN, six digits: 970415
	Account string // the account (QRIBFTTA) or card number (QRIBFTTC)
	Service string // ServiceToAccount or ServiceToCard
	Amount  int64  // VND; 0 lets the payer type it
	// Optional: the beneficiary's name and city as bank apps show them
	// (IDs 59 and 60, without diacritics), a bill number (62-01) and the
	// purpose of the transfer (62-08), which carries the order's reference.
	MerchantName string
	MerchantCity string
	BillNumber   string
	Purpose      string
}

// NAPAS VietQR constants.
const (
	NAPASGUID        = "A000000727"
	ServiceToAccount = "QRIBFTTA"
	ServiceToCard    = "QRIBFTTC"
	CurrencyVND      = "704" // ISO 4217
	CountryVN        = "VN"
)

// Payload writes q as an EMV QR payload with its CRC.
func (q VietQR) Payload() (string, error) {
	if err := q.validate(); err != nil {
		return "", err
	}
	beneficiary, err := buildTemplate([]Object{{"00", q.BIN}, {"01", q.Account}})
	if err != nil {
		return "", err
	}
	napas, err := buildTemplate([]Object{{"00", NAPASGUID}, {"01", beneficiary}, {"02", q.Service}})
	if err != nil {
		return "", err
	}
	initiation := "12"
	if q.Static {
		initiation = "11"
	}
	objects := []Object{{emvPayloadFormat, "01"}, {emvInitiation, initiation}, {emvVietQR, napas}, {emvCurrency, CurrencyVND}}
	if q.Amount > 0 {
		objects = append(objects, Object{emvAmount, strconv.FormatInt(q.Amount, 10)})
	}
	objects = append(objects, Object{emvCountry, CountryVN})
	if q.MerchantName != "" {
		objects = append(objects, Object{emvMerchantName, q.MerchantName})
	}
	if q.MerchantCity != "" {
		objects = append(objects, Object{emvMerchantCity, q.MerchantCity})
	}
	var extra []Object
	if q.BillNumber != "" {
		extra = append(extra, Object{"01", q.BillNumber})
	}
	if q.Purpose != "" {
		extra = append(extra, Object{"08", q.Purpose})
	}
	if len(extra) > 0 {
		v, err := buildTemplate(extra)
		if err != nil {
			return "", err
		}
		objects = append(objects, Object{emvAdditionalData, v})
	}
	return BuildEMV(objects)
}

func (q VietQR) validate() error {
	switch {
	case len(q.BIN) != 6 || !isDigits(q.BIN):
		return fmt.Errorf("vietqr: the BIN %q is not six digits", q.BIN)
	case q.Account == "" || len(q.Account) > 19 || !alnum(q.Account):
		return fmt.Errorf("vietqr: the account is not 1 to 19 letters and digits")
	case q.Service != ServiceToAccount && q.Service != ServiceToCard:
		return fmt.Errorf("vietqr: service %q is neither %s nor %s", q.Service, ServiceToAccount, ServiceToCard)
	case q.Amount < 0 || q.Amount > 9_999_999_999_999:
		return fmt.Errorf("vietqr: amount %d out of range", q.Amount)
	case q.Static && q.Amount > 0:
		return fmt.Errorf("vietqr: a static code carries no amount")
	case len(q.MerchantName) > 25, len(q.MerchantCity) > 15, len(q.BillNumber) > 25, len(q.Purpose) > 25:
		return fmt.Errorf("vietqr: a name, city, bill number or purpose is too long")
	}
	return nil
}

// ParseVietQR reads a VietQR payload: the EMV frame and CRC (ParseEMV),
// then the NAPAS template, the currency (VND), the country (VN), the
// amount and the additional data. A payload of another scheme, another
// currency or a malformed amount is refused.
func ParseVietQR(s string) (VietQR, error) {
	objects, err := ParseEMV(s)
	if err != nil {
		return VietQR{}, err
	}
	var q VietQR
	switch v, _ := lookup(objects, emvInitiation); v {
	case "11":
		q.Static = true
	case "12":
	default:
		return VietQR{}, fmt.Errorf("vietqr: point of initiation %q is neither 11 nor 12", v)
	}
	napasValue, ok := lookup(objects, emvVietQR)
	if !ok {
		return VietQR{}, fmt.Errorf("vietqr: no NAPAS merchant account information (ID 38)")
	}
	napas, err := ParseTemplate(napasValue)
	if err != nil {
		return VietQR{}, err
	}
	if g, _ := lookup(napas, "00"); g != NAPASGUID {
		return VietQR{}, fmt.Errorf("vietqr: ID 38 names %q, not NAPAS (%s)", g, NAPASGUID)
	}
	q.Service, _ = lookup(napas, "02")
	benValue, _ := lookup(napas, "01")
	ben, err := ParseTemplate(benValue)
	if err != nil {
		return VietQR{}, err
	}
	q.BIN, _ = lookup(ben, "00")
	q.Account, _ = lookup(ben, "01")
	if c, _ := lookup(objects, emvCurrency); c != CurrencyVND {
		return VietQR{}, fmt.Errorf("vietqr: currency %q is not VND (704)", c)
	}
	if c, _ := lookup(objects, emvCountry); c != CountryVN {
		return VietQR{}, fmt.Errorf("vietqr: country %q is not VN", c)
	}
	if a, ok := lookup(objects, emvAmount); ok {
		// VND has no minor unit: an amount is whole dong.
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || !isDigits(a) || n <= 0 {
			return VietQR{}, fmt.Errorf("vietqr: amount %q is not a whole number of dong", a)
		}
		q.Amount = n
	}
	q.MerchantName, _ = lookup(objects, emvMerchantName)
	q.MerchantCity, _ = lookup(objects, emvMerchantCity)
	if v, ok := lookup(objects, emvAdditionalData); ok {
		extra, err := ParseTemplate(v)
		if err != nil {
			return VietQR{}, err
		}
		q.BillNumber, _ = lookup(extra, "01")
		q.Purpose, _ = lookup(extra, "08")
	}
	if err := q.validate(); err != nil {
		return VietQR{}, err
	}
	return q, nil
}

// QRImage draws a payload as a QR code in PNG, at error correction level M
// (15 %: the level bank apps expect of VietQR, readable from a screen or
// a printout), eight pixels a module with the quiet zone.
func QRImage(payload string) ([]byte, error) {
	c, err := qr.Encode(payload, qr.M)
	if err != nil {
		return nil, fmt.Errorf("vietqr: qr: %w", err)
	}
	return c.PNG(), nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// ASCIIText writes s as bank apps and statements keep it: Vietnamese
// without diacritics (đ as d), other marks dropped, anything not printable
// ASCII left out, spaces collapsed, cut to max characters.
func ASCIIText(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ':
			r = 'd'
		case r == 'Đ':
			r = 'D'
		}
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if r < 0x21 || r > 0x7e {
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	out := b.String()
	if len(out) > max {
		out = strings.TrimRight(out[:max], " ")
	}
	return out
}
