package pdf

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/unicode/norm"
)

// This file turns a line of logical text into glyphs in visual order for a
// font without OpenType layout: no GSUB or GPOS, only the character map.
//
//   - Vietnamese: the text is normalised to NFC, so each letter with its
//     tone mark is one precomposed glyph. A letter the font lacks is
//     decomposed (NFD) when the font has all of its parts.
//   - Arabic: letters take their contextual forms from the Presentation
//     Forms blocks (U+FB50–U+FDFF, U+FE70–U+FEFF) by their joining types;
//     lam followed by alef becomes one ligature glyph; harakat are
//     transparent to joining and stay with their letter. A form the font
//     lacks makes the letter join less (dual-joining becomes
//     right-joining, right-joining becomes non-joining), so neighbours
//     never reach for a connection that is not drawn.
//   - Direction: a reduced Unicode Bidirectional Algorithm (UAX #9) for a
//     single line without explicit embeddings or isolates (those
//     characters are dropped): the paragraph direction comes from the
//     first strong character (rules P2–P3), then the weak types (W1,
//     W3–W7), the neutrals (N1–N2), the implicit levels (I1–I2), trailing
//     white space (L1), reversal (L2) and mirrored brackets (L4). So an
//     Arabic line reads right to left with its digits and Latin words left
//     to right inside it, and a Latin line with an Arabic name shows that
//     name reversed in place. Rule W2 (European digits after an Arabic
//     letter become Arabic numbers) is left out on purpose: with it,
//     "التاريخ: 2026-11-26" would show its date parts in reverse order,
//     since '-' does not join Arabic numbers; without it a date or time
//     after an Arabic label stays whole, left to right.

// shapedGlyph is one glyph to draw and the logical text it stands for.
type shapedGlyph struct {
	gid  uint16
	text string
}

// shapedLine is a line ready to draw.
type shapedLine struct {
	glyphs []shapedGlyph // visual order, left to right
	rtl    bool          // the paragraph direction is right to left
}

// shapeLine shapes one line of text (no line breaks) for f.
func shapeLine(f *Font, s string) shapedLine {
	s = norm.NFC.String(strings.ToValidUTF8(s, "\uFFFD"))
	var rs []rune
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			continue
		}
		if f.GlyphIndex(r) == 0 && joining(r) == joinNone && !isJoinControl(r) {
			// Decomposed only if every part is in the font; else .notdef.
			d := []rune(norm.NFD.String(string(r)))
			if len(d) > 1 && allInFont(f, d) {
				rs = append(rs, d...)
				continue
			}
		}
		rs = append(rs, r)
	}
	para, levels := bidiLevels(rs)
	cs := arabicClusters(f, rs, levels)
	reorderClusters(cs)

	l := shapedLine{rtl: para == 1}
	for _, c := range cs {
		if c.level%2 == 1 {
			// Right to left, a letter's marks come first: fonts place
			// Arabic marks from the pen position rightwards, over the
			// letter drawn next.
			slices.Reverse(c.glyphs)
		}
		l.glyphs = append(l.glyphs, c.glyphs...)
	}
	return l
}

func allInFont(f *Font, rs []rune) bool {
	for _, r := range rs {
		if f.GlyphIndex(r) == 0 {
			return false
		}
	}
	return true
}

// isBidiControl: explicit embeddings, overrides, isolates and marks, which
// the reduced algorithm does not implement.
func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// isJoinControl: ZWNJ and ZWJ steer Arabic joining and are not drawn.
func isJoinControl(r rune) bool { return r == 0x200C || r == 0x200D }

// cluster is a base glyph with its marks, kept together when reordering.
type cluster struct {
	level  int8
	glyphs []shapedGlyph
}

// Joining types (Unicode ArabicShaping.txt), reduced to what shaping needs.
type joinType byte

const (
	joinNone        joinType = iota // U: never joins (and every non-Arabic character)
	joinRight                       // R: joins the letter before it only
	joinDual                        // D: joins on both sides
	joinCausing                     // C: tatweel and ZWJ
	joinTransparent                 // T: marks, skipped when finding neighbours
)

// arabicForms are the presentation forms of a letter: isolated, final,
// initial, medial; zero where the letter has none.
type arabicForms [4]rune

const (
	formIsolated = iota
	formFinal
	formInitial
	formMedial
)

// arabicLetters lists the letters shaped, with their forms in the
// Presentation Forms-B block (U+0621–U+064A) and, for common letters of
// Persian, Urdu and other languages, Presentation Forms-A.
var arabicLetters = map[rune]arabicForms{
	0x0621: {0xFE80, 0, 0, 0},
	0x0622: {0xFE81, 0xFE82, 0, 0},
	0x0623: {0xFE83, 0xFE84, 0, 0},
	0x0624: {0xFE85, 0xFE86, 0, 0},
	0x0625: {0xFE87, 0xFE88, 0, 0},
	0x0626: {0xFE89, 0xFE8A, 0xFE8B, 0xFE8C},
	0x0627: {0xFE8D, 0xFE8E, 0, 0},
	0x0628: {0xFE8F, 0xFE90, 0xFE91, 0xFE92},
	0x0629: {0xFE93, 0xFE94, 0, 0},
	0x062A: {0xFE95, 0xFE96, 0xFE97, 0xFE98},
	0x062B: {0xFE99, 0xFE9A, 0xFE9B, 0xFE9C},
	0x062C: {0xFE9D, 0xFE9E, 0xFE9F, 0xFEA0},
	0x062D: {0xFEA1, 0xFEA2, 0xFEA3, 0xFEA4},
	0x062E: {0xFEA5, 0xFEA6, 0xFEA7, 0xFEA8},
	0x062F: {0xFEA9, 0xFEAA, 0, 0},
	0x0630: {0xFEAB, 0xFEAC, 0, 0},
	0x0631: {0xFEAD, 0xFEAE, 0, 0},
	0x0632: {0xFEAF, 0xFEB0, 0, 0},
	0x0633: {0xFEB1, 0xFEB2, 0xFEB3, 0xFEB4},
	0x0634: {0xFEB5, 0xFEB6, 0xFEB7, 0xFEB8},
	0x0635: {0xFEB9, 0xFEBA, 0xFEBB, 0xFEBC},
	0x0636: {0xFEBD, 0xFEBE, 0xFEBF, 0xFEC0},
	0x0637: {0xFEC1, 0xFEC2, 0xFEC3, 0xFEC4},
	0x0638: {0xFEC5, 0xFEC6, 0xFEC7, 0xFEC8},
	0x0639: {0xFEC9, 0xFECA, 0xFECB, 0xFECC},
	0x063A: {0xFECD, 0xFECE, 0xFECF, 0xFED0},
	0x0641: {0xFED1, 0xFED2, 0xFED3, 0xFED4},
	0x0642: {0xFED5, 0xFED6, 0xFED7, 0xFED8},
	0x0643: {0xFED9, 0xFEDA, 0xFEDB, 0xFEDC},
	0x0644: {0xFEDD, 0xFEDE, 0xFEDF, 0xFEE0},
	0x0645: {0xFEE1, 0xFEE2, 0xFEE3, 0xFEE4},
	0x0646: {0xFEE5, 0xFEE6, 0xFEE7, 0xFEE8},
	0x0647: {0xFEE9, 0xFEEA, 0xFEEB, 0xFEEC},
	0x0648: {0xFEED, 0xFEEE, 0, 0},
	0x0649: {0xFEEF, 0xFEF0, 0xFBE8, 0xFBE9},
	0x064A: {0xFEF1, 0xFEF2, 0xFEF3, 0xFEF4},
	0x0671: {0xFB50, 0xFB51, 0, 0},
	0x0679: {0xFB66, 0xFB67, 0xFB68, 0xFB69},
	0x067E: {0xFB56, 0xFB57, 0xFB58, 0xFB59},
	0x0686: {0xFB7A, 0xFB7B, 0xFB7C, 0xFB7D},
	0x0688: {0xFB88, 0xFB89, 0, 0},
	0x0691: {0xFB8C, 0xFB8D, 0, 0},
	0x0698: {0xFB8A, 0xFB8B, 0, 0},
	0x06A4: {0xFB6A, 0xFB6B, 0xFB6C, 0xFB6D},
	0x06A9: {0xFB8E, 0xFB8F, 0xFB90, 0xFB91},
	0x06AF: {0xFB92, 0xFB93, 0xFB94, 0xFB95},
	0x06BA: {0xFB9E, 0xFB9F, 0, 0},
	0x06BE: {0xFBAA, 0xFBAB, 0xFBAC, 0xFBAD},
	0x06C1: {0xFBA6, 0xFBA7, 0xFBA8, 0xFBA9},
	0x06CC: {0xFBFC, 0xFBFD, 0xFBFE, 0xFBFF},
	0x06D2: {0xFBAE, 0xFBAF, 0, 0},
}

// dualJoining are the letters of arabicLetters that join on both sides
// (type D); the others are right-joining (R) but hamza (U).
var dualJoining = map[rune]bool{
	0x0626: true, 0x0628: true, 0x062A: true, 0x062B: true, 0x062C: true, 0x062D: true, 0x062E: true,
	0x0633: true, 0x0634: true, 0x0635: true, 0x0636: true, 0x0637: true, 0x0638: true, 0x0639: true, 0x063A: true,
	0x0641: true, 0x0642: true, 0x0643: true, 0x0644: true, 0x0645: true, 0x0646: true, 0x0647: true, 0x0649: true, 0x064A: true,
	0x0679: true, 0x067E: true, 0x0686: true, 0x06A4: true, 0x06A9: true, 0x06AF: true, 0x06BA: true, 0x06BE: true,
	0x06C1: true, 0x06CC: true,
}

// lamAlef maps the alef that follows lam to the ligature's isolated form;
// the final form is the next code point.
var lamAlef = map[rune]rune{0x0622: 0xFEF5, 0x0623: 0xFEF7, 0x0625: 0xFEF9, 0x0627: 0xFEFB}

// joining is the Unicode joining type of r, before the font is considered.
func joining(r rune) joinType {
	switch {
	case r == 0x0640 || r == 0x200D:
		return joinCausing
	case unicode.In(r, unicode.Mn, unicode.Me):
		return joinTransparent
	case dualJoining[r]:
		return joinDual
	case r == 0x0621:
		return joinNone
	}
	if _, ok := arabicLetters[r]; ok {
		return joinRight
	}
	return joinNone
}

// effectiveJoining is the joining type of r as f can draw it: a letter
// whose initial or medial form is missing from the font cannot connect
// forward, one whose final form is missing cannot connect at all.
func effectiveJoining(f *Font, r rune) joinType {
	t := joining(r)
	fm, ok := arabicLetters[r]
	if !ok {
		return t
	}
	has := func(form int) bool { return fm[form] != 0 && f.GlyphIndex(fm[form]) != 0 }
	if t == joinDual && !(has(formInitial) && has(formMedial)) {
		t = joinRight
	}
	if t == joinRight && !has(formFinal) {
		t = joinNone
	}
	return t
}

// arabicClusters makes the clusters of rs in logical order: Arabic letters
// in their contextual forms, lam-alef ligatures, marks with their base.
func arabicClusters(f *Font, rs []rune, levels []int8) []cluster {
	types := make([]joinType, len(rs))
	for i, r := range rs {
		types[i] = effectiveJoining(f, r)
	}
	// neighbour finds the nearest character that is not transparent.
	neighbour := func(i, step int) joinType {
		for j := i + step; j >= 0 && j < len(rs); j += step {
			if types[j] != joinTransparent {
				return types[j]
			}
		}
		return joinNone
	}
	joinsBefore := func(i int) bool {
		p := neighbour(i, -1)
		return (types[i] == joinRight || types[i] == joinDual || types[i] == joinCausing) && (p == joinDual || p == joinCausing)
	}
	joinsAfter := func(i int) bool {
		n := neighbour(i, 1)
		return (types[i] == joinDual || types[i] == joinCausing) && (n == joinRight || n == joinDual || n == joinCausing)
	}

	var cs []cluster
	glyph := func(r rune, text string) shapedGlyph { return shapedGlyph{f.GlyphIndex(r), text} }
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case isJoinControl(r):
			continue
		case types[i] == joinTransparent && len(cs) > 0:
			last := &cs[len(cs)-1]
			last.glyphs = append(last.glyphs, glyph(r, string(r)))
			continue
		}
		c := cluster{level: levels[i]}
		fm, shaped := arabicLetters[r]
		if r == 0x0644 && types[i] != joinNone {
			// Lam, then perhaps marks, then alef: one ligature glyph,
			// the marks after it.
			k := i + 1
			for k < len(rs) && types[k] == joinTransparent {
				k++
			}
			if k < len(rs) {
				if lig, ok := lamAlef[rs[k]]; ok {
					if joinsBefore(i) {
						lig++
					}
					if f.GlyphIndex(lig) != 0 {
						// Its text in visual order, alef then lam, as its
						// glyph sits among the others: extractors (poppler,
						// pdf.js, MuPDF) reverse a right-to-left word letter
						// by letter, a ligature's letters too, and read lam
						// then alef.
						c.glyphs = append(c.glyphs, glyph(lig, string([]rune{rs[k], r})))
						for _, m := range rs[i+1 : k] {
							c.glyphs = append(c.glyphs, glyph(m, string(m)))
						}
						cs = append(cs, c)
						i = k
						continue
					}
				}
			}
		}
		if shaped {
			form := formIsolated
			before, after := joinsBefore(i), joinsAfter(i)
			switch {
			case before && after:
				form = formMedial
			case before:
				form = formFinal
			case after:
				form = formInitial
			}
			if p := fm[form]; p != 0 && f.GlyphIndex(p) != 0 {
				c.glyphs = append(c.glyphs, glyph(p, string(r)))
				cs = append(cs, c)
				continue
			}
		}
		if m, ok := mirrors[r]; ok && levels[i]%2 == 1 && f.GlyphIndex(m) != 0 {
			// Rule L4: a bracket in right-to-left text is drawn mirrored.
			c.glyphs = append(c.glyphs, glyph(m, string(m)))
		} else {
			c.glyphs = append(c.glyphs, glyph(r, string(r)))
		}
		cs = append(cs, c)
	}
	return cs
}

// mirrors are the paired characters that swap in right-to-left text (L4).
var mirrors = map[rune]rune{
	'(': ')', ')': '(', '[': ']', ']': '[', '{': '}', '}': '{', '<': '>', '>': '<',
	'«': '»', '»': '«', '‹': '›', '›': '‹',
}

// reorderClusters puts the clusters in visual order (rule L2): from the
// highest level down to the lowest odd level, every run at that level or
// higher is reversed.
func reorderClusters(cs []cluster) {
	var hi, lowOdd int8 = 0, 127
	for _, c := range cs {
		hi = max(hi, c.level)
		if c.level%2 == 1 {
			lowOdd = min(lowOdd, c.level)
		}
	}
	for lv := hi; lv >= lowOdd && lv > 0; lv-- {
		for i := 0; i < len(cs); {
			if cs[i].level < lv {
				i++
				continue
			}
			j := i
			for j < len(cs) && cs[j].level >= lv {
				j++
			}
			for a, b := i, j-1; a < b; a, b = a+1, b-1 {
				cs[a], cs[b] = cs[b], cs[a]
			}
			i = j
		}
	}
}

// bidiLevels resolves the embedding level of each character of one line:
// the paragraph level (0 left to right, 1 right to left) from its first
// strong character, then the reduced rules described at the top of this
// file.
func bidiLevels(rs []rune) (para int8, levels []int8) {
	n := len(rs)
	t := make([]bidi.Class, n)
	for i, r := range rs {
		p, _ := bidi.LookupRune(r)
		t[i] = p.Class()
	}
	for _, c := range t {
		if c == bidi.L {
			break
		}
		if c == bidi.R || c == bidi.AL {
			para = 1
			break
		}
	}
	sos := bidi.L
	if para == 1 {
		sos = bidi.R
	}
	orig := append([]bidi.Class(nil), t...)

	// W1: a mark takes the type of what it follows.
	for i := range t {
		if t[i] == bidi.NSM {
			if i == 0 {
				t[i] = sos
			} else {
				t[i] = t[i-1]
			}
		}
	}
	// W2 is left out (see the top of this file). W3: Arabic letters are
	// simply right to left.
	for i := range t {
		if t[i] == bidi.AL {
			t[i] = bidi.R
		}
	}
	// W4: one separator between two numbers of the same kind joins them.
	for i := 1; i+1 < n; i++ {
		switch {
		case t[i] == bidi.ES && t[i-1] == bidi.EN && t[i+1] == bidi.EN:
			t[i] = bidi.EN
		case t[i] == bidi.CS && t[i-1] == bidi.EN && t[i+1] == bidi.EN:
			t[i] = bidi.EN
		case t[i] == bidi.CS && t[i-1] == bidi.AN && t[i+1] == bidi.AN:
			t[i] = bidi.AN
		}
	}
	// W5: terminators (%, currency signs) next to European digits are digits.
	for i := 0; i < n; {
		if t[i] != bidi.ET {
			i++
			continue
		}
		j := i
		for j < n && t[j] == bidi.ET {
			j++
		}
		if (i > 0 && t[i-1] == bidi.EN) || (j < n && t[j] == bidi.EN) {
			for k := i; k < j; k++ {
				t[k] = bidi.EN
			}
		}
		i = j
	}
	// W6: other separators and terminators are neutral.
	for i := range t {
		switch t[i] {
		case bidi.ES, bidi.ET, bidi.CS:
			t[i] = bidi.ON
		}
	}
	// W7: European digits in left-to-right context are left to right.
	last := sos
	for i := range t {
		switch t[i] {
		case bidi.L, bidi.R:
			last = t[i]
		case bidi.EN:
			if last == bidi.L {
				t[i] = bidi.L
			}
		}
	}
	// N1, N2: neutrals between two characters of one direction take it
	// (numbers count as right to left); others take the paragraph's.
	strong := func(c bidi.Class) (bidi.Class, bool) {
		switch c {
		case bidi.L:
			return bidi.L, true
		case bidi.R, bidi.EN, bidi.AN:
			return bidi.R, true
		}
		return 0, false
	}
	for i := 0; i < n; {
		if _, ok := strong(t[i]); ok {
			i++
			continue
		}
		j := i
		for j < n {
			if _, ok := strong(t[j]); ok {
				break
			}
			j++
		}
		before, after := sos, sos
		if i > 0 {
			before, _ = strong(t[i-1])
		}
		if j < n {
			after, _ = strong(t[j])
		}
		dir := sos
		if before == after {
			dir = before
		}
		for k := i; k < j; k++ {
			t[k] = dir
		}
		i = j
	}
	// I1, I2: the implicit levels.
	levels = make([]int8, n)
	for i := range t {
		switch {
		case para == 0 && t[i] == bidi.R:
			levels[i] = 1
		case para == 0 && (t[i] == bidi.EN || t[i] == bidi.AN):
			levels[i] = 2
		case para == 1 && (t[i] == bidi.L || t[i] == bidi.EN || t[i] == bidi.AN):
			levels[i] = 2
		default:
			levels[i] = para
		}
	}
	// L1: white space at the end of the line is at the paragraph level.
	for i := n - 1; i >= 0 && (orig[i] == bidi.WS || orig[i] == bidi.S || orig[i] == bidi.BN); i-- {
		levels[i] = para
	}
	return para, levels
}
