package pdf

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
)

// Object is a PDF object: Null, Bool, Int, Real, String, Name, Array, Dict,
// Ref or *Stream.
type Object any

// Null is the PDF null object. References to objects that do not exist
// resolve to Null, as ISO 32000-1 §7.3.10 requires.
type Null struct{}

// Bool is a PDF boolean.
type Bool bool

// Int is a PDF integer.
type Int int64

// Real is a PDF real number.
type Real float64

// String is a PDF string with its raw bytes (after escapes and hex are decoded).
type String string

// Name is a PDF name without its leading slash, with #xx escapes decoded.
type Name string

// Array is a PDF array.
type Array []Object

// Dict is a PDF dictionary.
type Dict map[Name]Object

// Ref is an indirect reference "Num Gen R".
type Ref struct {
	Num, Gen int
}

// Stream is a stream object. Its data is not loaded: Offset and Length say
// where it lies in the file, so content streams of any size cost nothing.
type Stream struct {
	Dict   Dict
	Offset int64 // first byte of the data, after "stream" and its end of line
	Length int64
}

func (r Ref) String() string { return fmt.Sprintf("%d %d R", r.Num, r.Gen) }

// Name returns the value of key if it is a name, or "".
func (d Dict) Name(key Name) Name {
	n, _ := d[key].(Name)
	return n
}

// Int returns the value of key if it is an integer.
func (d Dict) Int(key Name) (int64, bool) {
	i, ok := d[key].(Int)
	return int64(i), ok
}

// writeObject serialises o in a form any PDF reader parses back to the same
// value. Dictionary keys are sorted so that output is reproducible.
func writeObject(b *bytes.Buffer, o Object) {
	switch v := o.(type) {
	case nil, Null:
		b.WriteString("null")
	case Bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case Int:
		b.WriteString(strconv.FormatInt(int64(v), 10))
	case Real:
		b.WriteString(formatReal(float64(v)))
	case String:
		writeLiteral(b, string(v))
	case Name:
		writeName(b, v)
	case Ref:
		fmt.Fprintf(b, "%d %d R", v.Num, v.Gen)
	case Array:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeObject(b, e)
		}
		b.WriteByte(']')
	case Dict:
		writeDict(b, v)
	case *Stream:
		// Streams are never rewritten by this package; a stream inside a
		// dictionary is invalid PDF anyway.
		b.WriteString("null")
	default:
		b.WriteString("null")
	}
}

func writeDict(b *bytes.Buffer, d Dict) {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	b.WriteString("<<")
	for _, k := range keys {
		writeName(b, Name(k))
		b.WriteByte(' ')
		writeObject(b, d[Name(k)])
	}
	b.WriteString(">>")
}

// formatReal writes a real without an exponent, which PDF does not allow.
func formatReal(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if s == "NaN" || s == "+Inf" || s == "-Inf" {
		return "0"
	}
	return s
}

// writeName escapes every byte outside the regular printable range as #xx
// (ISO 32000-1 §7.3.5), so names with spaces or delimiters survive.
func writeName(b *bytes.Buffer, n Name) {
	b.WriteByte('/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < 0x21 || c > 0x7e || c == '#' || isDelimiter(c) {
			fmt.Fprintf(b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
}

// writeLiteral writes a literal string, escaping the bytes that would end
// or change it and any byte that is not printable ASCII (as octal), so the
// output is plain ASCII whatever the string holds.
func writeLiteral(b *bytes.Buffer, s string) {
	b.WriteByte('(')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
}
