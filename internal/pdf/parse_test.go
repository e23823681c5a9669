package pdf

import (
	"bytes"
	"reflect"
	"testing"

	"civitas/internal/pdf/pdftest"
)

func TestParseObject(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Object
	}{
		{"ok/literal_escapes", `(a\(b\)c\\d\n\101\0609(x)\
y)`, String("a(b)c\\d\nA09(x)y")},
		{"ok/literal_eol_normalised", "(a\r\nb\rc)", String("a\nb\nc")},
		{"ok/hex_odd", "<48 65 6C6C 6F7>", String("Hello\x70")},
		{"ok/name_escape", "/A#20B#23", Name("A B#")},
		{"ok/ref_in_array", "[1 0 R 2 3 4.5 -.5 true null]", Array{Ref{1, 0}, Int(2), Int(3), Real(4.5), Real(-0.5), Bool(true), Null{}}},
		{"ok/dict_null_is_absent", "<< /A 1 /B null /C << /D [/E] >> >>", Dict{"A": Int(1), "C": Dict{"D": Array{Name("E")}}}},
		{"ok/comment", "[1 % comment ]\n 2]", Array{Int(1), Int(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := newBytesLexer([]byte(tc.in), 0).object(0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
			// What we write parses back to the same value.
			var b bytes.Buffer
			writeObject(&b, got)
			back, err := newBytesLexer(b.Bytes(), 0).object(0)
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("round trip %q: %#v, %v", b.String(), back, err)
			}
		})
	}
	for _, in := range []string{"(unterminated", "<4G>", "<< /A >>", "<< 1 2 >>", "]", "/A#G", "1e5x", string(bytes.Repeat([]byte("["), 100))} {
		if o, err := newBytesLexer([]byte(in), 0).object(0); err == nil {
			t.Errorf("fail/%q parsed as %#v", in, o)
		}
	}
}

func TestTextString(t *testing.T) {
	if got := textString("Plain (ASCII)"); got != "Plain (ASCII)" {
		t.Errorf("ASCII changed: %q", got)
	}
	v := textString("Ánh")
	if string(v) != "\xfe\xff\x00\xc1\x00n\x00h" {
		t.Errorf("UTF-16BE: % x", string(v))
	}
	for _, s := range []string{"Nguyễn Thị Ánh", "Plain", "emoji 🙂"} {
		if got := DecodeText(textString(s)); got != s {
			t.Errorf("%q decoded as %q", s, got)
		}
	}
	if got := DecodeText(String("\x80 \xa0 \xe9")); got != "• € é" {
		t.Errorf("PDFDocEncoding: %q", got)
	}
}

func TestUnpredictPNG(t *testing.T) {
	// Two rows of 3 columns: "Up" filter adds the row above.
	in := []byte{2, 1, 2, 3, 2, 1, 1, 1}
	got, err := unpredict(Dict{"Predictor": Int(12), "Columns": Int(3)}, in)
	if err != nil || !bytes.Equal(got, []byte{1, 2, 3, 2, 3, 4}) {
		t.Fatalf("%v %v", got, err)
	}
}

// MuPDF writes the free-list head as generation 65536 after a re-save; a
// free entry's generation finds no object, so it is read. An object in use
// past the largest generation is still refused.
func TestTableGenerations(t *testing.T) {
	base := pdftest.Tiny()
	for _, tc := range []struct {
		name, from, to string
		ok             bool
	}{
		{"ok/as written", "", "", true},
		{"ok/mupdf free head 65536", "0000000000 65535 f", "0000000000 65536 f", true},
		{"fail/free generation absurd", "0000000000 65535 f", "0000000000 9999999 f", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Replace(base, []byte(tc.from), []byte(tc.to), 1)
			_, err := Open(bytes.NewReader(b), int64(len(b)))
			if (err == nil) != tc.ok {
				t.Fatalf("Open: %v", err)
			}
		})
	}
	// An entry in use with generation 65536.
	i := bytes.Index(base, []byte(" 00000 n"))
	b := append(append(append([]byte{}, base[:i]...), []byte(" 65536 n")...), base[i+8:]...)
	if _, err := Open(bytes.NewReader(b), int64(len(b))); err == nil {
		t.Fatal("an object in use with generation 65536 opened")
	}
}
