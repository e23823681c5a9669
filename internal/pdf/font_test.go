package pdf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pdf/pdftest"
)

const dejaVuPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// dejaVu is DejaVu Sans from the system (Debian: fonts-dejavu-core), or a
// skipped test.
func dejaVu(t testing.TB) *Font {
	t.Helper()
	b, err := os.ReadFile(dejaVuPath)
	if err != nil {
		t.Skip("DejaVu Sans not installed (fonts-dejavu-core)")
	}
	f, err := ParseFont(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The glyphs of testFont.
const (
	tgNotdef = iota
	tgSpace
	tgA          // 'A'
	tgB          // 'B' and 'E'
	tgAdiaeresis // 'Ä': composite of tgA and tgDiaeresis
	tgDiaeresis  // U+0308
	tgBeh        // U+0628, with no presentation forms
	tgEmoji      // U+1F600, in the format 12 subtable only
	tgUnused
	testGlyphs
)

// simpleGlyph is a triangle: one contour of three on-curve points.
func simpleGlyph(x0 int16) []byte {
	var b bytes.Buffer
	for _, v := range []int16{1, x0, 0, x0 + 500, 700, 2} { // contours, bbox, endPts[0]=2
		binary.Write(&b, binary.BigEndian, v)
	}
	binary.Write(&b, binary.BigEndian, uint16(0)) // no instructions
	b.Write([]byte{1, 1, 1})                      // on curve, x and y as words
	for _, v := range []int16{x0, 250, 250, 0, 700, -700} {
		binary.Write(&b, binary.BigEndian, v)
	}
	return b.Bytes()
}

// compositeGlyph is tgA with tgDiaeresis above it.
func compositeGlyph() []byte {
	var b bytes.Buffer
	for _, v := range []int16{-1, 0, 0, 600, 900} {
		binary.Write(&b, binary.BigEndian, v)
	}
	for _, v := range []uint16{0x0001 | 0x0002 | 0x0020, tgA, 0, 0} { // words, xy values, more
		binary.Write(&b, binary.BigEndian, v)
	}
	for _, v := range []uint16{0x0001 | 0x0002 | 0x0008, tgDiaeresis, 100, 200, 0x4000} { // with a scale
		binary.Write(&b, binary.BigEndian, v)
	}
	return b.Bytes()
}

type testFontOpts struct {
	format4Only bool
	longLoca    bool
}

// testFont builds a small TrueType font by hand: every table ParseFont
// reads, a composite glyph, and a cmap with a format 4 subtable (with
// both idDelta and idRangeOffset segments) and a format 12 one.
func testFont(o testFontOpts) []byte {
	glyphs := [testGlyphs][]byte{
		tgNotdef: simpleGlyph(0), tgA: simpleGlyph(10), tgB: simpleGlyph(20),
		tgAdiaeresis: compositeGlyph(), tgDiaeresis: simpleGlyph(30), tgBeh: simpleGlyph(40),
		tgEmoji: simpleGlyph(50), tgUnused: simpleGlyph(60),
	}
	var glyf bytes.Buffer
	var loca bytes.Buffer
	for _, g := range glyphs {
		if o.longLoca {
			binary.Write(&loca, binary.BigEndian, uint32(glyf.Len()))
		} else {
			binary.Write(&loca, binary.BigEndian, uint16(glyf.Len()/2))
		}
		glyf.Write(g)
		if glyf.Len()%2 == 1 {
			glyf.WriteByte(0)
		}
	}
	if o.longLoca {
		binary.Write(&loca, binary.BigEndian, uint32(glyf.Len()))
	} else {
		binary.Write(&loca, binary.BigEndian, uint16(glyf.Len()/2))
	}

	head := make([]byte, 54)
	binary.BigEndian.PutUint32(head, 0x00010000)
	binary.BigEndian.PutUint32(head[12:], 0x5F0F3CF5)
	binary.BigEndian.PutUint16(head[18:], 1000)
	for i, v := range []int16{-50, -200, 1100, 900} {
		binary.BigEndian.PutUint16(head[36+2*i:], uint16(v))
	}
	if o.longLoca {
		binary.BigEndian.PutUint16(head[50:], 1)
	}
	hhea := make([]byte, 36)
	binary.BigEndian.PutUint32(hhea, 0x00010000)
	binary.BigEndian.PutUint16(hhea[4:], 800)
	binary.BigEndian.PutUint16(hhea[6:], uint16(0xffff-200+1)) // -200
	const hmetrics = testGlyphs - 2                            // the last two share the last advance
	binary.BigEndian.PutUint16(hhea[34:], hmetrics)
	maxp := []byte{0, 0, 0x50, 0, 0, testGlyphs}
	var hmtx bytes.Buffer
	for g := 0; g < testGlyphs; g++ {
		if g < hmetrics {
			binary.Write(&hmtx, binary.BigEndian, uint16(100*g+100))
		}
		binary.Write(&hmtx, binary.BigEndian, int16(g))
	}
	tables := map[string][]byte{
		"head": head, "hhea": hhea, "maxp": maxp, "hmtx": hmtx.Bytes(), "loca": loca.Bytes(), "glyf": glyf.Bytes(),
		"cmap": testCmap(o.format4Only), "name": testName("Test-Sans"),
		"cvt ": {0, 1, 0, 2}, "prep": {0xb0, 1}, "post": make([]byte, 32),
	}
	return writeSFNT(tables)
}

func testCmap(format4Only bool) []byte {
	// Format 4: 'A'-'B' through glyphIdArray, 'E' by delta, Ä and U+0308
	// by delta, beh by delta, and the closing 0xFFFF segment.
	type seg struct{ start, end, delta, rangeOff uint16 }
	delta := func(g, c int) uint16 { return uint16(g - c) } // modulo 65536, as the format wants
	segs := []seg{{'A', 'B', 0, 1}, {'E', 'E', delta(tgB, 'E'), 0}, {0xC4, 0xC4, delta(tgAdiaeresis, 0xC4), 0}, {0x308, 0x308, delta(tgDiaeresis, 0x308), 0}, {0x628, 0x628, delta(tgBeh, 0x628), 0}, {0xFFFF, 0xFFFF, 1, 0}}
	n := len(segs)
	var f4 bytes.Buffer
	w := func(v ...uint16) {
		for _, x := range v {
			binary.Write(&f4, binary.BigEndian, x)
		}
	}
	w(4, 0, 0, uint16(2*n), 0, 0, 0)
	for _, s := range segs {
		w(s.end)
	}
	w(0)
	for _, s := range segs {
		w(s.start)
	}
	for _, s := range segs {
		w(s.delta)
	}
	for i, s := range segs {
		if s.rangeOff != 0 {
			w(uint16(2 * (n - i))) // from this entry to glyphIdArray[0]
		} else {
			w(0)
		}
	}
	w(tgA, tgB)
	binary.BigEndian.PutUint16(f4.Bytes()[2:], uint16(f4.Len()))

	var f12 bytes.Buffer
	groups := [][3]uint32{{' ', ' ', tgSpace}, {'A', 'A', tgA}, {'B', 'B', tgB}, {'E', 'E', tgB}, {0xC4, 0xC4, tgAdiaeresis}, {0x308, 0x308, tgDiaeresis}, {0x628, 0x628, tgBeh}, {0x1F600, 0x1F600, tgEmoji}, {0x1F601, 0x1F700, 9999}}
	binary.Write(&f12, binary.BigEndian, []uint16{12, 0})
	binary.Write(&f12, binary.BigEndian, []uint32{uint32(16 + 12*len(groups)), 0, uint32(len(groups))})
	for _, g := range groups {
		binary.Write(&f12, binary.BigEndian, g[:])
	}

	var b bytes.Buffer
	subs := [][]byte{f4.Bytes()}
	ids := [][2]uint16{{3, 1}}
	if !format4Only {
		subs = append(subs, f12.Bytes())
		ids = append(ids, [2]uint16{3, 10})
	}
	binary.Write(&b, binary.BigEndian, []uint16{0, uint16(len(subs))})
	off := 4 + 8*len(subs)
	for i, s := range subs {
		binary.Write(&b, binary.BigEndian, ids[i][:])
		binary.Write(&b, binary.BigEndian, uint32(off))
		off += len(s)
	}
	for _, s := range subs {
		b.Write(s)
	}
	return b.Bytes()
}

func testName(ps string) []byte {
	var s bytes.Buffer
	for _, c := range ps {
		binary.Write(&s, binary.BigEndian, uint16(c))
	}
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint16{0, 1, 6 + 12, 3, 1, 0x409, 6, uint16(s.Len()), 0})
	b.Write(s.Bytes())
	return b.Bytes()
}

func wantFontErr(t *testing.T, err error, key string) {
	t.Helper()
	var e *kernel.Error
	if !errors.As(err, &e) || e.Key != key {
		t.Fatalf("error %v, want %s", err, key)
	}
}

func TestParseFont(t *testing.T) {
	for _, o := range []testFontOpts{{}, {format4Only: true}, {longLoca: true}} {
		f, err := ParseFont(testFont(o))
		if err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if f.Name() != "Test-Sans" || f.unitsPerEm != 1000 || f.ascent != 800 || f.descent != -200 || f.numGlyphs != testGlyphs || f.bbox != [4]int{-50, -200, 1100, 900} {
			t.Errorf("%+v: %q %d %d %d %d %v", o, f.Name(), f.unitsPerEm, f.ascent, f.descent, f.numGlyphs, f.bbox)
		}
		want := map[rune]uint16{'A': tgA, 'B': tgB, 'E': tgB, 'Ä': tgAdiaeresis, 0x308: tgDiaeresis, 0x628: tgBeh, 'C': 0, 'z': 0, -1: 0, 0x10FFFF: 0}
		if o.format4Only {
			want[0x1F600] = 0 // format 4 holds the BMP only
		} else {
			want[0x1F600] = tgEmoji
			want[0x1F650] = 0 // mapped to glyph 9999, which does not exist
		}
		for r, g := range want {
			if got := f.GlyphIndex(r); got != g {
				t.Errorf("%+v: GlyphIndex(%U) = %d, want %d", o, r, got, g)
			}
		}
		// Advances: the last glyphs repeat the last long metric.
		if f.advance(tgA) != 300 || f.advance(tgUnused) != f.advance(testGlyphs-3) || f.width1000(tgB) != 400 {
			t.Errorf("advances %d %d %v", f.advance(tgA), f.advance(tgUnused), f.width1000(tgB))
		}
	}
}

func TestParseFontRefuses(t *testing.T) {
	good := testFont(testFontOpts{})
	patch := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	dir := func(b []byte, tag string) int { // the directory record of a table
		for i := 0; i < int(be16(b[4:])); i++ {
			if string(b[12+16*i:][:4]) == tag {
				return 12 + 16*i
			}
		}
		panic(tag)
	}
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"fail/empty", nil},
		{"fail/cff", append([]byte("OTTO"), good[4:]...)},
		{"fail/collection", append([]byte("ttcf"), good[4:]...)},
		{"fail/not a font", []byte("%PDF-1.7 this is not a font at all")},
		{"fail/truncated", good[:len(good)/2]},
		{"fail/directory beyond data", patch(func(b []byte) []byte { binary.BigEndian.PutUint16(b[4:], 4000); return b })},
		{"fail/table beyond data", patch(func(b []byte) []byte { binary.BigEndian.PutUint32(b[dir(b, "glyf")+12:], 1<<30); return b })},
		{"fail/no cmap", patch(func(b []byte) []byte { copy(b[dir(b, "cmap"):], "xxxx"); return b })},
		{"fail/no glyf", patch(func(b []byte) []byte { copy(b[dir(b, "glyf"):], "xxxx"); return b })},
		{"fail/zero units per em", patch(func(b []byte) []byte { binary.BigEndian.PutUint16(b[int(be32(b[dir(b, "head")+8:]))+18:], 0); return b })},
		{"fail/loca beyond glyf", patch(func(b []byte) []byte {
			at := int(be32(b[dir(b, "loca")+8:]))
			binary.BigEndian.PutUint16(b[at+2*3:], 0xfff0)
			return b
		})},
		{"fail/more metrics than glyphs", patch(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[int(be32(b[dir(b, "hhea")+8:]))+34:], 500)
			return b
		})},
		{"fail/cmap records beyond table", patch(func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[int(be32(b[dir(b, "cmap")+8:]))+2:], 5000)
			return b
		})},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFont(c.b)
			wantFontErr(t, err, "pdf.error.bad_font")
		})
	}
}

// TestSubset: the subset keeps glyph IDs, the glyphs used, glyph 0 and the
// components of composites, drops the other glyphs' data and the tables a
// PDF does not need, and has correct checksums.
func TestSubset(t *testing.T) {
	for _, o := range []testFontOpts{{}, {longLoca: true}} {
		f, _ := ParseFont(testFont(o))
		b, err := f.subset([]uint16{tgAdiaeresis})
		if err != nil {
			t.Fatal(err)
		}
		s, err := parseSFNT(b)
		if err != nil {
			t.Fatalf("subset does not parse: %v", err)
		}
		var tags []string
		for tag := range s.tables {
			tags = append(tags, tag)
		}
		slices.Sort(tags)
		if got := strings.Join(tags, ","); got != "cvt ,glyf,head,hhea,hmtx,loca,maxp,prep" {
			t.Errorf("tables %s", got)
		}
		if s.numGlyphs != tgDiaeresis+1 || !s.longLoca {
			t.Errorf("%d glyphs (want %d), long loca %v", s.numGlyphs, tgDiaeresis+1, s.longLoca)
		}
		for g := uint16(0); g < uint16(s.numGlyphs); g++ {
			got, _ := s.glyph(g)
			orig, _ := f.glyph(g)
			kept := g == tgNotdef || g == tgA || g == tgAdiaeresis || g == tgDiaeresis
			if kept {
				// Kept glyphs are padded to four bytes.
				if !bytes.Equal(got[:len(orig)], orig) || len(got)-len(orig) > 3 {
					t.Errorf("glyph %d changed", g)
				}
				if s.advance(g) != f.advance(g) {
					t.Errorf("glyph %d advance %d, want %d", g, s.advance(g), f.advance(g))
				}
			} else if len(got) != 0 {
				t.Errorf("glyph %d not used but kept (%d bytes)", g, len(got))
			}
		}
		// Each table's checksum as recorded, and the whole file's sum is
		// the magic number once head.checkSumAdjustment is in.
		for i := 0; i < int(be16(b[4:])); i++ {
			r := b[12+16*i:]
			data := b[be32(r[8:]) : be32(r[8:])+be32(r[12:])]
			sum := checksum(data)
			if string(r[:4]) == "head" {
				sum -= be32(data[8:])
			}
			if sum != be32(r[4:]) {
				t.Errorf("table %q checksum %#x, recorded %#x", r[:4], sum, be32(r[4:]))
			}
		}
		if sum := checksum(b); sum != 0xB1B0AFBA {
			t.Errorf("font checksum %#x", sum)
		}
	}
}

// TestSubsetDejaVu: a subset of a real font for Vietnamese and Arabic text
// is small, and every glyph used is there with its original data.
func TestSubsetDejaVu(t *testing.T) {
	f := dejaVu(t)
	used := map[uint16]bool{}
	for _, s := range []string{"Nguyễn Văn Ấn", "Ủy ban nhân dân tỉnh Bắc Ninh", "محمد عبد الله", "السلام عليكم"} {
		for _, g := range shapeLine(f, s).glyphs {
			used[g.gid] = true
		}
	}
	gids := make([]uint16, 0, len(used))
	for g := range used {
		gids = append(gids, g)
	}
	b, err := f.subset(gids)
	if err != nil {
		t.Fatal(err)
	}
	s, err := parseSFNT(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gids {
		got, _ := s.glyph(g)
		orig, _ := f.glyph(g)
		if len(orig) == 0 && g != 3 {
			t.Errorf("glyph %d has no outline in DejaVu", g)
		}
		if !bytes.Equal(got[:len(orig)], orig) {
			t.Errorf("glyph %d differs in the subset", g)
		}
	}
	t.Logf("DejaVu Sans %d KiB, subset of %d glyphs %d KiB (%d deflated)", len(f.data)>>10, len(gids), len(b)>>10, len(deflate(b))>>10)
	if len(deflate(b)) > 40<<10 {
		t.Errorf("subset is %d bytes compressed", len(deflate(b)))
	}
}

func TestComponentsRefusesShortGlyph(t *testing.T) {
	g := compositeGlyph()
	if _, err := components(g[:len(g)-12]); err == nil {
		t.Error("a composite glyph cut in its second component was read")
	}
	if c, err := components(g); err != nil || !slices.Equal(c, []uint16{tgA, tgDiaeresis}) {
		t.Errorf("components %v %v", c, err)
	}
}

func TestSystemFont(t *testing.T) {
	saved := systemFonts
	systemFonts = []string{filepath.Join(t.TempDir(), "none.ttf")}
	_, err := SystemFont()
	systemFonts = saved
	wantFontErr(t, err, "pdf.error.no_font")

	b, err := SystemFont()
	if err != nil {
		var e *kernel.Error
		if errors.As(err, &e) && e.Code == kernel.NotFound && e.Key == "pdf.error.no_font" {
			t.Skip("no system font installed")
		}
		t.Fatal(err)
	}
	if _, err := ParseFont(b); err != nil {
		t.Errorf("the system font does not parse: %v", err)
	}
}

// FuzzFont: hostile font files are refused or parsed, and a parsed one can
// be shaped, subset (the subset parses back) and drawn in a signature,
// never a panic or a hang.
func FuzzFont(f *testing.F) {
	f.Add(testFont(testFontOpts{}))
	f.Add(testFont(testFontOpts{format4Only: true}))
	f.Add(testFont(testFontOpts{longLoca: true}))
	f.Add([]byte("\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00head\x00\x00\x00\x00\x00\x00\x00\x1c\xff\xff\xff\xff"))
	tiny := pdftest.Tiny()
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		font, err := ParseFont(b)
		if err != nil {
			return
		}
		var gids []uint16
		for _, s := range []string{"Nguyễn Văn Ấn AÄË", "محمد عبد الله لا", "\U0001F600 (x) 123"} {
			for _, g := range shapeLine(font, s).glyphs {
				gids = append(gids, g.gid)
				font.width1000(g.gid)
			}
		}
		// A broken composite glyph is found only when it is used.
		sub, err := font.subset(gids)
		if err != nil {
			wantFontErr(t, err, "pdf.error.bad_font")
		} else if _, err := parseSFNT(sub); err != nil {
			t.Fatalf("the subset of a parsed font does not parse: %v", err)
		}
		var m memWriter
		err = Sign(&m, bytes.NewReader(tiny), int64(len(tiny)), SignOptions{Reserve: 64, Appearance: &Appearance{Font: font, Lines: []string{"Nguyễn", "محمد"}}},
			func([]byte) ([]byte, error) { return []byte{0x30, 0}, nil })
		if err != nil {
			wantFontErr(t, err, "pdf.error.bad_font")
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("took %v on %d bytes", el, len(b))
		}
	})
}

// memWriter is an in-memory io.WriterAt.
type memWriter struct{ b []byte }

func (m *memWriter) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[off:], p)
	return len(p), nil
}

// TestFontShared: one Font serves signatures on many goroutines (run with
// -race), and the same text gives the same bytes, cached subset or not.
func TestFontShared(t *testing.T) {
	f := dejaVu(t)
	tiny := pdftest.Tiny()
	sign := func(lines ...string) []byte {
		var m memWriter
		err := Sign(&m, bytes.NewReader(tiny), int64(len(tiny)), SignOptions{Appearance: &Appearance{Font: f, Lines: lines}},
			func([]byte) ([]byte, error) { return []byte{0x30, 0}, nil })
		if err != nil {
			t.Error(err)
		}
		return m.b
	}
	first := sign("Nguyễn Văn Ấn", "محمد")
	done := make(chan []byte)
	for i := 0; i < 8; i++ {
		go func() {
			// Glyph sets enough to go past the cache's bound.
			for k := 0; k < 3; k++ {
				sign(fmt.Sprint("Ký ngày ", i*3+k))
			}
			done <- sign("Nguyễn Văn Ấn", "محمد")
		}()
	}
	for i := 0; i < 8; i++ {
		if b := <-done; !bytes.Equal(b, first) {
			t.Error("the same appearance signed twice differs")
		}
	}
}
