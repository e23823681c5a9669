package pdf

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// glyphsOf is what a line must shape to: the glyphs of these characters
// (presentation forms included), left to right.
func glyphsOf(t *testing.T, f *Font, rs ...rune) []uint16 {
	t.Helper()
	var out []uint16
	for _, r := range rs {
		g := f.GlyphIndex(r)
		if g == 0 {
			t.Fatalf("the font has no glyph for %U", r)
		}
		out = append(out, g)
	}
	return out
}

func gidsOf(l shapedLine) []uint16 {
	var out []uint16
	for _, g := range l.glyphs {
		out = append(out, g.gid)
	}
	return out
}

// TestShapeArabic: contextual forms, lam-alef, marks and joining controls,
// in visual order (the first glyph is the leftmost, the end of the word).
func TestShapeArabic(t *testing.T) {
	f := dejaVu(t)
	for _, c := range []struct {
		name, in string
		want     []rune // presentation forms, left to right
	}{
		// meem initial, hah medial, meem medial, dal final.
		{"ok/muhammad", "محمد", []rune{0xFEAA, 0xFEE4, 0xFEA4, 0xFEE3}},
		// alef, lam initial, lam medial, heh final: no ligature for alef-lam.
		{"ok/allah", "الله", []rune{0xFEEA, 0xFEE0, 0xFEDF, 0xFE8D}},
		// Three words, right to left.
		{"ok/name", "محمد عبد الله", []rune{0xFEEA, 0xFEE0, 0xFEDF, 0xFE8D, ' ', 0xFEAA, 0xFE92, 0xFECB, ' ', 0xFEAA, 0xFEE4, 0xFEA4, 0xFEE3}},
		// lam-alef alone is the isolated ligature…
		{"ok/la", "لا", []rune{0xFEFB}},
		// …and after a joining letter the final one: seen, lam-alef, meem.
		{"ok/salam", "سلام", []rune{0xFEE1, 0xFEFC, 0xFEB3}},
		{"ok/lam alef hamza", "لأ لإ لآ", []rune{0xFEF5, ' ', 0xFEF9, ' ', 0xFEF7}},
		// Hamza joins nothing: the beh after it is initial.
		{"ok/hamza", "ءبا", []rune{0xFE8E, 0xFE91, 0xFE80}},
		// Tatweel joins on both sides.
		{"ok/tatweel", "ـبـ", []rune{0x0640, 0xFE92, 0x0640}},
		// ZWNJ stops joining and is not drawn; ZWJ forces it.
		{"ok/zwnj", "ب\u200cب", []rune{0xFE8F, 0xFE8F}},
		{"ok/zwj", "ب\u200d", []rune{0xFE91}},
		// Farsi and Urdu letters from Presentation Forms-A.
		{"ok/peh gaf", "پگ", []rune{0xFB93, 0xFB58}},
		{"ok/farsi yeh", "یی", []rune{0xFBFD, 0xFBFE}},
		// The colon is neutral: between Arabic words it is right to left.
		{"ok/reason", "السبب: الموافقة", []rune{0xFE94, 0xFED8, 0xFED3, 0xFE8D, 0xFEEE, 0xFEE4, 0xFEDF, 0xFE8D, ' ', ':', 0xFE90, 0xFE92, 0xFEB4, 0xFEDF, 0xFE8D}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := shapeLine(f, c.in)
			if got, want := gidsOf(l), glyphsOf(t, f, c.want...); !slices.Equal(got, want) {
				t.Errorf("glyphs %v, want %v", got, want)
			}
			if !l.rtl {
				t.Error("not right to left")
			}
		})
	}
}

// TestShapeHarakat: a mark stays with its letter, does not break joining,
// and in right-to-left text comes before the letter it sits on.
func TestShapeHarakat(t *testing.T) {
	f := dejaVu(t)
	// meem, fatha, dal: meem initial, dal final.
	l := shapeLine(f, "مَد")
	if got, want := gidsOf(l), glyphsOf(t, f, 0xFEAA, 0x064E, 0xFEE3); !slices.Equal(got, want) {
		t.Errorf("glyphs %v, want %v", got, want)
	}
	// lam, fatha, alef: still the ligature, the mark beside it.
	l = shapeLine(f, "لَا")
	if got, want := gidsOf(l), glyphsOf(t, f, 0x064E, 0xFEFB); !slices.Equal(got, want) {
		t.Errorf("glyphs %v, want %v", got, want)
	}
	if l.glyphs[1].text != "ال" || l.glyphs[0].text != "\u064E" {
		t.Errorf("texts %q %q", l.glyphs[0].text, l.glyphs[1].text)
	}
}

// TestShapeText: each glyph carries the text it stands for (the base
// letter for a presentation form; a lam-alef ligature's two letters in
// visual order, as extractors reverse them), for /ToUnicode.
func TestShapeText(t *testing.T) {
	f := dejaVu(t)
	l := shapeLine(f, "سلام")
	var texts []string
	for _, g := range l.glyphs {
		texts = append(texts, g.text)
	}
	if got := strings.Join(texts, "|"); got != "م|ال|س" {
		t.Errorf("texts %s", got)
	}
}

// TestBidi: the reduced algorithm's visual order for the cases a signature
// box meets.
func TestBidi(t *testing.T) {
	f := dejaVu(t)
	for _, c := range []struct {
		name, in string
		rtl      bool
		want     string // the visual order, as base characters
	}{
		{"ok/latin", "Nguyễn Văn Ấn", false, "Nguyễn Văn Ấn"},
		{"ok/arabic", "عبد", true, "دبع"},
		{"ok/digits stay left to right", "رقم 123", true, "123 مقر"},
		{"ok/arabic-indic digits too", "رقم ١٢٣", true, "١٢٣ مقر"},
		{"ok/latin in arabic", "رقم abc def", true, "abc def مقر"},
		{"ok/arabic in latin", "Name: عبد الله.", false, "Name: هللا دبع."},
		{"ok/time in arabic", "التاريخ: 2026-11-26T10:04:05+07:00", true, "2026-11-26T10:04:05+07:00 :خيراتلا"},
		{"ok/brackets mirror", "رقم (١)", true, "(١) مقر"},
		{"ok/trailing space", "عبد  ", true, "  دبع"},
		{"ok/neutral start takes the first strong", "«عبد»", true, "«دبع»"},
		{"ok/no strong character", "123 - 456", false, "123 - 456"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := shapeLine(f, c.in)
			// Read the glyphs back as characters, presentation forms as
			// their base letters, a mirrored bracket as the one drawn.
			var got []rune
			for _, g := range l.glyphs {
				got = append(got, []rune(g.text)...)
			}
			if l.rtl != c.rtl || string(got) != c.want {
				t.Errorf("rtl %v %q, want %v %q", l.rtl, string(got), c.rtl, c.want)
			}
		})
	}
}

// vietnameseLetters is every vowel with every tone, both cases, and đ.
func vietnameseLetters() []string {
	var out []string
	for _, base := range strings.Split("a ă â e ê i o ô ơ u ư y A Ă Â E Ê I O Ô Ơ U Ư Y", " ") {
		for _, tone := range []string{"", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"} {
			out = append(out, norm.NFC.String(base+tone))
		}
	}
	return append(out, "đ", "Đ")
}

// TestShapeVietnamese: every Vietnamese letter is one precomposed glyph of
// DejaVu Sans, whether the text comes composed or decomposed.
func TestShapeVietnamese(t *testing.T) {
	f := dejaVu(t)
	letters := vietnameseLetters()
	if len(letters) != 24*6+2 {
		t.Fatalf("%d letters", len(letters))
	}
	for _, s := range letters {
		if n := len([]rune(s)); n != 1 {
			t.Fatalf("%q is %d characters in NFC", s, n)
		}
		for _, in := range []string{s, norm.NFD.String(s)} {
			l := shapeLine(f, in)
			if len(l.glyphs) != 1 || l.glyphs[0].gid == 0 || l.glyphs[0].gid != f.GlyphIndex([]rune(s)[0]) || l.glyphs[0].text != s || l.rtl {
				t.Errorf("%q (%d characters in): %+v", s, len([]rune(in)), l.glyphs)
			}
		}
	}
	l := shapeLine(f, "Ủy ban nhân dân tỉnh Bắc Ninh")
	for _, g := range l.glyphs {
		if g.gid == 0 {
			t.Errorf("no glyph for %q", g.text)
		}
	}
}

// TestShapeFallbacks, with a font that lacks what DejaVu has: a letter
// missing precomposed is decomposed when its parts are there, Arabic
// letters without presentation forms keep their base glyph (and do not
// join), and what is missing altogether is .notdef.
func TestShapeFallbacks(t *testing.T) {
	f, err := ParseFont(testFont(testFontOpts{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want []uint16
	}{
		{"Ä", []uint16{tgAdiaeresis}},
		{"Ë", []uint16{tgB, tgDiaeresis}}, // E and U+0308: 'E' shares glyph tgB
		{"ببب", []uint16{tgBeh, tgBeh, tgBeh}},
		{"AZ", []uint16{tgA, 0}},
		{"\U0001F600", []uint16{tgEmoji}},
	} {
		if got := gidsOf(shapeLine(f, c.in)); !slices.Equal(got, c.want) {
			t.Errorf("%q: glyphs %v, want %v", c.in, got, c.want)
		}
	}
	if j := effectiveJoining(f, 0x0628); j != joinNone {
		t.Errorf("beh without forms joins as %d", j)
	}
}

func TestShapeDropsControls(t *testing.T) {
	f := dejaVu(t)
	l := shapeLine(f, "a\u202Eb\tc\x00\u200F")
	if got := fmt.Sprint(gidsOf(l)); got != fmt.Sprint(glyphsOf(t, f, 'a', 'b', 'c')) {
		t.Errorf("glyphs %s", got)
	}
}
