package payment

import (
	"fmt"
	"strconv"
	"strings"
)

// This file reads and writes the EMVCo QR Code Specification for Payment
// Systems, Merchant-Presented Mode (EMV QRCPS-MPM): a payload is a string of
// data objects, each an ID of two digits, a length of two digits and a
// value of that many characters; some values are templates of nested data
// objects; the last object is the CRC (ID 63, length 04), a CRC-16/CCITT-
// FALSE over the whole payload up to and including "6304", in four
// upper-case hexadecimal digits.

// Object is one data object of an EMV QR payload: its ID and its value.
type Object struct {
	ID    string // two digits
	Value string
}

// EMV IDs the builder and the parser name.
const (
	emvPayloadFormat  = "00"
	emvInitiation     = "01"
	emvVietQR         = "38" // the NAPAS merchant account information template
	emvMCC            = "52"
	emvCurrency       = "53"
	emvAmount         = "54"
	emvCountry        = "58"
	emvMerchantName   = "59"
	emvMerchantCity   = "60"
	emvAdditionalData = "62"
	emvCRC            = "63"
)

// maxPayload bounds what the parser reads: a QR code of version 40 holds
// at most 4,296 alphanumeric characters, and no payment payload is close.
const maxPayload = 4096

// crc16 is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF,
// no reflection, no final XOR), as EMV QRCPS asks for ID 63.
func crc16(s string) uint16 {
	crc := uint16(0xFFFF)
	for i := 0; i < len(s); i++ {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^s[i]]
	}
	return crc
}

// crcTable is the CRC of every byte, a byte at a time instead of a bit.
var crcTable = func() (t [256]uint16) {
	for b := range 256 {
		crc := uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		t[b] = crc
	}
	return t
}()

// BuildEMV writes objects as a payload and appends its CRC. Values are
// written as given (templates already built by BuildEMV's tlv); an ID
// that is not two digits or a value that is empty, longer than 99
// characters or not printable ASCII is refused.
func BuildEMV(objects []Object) (string, error) {
	var b strings.Builder
	for _, o := range objects {
		if err := writeTLV(&b, o); err != nil {
			return "", err
		}
	}
	b.WriteString(emvCRC + "04")
	return b.String() + fmt.Sprintf("%04X", crc16(b.String())), nil
}

// buildTemplate writes nested objects as the value of a template, without
// a CRC.
func buildTemplate(objects []Object) (string, error) {
	var b strings.Builder
	for _, o := range objects {
		if err := writeTLV(&b, o); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func writeTLV(b *strings.Builder, o Object) error {
	if len(o.ID) != 2 || !isDigits(o.ID) {
		return fmt.Errorf("emv: ID %q is not two digits", o.ID)
	}
	if o.Value == "" || len(o.Value) > 99 {
		return fmt.Errorf("emv: object %s has %d characters (1 to 99)", o.ID, len(o.Value))
	}
	if !printableASCII(o.Value) {
		return fmt.Errorf("emv: object %s is not printable ASCII", o.ID)
	}
	b.WriteString(o.ID)
	if len(o.Value) < 10 {
		b.WriteByte('0')
	}
	b.WriteString(strconv.Itoa(len(o.Value)))
	b.WriteString(o.Value)
	return nil
}

// ParseEMV reads a payload's top-level data objects in order, the CRC
// last, and checks its frame: it begins with the payload format indicator
// "01", every length fits, IDs are unique, and it ends with a CRC that
// matches. It does not look inside templates (ParseTemplate does) nor
// judge what the objects mean (ParseVietQR does).
func ParseEMV(s string) ([]Object, error) {
	if len(s) > maxPayload {
		return nil, fmt.Errorf("emv: payload of %d bytes is too long", len(s))
	}
	objects, err := parseObjects(s)
	if err != nil {
		return nil, err
	}
	if len(objects) < 2 || objects[0].ID != emvPayloadFormat || objects[0].Value != "01" {
		return nil, fmt.Errorf("emv: the payload does not begin with the payload format indicator 01")
	}
	last := objects[len(objects)-1]
	if last.ID != emvCRC || len(last.Value) != 4 {
		return nil, fmt.Errorf("emv: the payload does not end with a CRC (ID 63, length 04)")
	}
	want := fmt.Sprintf("%04X", crc16(s[:len(s)-4]))
	if !strings.EqualFold(last.Value, want) {
		return nil, fmt.Errorf("emv: CRC %s does not match the payload (%s)", last.Value, want)
	}
	seen := map[string]bool{}
	for _, o := range objects {
		if seen[o.ID] {
			return nil, fmt.Errorf("emv: object %s appears twice", o.ID)
		}
		seen[o.ID] = true
	}
	return objects, nil
}

// ParseTemplate reads the data objects nested in a template's value.
func ParseTemplate(v string) ([]Object, error) { return parseObjects(v) }

func parseObjects(s string) ([]Object, error) {
	var out []Object
	for i := 0; i < len(s); {
		if len(s)-i < 4 {
			return nil, fmt.Errorf("emv: %d stray characters at offset %d", len(s)-i, i)
		}
		id, ln := s[i:i+2], s[i+2:i+4]
		if !isDigits(id) || !isDigits(ln) {
			return nil, fmt.Errorf("emv: no ID and length at offset %d", i)
		}
		n, _ := strconv.Atoi(ln)
		if n == 0 {
			return nil, fmt.Errorf("emv: object %s at offset %d is empty", id, i)
		}
		if i+4+n > len(s) {
			return nil, fmt.Errorf("emv: object %s at offset %d runs past the end", id, i)
		}
		v := s[i+4 : i+4+n]
		if !printableASCII(v) {
			return nil, fmt.Errorf("emv: object %s at offset %d is not printable ASCII", id, i)
		}
		out = append(out, Object{ID: id, Value: v})
		i += 4 + n
	}
	return out, nil
}

func lookup(objects []Object, id string) (string, bool) {
	for _, o := range objects {
		if o.ID == id {
			return o.Value, true
		}
	}
	return "", false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// printableASCII: VietQR payloads are read by every bank's app, and NAPAS
// asks for Latin letters without diacritics.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
