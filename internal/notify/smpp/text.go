package smpp

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

// Coding is a data_coding value (SMPP 3.4 §5.2.19).
type Coding byte

// The codings this client sends.
const (
	// CodingDefault is the SMSC's default alphabet, which for the carriers
	// is GSM 03.38: one septet per octet (SMPP does not pack them), an
	// escape (0x1B) before the characters of the extension table.
	CodingDefault Coding = 0
	// CodingLatin1 is ISO 8859-1, one octet per character.
	CodingLatin1 Coding = 3
	// CodingUCS2 is UCS-2 as UTF-16 big endian, two octets per unit.
	CodingUCS2 Coding = 8
)

func (c Coding) String() string {
	switch c {
	case CodingDefault:
		return "GSM 03.38"
	case CodingLatin1:
		return "Latin-1"
	case CodingUCS2:
		return "UCS-2"
	}
	return fmt.Sprintf("data_coding %d", byte(c))
}

// Lengths of one message and of a part of a concatenated one, in the
// coding's units (septets, octets, UTF-16 units). A part gives six octets
// to its header: 7 septets, 6 octets, 3 units.
const (
	gsmSingle, gsmPart       = 160, 153
	latin1Single, latin1Part = 140, 134
	ucs2Single, ucs2Part     = 70, 67
)

// MaxParts bounds a concatenated message (an 8-bit count).
const MaxParts = 255

// ErrTooLong is a text that needs more than MaxParts parts.
var ErrTooLong = errors.New("smpp: text too long for one concatenated message")

// gsmBasic maps the GSM 03.38 basic table; index = septet.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension maps the characters of the extension table to the septet
// after the escape.
var gsmExtension = map[rune]byte{'\f': 0x0A, '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2F, '[': 0x3C, '~': 0x3D, ']': 0x3E, '|': 0x40, '€': 0x65}

const gsmEscape = 0x1B

var gsmToSeptet, septetToGSM = gsmTables()

func gsmTables() (map[rune]byte, [128]rune) {
	to := make(map[rune]byte, 128)
	var from [128]rune
	i := 0
	for _, r := range gsmBasic {
		from[i] = r
		if i != gsmEscape {
			to[r] = byte(i)
		}
		i++
	}
	if i != 128 {
		panic("smpp: the GSM 03.38 table has " + fmt.Sprint(i) + " characters")
	}
	return to, from
}

// gsmSeptets is how many septets r takes in GSM 03.38, or 0 if it has none.
func gsmSeptets(r rune) int {
	if _, ok := gsmToSeptet[r]; ok {
		return 1
	}
	if _, ok := gsmExtension[r]; ok {
		return 2
	}
	return 0
}

// Choose picks the coding of text (already NFC): the ascii coding (the
// default alphabet or Latin-1) when every character has a place in it,
// UCS-2 otherwise.
func Choose(text string, ascii Coding) Coding {
	for _, r := range text {
		switch ascii {
		case CodingLatin1:
			if r > 0xFF {
				return CodingUCS2
			}
		default:
			if gsmSeptets(r) == 0 {
				return CodingUCS2
			}
		}
	}
	if ascii == CodingLatin1 {
		return CodingLatin1
	}
	return CodingDefault
}

// Split turns text into the short_message payloads of one message: a
// single payload without a header when it fits, else parts each starting
// with a concatenation header (IEI 0x00, reference ref, the count, the
// part's number from 1). Text is first put in Unicode NFC, so that a
// Vietnamese letter with its marks is one character; invalid UTF-8 becomes
// U+FFFD. ascii says which coding plain texts use: CodingDefault (GSM
// 03.38) or CodingLatin1.
func Split(text string, ascii Coding, ref byte) (Coding, [][]byte, error) {
	if ascii != CodingDefault && ascii != CodingLatin1 {
		return 0, nil, fmt.Errorf("smpp: %s is no coding for plain texts", ascii)
	}
	text = norm.NFC.String(strings.ToValidUTF8(text, "\uFFFD"))
	coding := Choose(text, ascii)
	// The text in the coding's units, with where each character starts,
	// so that a split never falls inside one (a GSM escape, a surrogate
	// pair).
	units := make([]byte, 0, 2*len(text))
	starts := make([]int, 0, len(text))
	for _, r := range text {
		starts = append(starts, len(units))
		switch coding {
		case CodingDefault:
			if s, ok := gsmToSeptet[r]; ok {
				units = append(units, s)
			} else {
				units = append(units, gsmEscape, gsmExtension[r])
			}
		case CodingLatin1:
			units = append(units, byte(r))
		default:
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				units = append(units, byte(r1>>8), byte(r1), byte(r2>>8), byte(r2))
			} else {
				units = append(units, byte(r>>8), byte(r))
			}
		}
	}
	single, part, unit := gsmSingle, gsmPart, 1
	switch coding {
	case CodingLatin1:
		single, part = latin1Single, latin1Part
	case CodingUCS2:
		single, part, unit = ucs2Single, ucs2Part, 2
	}
	if len(units) <= single*unit {
		return coding, [][]byte{units}, nil
	}
	var bodies [][]byte
	from := 0
	for i, at := range starts {
		end := len(units)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		if end-from > part*unit {
			bodies = append(bodies, units[from:at])
			from = at
		}
	}
	bodies = append(bodies, units[from:])
	if len(bodies) > MaxParts {
		return 0, nil, ErrTooLong
	}
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		out[i] = append([]byte{0x05, 0x00, 0x03, ref, byte(len(bodies)), byte(i + 1)}, b...)
	}
	return coding, out, nil
}

// Part is a short_message read back: its text and, for a part of a
// concatenated message, the reference, count and number from its header.
type Part struct {
	Text       string
	Ref        byte
	Count, Seq int // zero for a message that is not a part
}

// DecodeShortMessage reads a short_message in coding. With udhi (esm_class
// bit 0x40) it starts with a user data header, whose concatenation element
// (8-bit reference, IEI 0x00) is returned.
func DecodeShortMessage(coding Coding, udhi bool, sm []byte) (Part, error) {
	var p Part
	if udhi {
		if len(sm) < 1 || int(sm[0])+1 > len(sm) {
			return Part{}, errors.New("smpp: user data header longer than the message")
		}
		h := sm[1 : 1+int(sm[0])]
		sm = sm[1+int(sm[0]):]
		for len(h) >= 2 {
			iei, n := h[0], int(h[1])
			if 2+n > len(h) {
				return Part{}, errors.New("smpp: truncated user data header element")
			}
			if iei == 0x00 && n == 3 {
				p.Ref, p.Count, p.Seq = h[2], int(h[3]), int(h[4])
			}
			h = h[2+n:]
		}
		if len(h) != 0 {
			return Part{}, errors.New("smpp: truncated user data header")
		}
	}
	switch coding {
	case CodingDefault:
		var b strings.Builder
		for i := 0; i < len(sm); i++ {
			c := sm[i]
			if c > 0x7F {
				return Part{}, fmt.Errorf("smpp: octet %#x is no septet", c)
			}
			if c != gsmEscape {
				b.WriteRune(septetToGSM[c])
				continue
			}
			if i+1 == len(sm) {
				return Part{}, errors.New("smpp: escape at the end of the message")
			}
			i++
			found := false
			for r, s := range gsmExtension {
				if s == sm[i] {
					b.WriteRune(r)
					found = true
					break
				}
			}
			if !found {
				b.WriteRune(' ') // GSM 03.38: an unknown extension shows as a space
			}
		}
		p.Text = b.String()
	case CodingLatin1:
		rs := make([]rune, len(sm))
		for i, c := range sm {
			rs[i] = rune(c)
		}
		p.Text = string(rs)
	case CodingUCS2:
		if len(sm)%2 != 0 {
			return Part{}, errors.New("smpp: UCS-2 message of an odd length")
		}
		us := make([]uint16, len(sm)/2)
		for i := range us {
			us[i] = uint16(sm[2*i])<<8 | uint16(sm[2*i+1])
		}
		p.Text = string(utf16.Decode(us))
	default:
		return Part{}, fmt.Errorf("smpp: %s not understood", coding)
	}
	return p, nil
}
