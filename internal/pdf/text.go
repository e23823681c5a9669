package pdf

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// textString encodes a text string (ISO 32000-1 §7.9.2.2): plain printable
// ASCII stays as is (it means the same in PDFDocEncoding); anything else
// becomes UTF-16BE with a byte-order mark, which every reader understands.
// Vietnamese names always take the second path.
func textString(s string) String {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return String(s)
	}
	var b strings.Builder
	b.WriteString("\xfe\xff")
	for _, u := range utf16.Encode([]rune(strings.ToValidUTF8(s, "\uFFFD"))) {
		b.WriteByte(byte(u >> 8))
		b.WriteByte(byte(u))
	}
	return String(b.String())
}

// pdfDocHigh maps PDFDocEncoding bytes 0x80..0xA0 where they differ from Latin-1.
var pdfDocHigh = [...]rune{
	0x2022, 0x2020, 0x2021, 0x2026, 0x2014, 0x2013, 0x0192, 0x2044,
	0x2039, 0x203A, 0x2212, 0x2030, 0x201E, 0x201C, 0x201D, 0x2018,
	0x2019, 0x201A, 0x2122, 0xFB01, 0xFB02, 0x0141, 0x0152, 0x0160,
	0x0178, 0x017D, 0x0131, 0x0142, 0x0153, 0x0161, 0x017E, 0xFFFD,
	0x20AC,
}

// DecodeText decodes a text string: UTF-16BE with BOM, UTF-8 with BOM
// (PDF 2.0), or PDFDocEncoding.
func DecodeText(s String) string {
	b := []byte(s)
	switch {
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	case len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		return strings.ToValidUTF8(string(b[3:]), "\uFFFD")
	}
	r := make([]rune, 0, len(b))
	for _, c := range b {
		switch {
		case c >= 0x80 && c <= 0xa0:
			r = append(r, pdfDocHigh[c-0x80])
		default:
			r = append(r, rune(c))
		}
	}
	return string(r)
}

// formatDate writes a PDF date, D:YYYYMMDDHHmmSS+HH'mm' (§7.9.4).
func formatDate(t time.Time) string {
	_, off := t.Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("D:%s%c%02d'%02d'", t.Format("20060102150405"), sign, off/3600, off%3600/60)
}

// ParseDate reads a PDF date; missing trailing parts default as §7.9.4 says.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimPrefix(s, "D:")
	if !utf8.ValidString(s) || len(s) < 4 {
		return time.Time{}, fmt.Errorf("bad date %q", s)
	}
	digits := func(i, n, def int) int {
		if len(s) < i+n {
			return def
		}
		v := 0
		for _, c := range s[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := digits(0, 4, 0), digits(4, 2, 1), digits(6, 2, 1), digits(8, 2, 0), digits(10, 2, 0), digits(12, 2, 0)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 {
		return time.Time{}, fmt.Errorf("bad date %q", s)
	}
	loc := time.UTC
	if len(s) > 14 && (s[14] == '+' || s[14] == '-') {
		oh, om := digits(15, 2, 0), 0
		if len(s) >= 20 && s[17] == '\'' {
			om = digits(18, 2, 0)
		}
		if oh < 0 || om < 0 {
			return time.Time{}, fmt.Errorf("bad date %q", s)
		}
		off := oh*3600 + om*60
		if s[14] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	return time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc), nil
}
