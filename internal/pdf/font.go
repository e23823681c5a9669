package pdf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf16"

	"civitas/internal/kernel"
)

// maxFontSize bounds the fonts ParseFont reads: the largest pan-Unicode
// TrueType fonts are a few tens of megabytes.
const maxFontSize = 64 << 20

// systemFonts are where Debian and most Linux systems keep fonts that have
// Vietnamese letters and the Arabic presentation forms, best first.
var systemFonts = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/TTF/DejaVuSans.ttf",
	"/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
	"/usr/share/fonts/noto/NotoSans-Regular.ttf",
	"/usr/share/fonts/truetype/freefont/FreeSans.ttf",
}

// SystemFont reads the first TrueType font found among a short list of
// standard places (DejaVu Sans first: Debian's fonts-dejavu-core, which
// covers Vietnamese and Arabic). It fails with "pdf.error.no_font" when
// there is none.
func SystemFont() ([]byte, error) {
	for _, p := range systemFonts {
		b, err := os.ReadFile(p)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, kernel.Wrap(err, "pdf: read font %s", p)
		}
	}
	return nil, kernel.E(kernel.NotFound, "pdf.error.no_font")
}

// Font is a TrueType font parsed once for drawing signature appearances:
// the character map, the metrics, and the raw tables the subset embedded
// in each signed file is cut from. One Font may serve any number of
// signatures, concurrently; it keeps the last few subsets it made.
type Font struct {
	data        []byte
	tables      map[string][]byte // tag → table bytes (sub-slices of data)
	name        string            // PostScript name, safe in a PDF name
	unitsPerEm  int
	ascent      int // hhea ascender, font units
	descent     int // hhea descender, font units (negative)
	capHeight   int
	bbox        [4]int
	numGlyphs   int
	longLoca    bool
	numHMetrics int
	cmap        cmapTable

	// Recent subsets, Flate-compressed, by glyph set: a sealing service
	// draws the same agency and labels again and again.
	mu      sync.Mutex
	subsets map[string]compressedSubset
}

// badFont is the error for a font this package cannot use; the cause says why.
func badFont(format string, args ...any) error {
	return kernel.E(kernel.Invalid, "pdf.error.bad_font").WithCause(fmt.Errorf("pdf: font: "+format, args...))
}

// ParseFont reads a TrueType font (glyf outlines; not CFF, not a
// collection). Every offset and length in it is checked against the data,
// so a damaged or hostile file gives "pdf.error.bad_font", never a panic.
// The bytes are kept, not copied: the caller must not change them.
func ParseFont(b []byte) (*Font, error) {
	f, err := parseSFNT(b)
	if err != nil {
		return nil, err
	}
	cm, ok := f.tables["cmap"]
	if !ok {
		return nil, badFont("no cmap table")
	}
	if f.cmap, err = parseCmap(cm, f.numGlyphs); err != nil {
		return nil, err
	}
	f.name = postScriptName(f.tables["name"])
	return f, nil
}

// parseSFNT reads the table directory and the tables every use needs
// (head, hhea, maxp, hmtx, loca, glyf), not the character map: subsets
// have none.
func parseSFNT(b []byte) (*Font, error) {
	if len(b) > maxFontSize {
		return nil, badFont("%d bytes", len(b))
	}
	if len(b) < 12 {
		return nil, badFont("too short")
	}
	switch v := be32(b); v {
	case 0x00010000, 0x74727565: // 1.0, 'true'
	case 0x4f54544f: // 'OTTO'
		return nil, badFont("CFF outlines are not supported")
	case 0x74746366: // 'ttcf'
		return nil, badFont("font collections are not supported")
	default:
		return nil, badFont("not a TrueType font (version %#x)", v)
	}
	n := int(be16(b[4:]))
	if 12+16*n > len(b) {
		return nil, badFont("table directory beyond the data")
	}
	f := &Font{data: b, tables: make(map[string][]byte, n)}
	for i := 0; i < n; i++ {
		r := b[12+16*i:]
		tag := string(r[:4])
		off, length := int64(be32(r[8:])), int64(be32(r[12:]))
		if off+length > int64(len(b)) {
			return nil, badFont("table %q beyond the data", tag)
		}
		if _, dup := f.tables[tag]; !dup {
			f.tables[tag] = b[off : off+length : off+length]
		}
	}
	for _, tag := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf"} {
		if _, ok := f.tables[tag]; !ok {
			return nil, badFont("no %s table", tag)
		}
	}
	head, hhea, maxp := f.tables["head"], f.tables["hhea"], f.tables["maxp"]
	if len(head) < 54 || len(hhea) < 36 || len(maxp) < 6 {
		return nil, badFont("short head, hhea or maxp")
	}
	f.unitsPerEm = int(be16(head[18:]))
	if f.unitsPerEm < 16 || f.unitsPerEm > 16384 {
		return nil, badFont("unitsPerEm %d", f.unitsPerEm)
	}
	for i := range f.bbox {
		f.bbox[i] = int(int16(be16(head[36+2*i:])))
	}
	switch be16(head[50:]) {
	case 0:
	case 1:
		f.longLoca = true
	default:
		return nil, badFont("bad indexToLocFormat")
	}
	f.ascent = int(int16(be16(hhea[4:])))
	f.descent = int(int16(be16(hhea[6:])))
	f.capHeight = f.ascent
	if os2 := f.tables["OS/2"]; len(os2) >= 90 && be16(os2) >= 2 {
		if c := int(int16(be16(os2[88:]))); c > 0 {
			f.capHeight = c
		}
	}
	f.numHMetrics = int(be16(hhea[34:]))
	f.numGlyphs = int(be16(maxp[4:]))
	if f.numGlyphs == 0 || f.numHMetrics == 0 || f.numHMetrics > f.numGlyphs {
		return nil, badFont("%d glyphs, %d horizontal metrics", f.numGlyphs, f.numHMetrics)
	}
	if len(f.tables["hmtx"]) < 4*f.numHMetrics+2*(f.numGlyphs-f.numHMetrics) {
		return nil, badFont("short hmtx")
	}
	if len(f.tables["loca"]) < f.locaSize()*(f.numGlyphs+1) {
		return nil, badFont("short loca")
	}
	// Every glyph's data must lie in glyf, so that no later use fails.
	prev := 0
	for g := 0; g <= f.numGlyphs; g++ {
		off := f.locaAt(g)
		if off < prev || off > len(f.tables["glyf"]) {
			return nil, badFont("loca entry %d out of order or beyond glyf", g)
		}
		prev = off
	}
	return f, nil
}

// locaAt is the offset in glyf where glyph g starts (g = numGlyphs: where
// the last one ends).
func (f *Font) locaAt(g int) int {
	loca := f.tables["loca"]
	if f.longLoca {
		return int(be32(loca[4*g:]))
	}
	return 2 * int(be16(loca[2*g:]))
}

func (f *Font) locaSize() int {
	if f.longLoca {
		return 4
	}
	return 2
}

// glyph returns the outline data of glyph g: empty for a glyph with no
// outline (a space). ParseFont checked loca; the checks here are for
// glyph IDs out of range.
func (f *Font) glyph(g uint16) ([]byte, error) {
	if int(g) >= f.numGlyphs {
		return nil, badFont("glyph %d of %d", g, f.numGlyphs)
	}
	glyf := f.tables["glyf"]
	start, end := f.locaAt(int(g)), f.locaAt(int(g)+1)
	if start > end || end > len(glyf) {
		return nil, badFont("glyph %d outside glyf", g)
	}
	return glyf[start:end], nil
}

// components lists the glyphs a composite glyph is built from (none for a
// simple glyph).
func components(g []byte) ([]uint16, error) {
	if len(g) < 10 || int16(be16(g)) >= 0 {
		return nil, nil
	}
	const (
		argWords   = 0x0001
		scale      = 0x0008
		more       = 0x0020
		xyScale    = 0x0040
		twoByTwo   = 0x0080
		headerSize = 10
	)
	var out []uint16
	p := headerSize
	for {
		if p+4 > len(g) {
			return nil, errors.New("composite glyph cut short")
		}
		flags := be16(g[p:])
		out = append(out, be16(g[p+2:]))
		p += 4
		if flags&argWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&scale != 0:
			p += 2
		case flags&xyScale != 0:
			p += 4
		case flags&twoByTwo != 0:
			p += 8
		}
		if flags&more == 0 {
			return out, nil
		}
	}
}

// advance is the advance width of glyph g in font units.
func (f *Font) advance(g uint16) int {
	hmtx := f.tables["hmtx"]
	i := int(g)
	if i >= f.numHMetrics {
		i = f.numHMetrics - 1
	}
	return int(be16(hmtx[4*i:]))
}

// GlyphIndex returns the glyph of rune r, or 0 (.notdef) when the font has none.
func (f *Font) GlyphIndex(r rune) uint16 { return f.cmap.lookup(r) }

// Name returns the font's PostScript name.
func (f *Font) Name() string { return f.name }

// cmapTable is the chosen subtable of cmap, looked up in place.
type cmapTable struct {
	data      []byte // from the subtable's start to the end of cmap
	format    int
	segCount  int // format 4
	numGroups int // format 12
	numGlyphs int
}

// parseCmap picks the widest Unicode subtable: format 12 (all planes)
// before format 4 (the BMP).
func parseCmap(b []byte, numGlyphs int) (cmapTable, error) {
	if len(b) < 4 {
		return cmapTable{}, badFont("short cmap")
	}
	n := int(be16(b[2:]))
	if 4+8*n > len(b) {
		return cmapTable{}, badFont("cmap records beyond the table")
	}
	best, bestRank := -1, 0
	for i := 0; i < n; i++ {
		r := b[4+8*i:]
		platform, encoding, off := be16(r), be16(r[2:]), int64(be32(r[4:]))
		if off+4 > int64(len(b)) {
			continue
		}
		unicode := platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10))
		if !unicode {
			continue
		}
		rank := 0
		switch be16(b[off:]) {
		case 12:
			rank = 2
		case 4:
			rank = 1
		}
		if rank > bestRank {
			best, bestRank = int(off), rank
		}
	}
	if best < 0 {
		return cmapTable{}, badFont("no Unicode cmap of format 4 or 12")
	}
	t := cmapTable{data: b[best:], numGlyphs: numGlyphs}
	if bestRank == 2 {
		if len(t.data) < 16 {
			return cmapTable{}, badFont("short cmap format 12")
		}
		t.format = 12
		t.numGroups = int(min(int64(be32(t.data[12:])), int64(len(t.data)-16)/12))
		return t, nil
	}
	if len(t.data) < 14 {
		return cmapTable{}, badFont("short cmap format 4")
	}
	t.format = 4
	t.segCount = int(be16(t.data[6:])) / 2
	if 16+8*t.segCount > len(t.data) {
		return cmapTable{}, badFont("cmap format 4 segments beyond the table")
	}
	return t, nil
}

func (t cmapTable) lookup(r rune) uint16 {
	var g uint32
	switch t.format {
	case 12:
		// Groups are sorted by start; find the first that ends at or after r.
		i := sort.Search(t.numGroups, func(i int) bool { return be32(t.data[16+12*i+4:]) >= uint32(r) })
		if i < t.numGroups {
			grp := t.data[16+12*i:]
			if start := be32(grp); uint32(r) >= start {
				g = be32(grp[8:]) + uint32(r) - start
			}
		}
	case 4:
		if r < 0 || r > 0xffff {
			return 0
		}
		c := uint16(r)
		n := t.segCount
		ends := t.data[14:]
		i := sort.Search(n, func(i int) bool { return be16(ends[2*i:]) >= c })
		if i >= n {
			return 0
		}
		starts := t.data[16+2*n:]
		deltas := t.data[16+4*n:]
		ranges := t.data[16+6*n:]
		start := be16(starts[2*i:])
		if c < start {
			return 0
		}
		ro := int(be16(ranges[2*i:]))
		if ro == 0 {
			g = uint32(c + be16(deltas[2*i:]))
			break
		}
		// idRangeOffset counts from its own place in the table.
		at := 16 + 6*n + 2*i + ro + 2*int(c-start)
		if at+2 > len(t.data) {
			return 0
		}
		if v := be16(t.data[at:]); v != 0 {
			g = uint32(v + be16(deltas[2*i:]))
		}
	}
	if g&0xffff != g || int(g) >= t.numGlyphs {
		return 0
	}
	return uint16(g)
}

// postScriptName reads name ID 6, keeping the characters a PDF font name
// may hold; "Font" when there is none.
func postScriptName(b []byte) string {
	name := ""
	if len(b) >= 6 {
		n, strOff := int(be16(b[2:])), int(be16(b[4:]))
		for i := 0; i < n && 6+12*i+12 <= len(b); i++ {
			r := b[6+12*i:]
			platform, id, length, off := be16(r), be16(r[6:]), int(be16(r[8:])), int(be16(r[10:]))
			if id != 6 || strOff+off+length > len(b) {
				continue
			}
			s := b[strOff+off : strOff+off+length]
			if platform == 0 || platform == 3 {
				u := make([]uint16, len(s)/2)
				for k := range u {
					u[k] = be16(s[2*k:])
				}
				name = string(utf16.Decode(u))
			} else {
				name = string(s)
			}
			break
		}
	}
	var sb strings.Builder
	for _, c := range name {
		if sb.Len() >= 63 {
			break
		}
		if c > 0x20 && c < 0x7f && !strings.ContainsRune("[](){}<>/%#", c) {
			sb.WriteRune(c)
		}
	}
	if sb.Len() == 0 {
		return "Font"
	}
	return sb.String()
}

// subset builds a font with the glyphs used (and glyph 0, and the
// components of composite glyphs) under their original glyph IDs: glyph IDs
// stay the character codes of the Identity encoding. Glyphs past the
// highest one used are cut off; others unused are left empty. It keeps the
// tables a TrueType font embedded in a PDF needs (ISO 32000-1 §9.9):
// outlines, metrics and hinting; no names, no cmap.
func (f *Font) subset(used []uint16) ([]byte, error) {
	keep := make(map[uint16]bool, len(used)+8)
	work := append([]uint16{0}, used...)
	for len(work) > 0 {
		g := work[len(work)-1]
		work = work[:len(work)-1]
		if keep[g] {
			continue
		}
		keep[g] = true
		data, err := f.glyph(g)
		if err != nil {
			return nil, err
		}
		comps, err := components(data)
		if err != nil {
			return nil, badFont("glyph %d: %v", g, err)
		}
		work = append(work, comps...)
	}
	n := 0
	for g := range keep {
		n = max(n, int(g)+1)
	}

	var glyf bytes.Buffer
	loca := make([]byte, 4*(n+1))
	hm := min(f.numHMetrics, n)
	hmtx := make([]byte, 4*hm+2*(n-hm))
	src := f.tables["hmtx"]
	for g := 0; g < n; g++ {
		binary.BigEndian.PutUint32(loca[4*g:], uint32(glyf.Len()))
		if !keep[uint16(g)] {
			continue
		}
		data, _ := f.glyph(uint16(g)) // checked above
		glyf.Write(data)
		for glyf.Len()%4 != 0 {
			glyf.WriteByte(0)
		}
		if g < hm {
			copy(hmtx[4*g:4*g+4], src[4*g:])
		} else {
			// Past numberOfHMetrics only the left side bearing is stored.
			copy(hmtx[4*hm+2*(g-hm):][:2], src[4*f.numHMetrics+2*(g-f.numHMetrics):])
		}
	}
	binary.BigEndian.PutUint32(loca[4*n:], uint32(glyf.Len()))

	head := bytes.Clone(f.tables["head"])
	binary.BigEndian.PutUint32(head[8:], 0) // checkSumAdjustment, set last
	binary.BigEndian.PutUint16(head[50:], 1)
	hhea := bytes.Clone(f.tables["hhea"])
	binary.BigEndian.PutUint16(hhea[34:], uint16(hm))
	maxp := bytes.Clone(f.tables["maxp"])
	binary.BigEndian.PutUint16(maxp[4:], uint16(n))

	tables := map[string][]byte{"glyf": glyf.Bytes(), "head": head, "hhea": hhea, "hmtx": hmtx, "loca": loca, "maxp": maxp}
	for _, tag := range []string{"cvt ", "fpgm", "prep"} {
		if t, ok := f.tables[tag]; ok {
			tables[tag] = t
		}
	}
	return writeSFNT(tables), nil
}

// writeSFNT assembles a font file from its tables (sorted by tag, each
// 4-byte aligned, with checksums) and sets head.checkSumAdjustment.
func writeSFNT(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for t := range tables {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	n := len(tags)
	sr, es := 1, 0
	for sr*2 <= n {
		sr *= 2
		es++
	}
	size := 12 + 16*n
	for _, t := range tags {
		size += (len(tables[t]) + 3) &^ 3
	}
	out := make([]byte, 12+16*n, size)
	binary.BigEndian.PutUint32(out, 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	binary.BigEndian.PutUint16(out[6:], uint16(16*sr))
	binary.BigEndian.PutUint16(out[8:], uint16(es))
	binary.BigEndian.PutUint16(out[10:], uint16(16*(n-sr)))
	headAt := -1
	for i, t := range tags {
		data := tables[t]
		r := out[12+16*i:]
		copy(r, t)
		binary.BigEndian.PutUint32(r[4:], checksum(data))
		binary.BigEndian.PutUint32(r[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(r[12:], uint32(len(data)))
		if t == "head" {
			headAt = len(out)
		}
		out = append(out, data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	if headAt >= 0 {
		binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	}
	return out
}

// checksum is the TrueType table checksum: the sum of big-endian uint32
// words, the last one padded with zeros.
func checksum(b []byte) uint32 {
	var s uint32
	for len(b) >= 4 {
		s += be32(b)
		b = b[4:]
	}
	if len(b) > 0 {
		var w [4]byte
		copy(w[:], b)
		s += be32(w[:])
	}
	return s
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

type compressedSubset struct {
	z    []byte // the subset font, deflated
	size int    // its size before (/Length1)
}

// maxCachedSubsets bounds the cache of a Font; past it the cache starts over.
const maxCachedSubsets = 16

// compressedSubset returns the subset for gids (sorted), deflated, from
// the cache or made and cached.
func (f *Font) compressedSubset(gids []uint16) (compressedSubset, error) {
	key := make([]byte, 2*len(gids))
	for i, g := range gids {
		binary.BigEndian.PutUint16(key[2*i:], g)
	}
	f.mu.Lock()
	c, ok := f.subsets[string(key)]
	f.mu.Unlock()
	if ok {
		return c, nil
	}
	file, err := f.subset(gids)
	if err != nil {
		return compressedSubset{}, err
	}
	c = compressedSubset{deflate(file), len(file)}
	f.mu.Lock()
	if f.subsets == nil || len(f.subsets) >= maxCachedSubsets {
		f.subsets = map[string]compressedSubset{}
	}
	f.subsets[string(key)] = c
	f.mu.Unlock()
	return c, nil
}

// width1000 is the advance of glyph g in the thousandths of an em that
// PDF font widths are given in, rounded as /W writes it.
func (f *Font) width1000(g uint16) float64 {
	return math.Round(float64(f.advance(g)) * 1000 / float64(f.unitsPerEm))
}

// embed writes the font as a Type0 font with Identity-H encoding (the
// codes are the glyph IDs), its CIDFontType2 descendant with the widths of
// the glyphs used, a descriptor with the subset as /FontFile2, and a
// /ToUnicode CMap from each glyph to the text it stands for. It returns
// the reference of the Type0 font.
func (f *Font) embed(used map[uint16]string, alloc func() Ref, objs *[]newObject) (Ref, error) {
	gids := make([]uint16, 0, len(used))
	for g := range used {
		gids = append(gids, g)
	}
	slices.Sort(gids)
	file, err := f.compressedSubset(gids)
	if err != nil {
		return Ref{}, err
	}
	// The subset tag (ISO 32000-1 §9.6.4) comes from the glyphs, so the
	// same subset gets the same name and the output is reproducible.
	h := sha256.New()
	h.Write([]byte(f.name))
	for _, g := range gids {
		h.Write([]byte{byte(g >> 8), byte(g)})
	}
	sum := h.Sum(nil)
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	base := Name(string(tag) + "+" + f.name)

	type0, cid, desc, ff, tu := alloc(), alloc(), alloc(), alloc(), alloc()
	var widths Array
	for i := 0; i < len(gids); {
		j := i + 1
		for j < len(gids) && gids[j] == gids[j-1]+1 {
			j++
		}
		var ws Array
		for _, g := range gids[i:j] {
			ws = append(ws, Int(f.width1000(g)))
		}
		widths = append(widths, Int(gids[i]), ws)
		i = j
	}
	scale := func(v int) Object { return Int(math.Round(float64(v) * 1000 / float64(f.unitsPerEm))) }
	add := func(ref Ref, d Dict) {
		var b bytes.Buffer
		writeDict(&b, d)
		*objs = append(*objs, newObject{ref, b.Bytes()})
	}
	add(type0, Dict{
		"Type": Name("Font"), "Subtype": Name("Type0"), "BaseFont": base,
		"Encoding": Name("Identity-H"), "DescendantFonts": Array{cid}, "ToUnicode": tu,
	})
	add(cid, Dict{
		"Type": Name("Font"), "Subtype": Name("CIDFontType2"), "BaseFont": base,
		"CIDSystemInfo":  Dict{"Registry": String("Adobe"), "Ordering": String("Identity"), "Supplement": Int(0)},
		"FontDescriptor": desc, "W": widths, "CIDToGIDMap": Name("Identity"),
	})
	add(desc, Dict{
		"Type": Name("FontDescriptor"), "FontName": base, "Flags": Int(32), // nonsymbolic
		"FontBBox":    Array{scale(f.bbox[0]), scale(f.bbox[1]), scale(f.bbox[2]), scale(f.bbox[3])},
		"ItalicAngle": Int(0), "Ascent": scale(f.ascent), "Descent": scale(f.descent),
		"CapHeight": scale(f.capHeight), "StemV": Int(80), "FontFile2": ff,
	})
	*objs = append(*objs, streamObject(ff, Dict{"Length1": Int(file.size), "Filter": Name("FlateDecode")}, file.z))
	*objs = append(*objs, flateStreamObject(tu, Dict{}, toUnicodeCMap(gids, used)))
	return type0, nil
}

// toUnicodeCMap maps each glyph (a two-byte code) to its text in UTF-16BE.
func toUnicodeCMap(gids []uint16, text map[uint16]string) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	var entries []uint16
	for _, g := range gids {
		if text[g] != "" {
			entries = append(entries, g)
		}
	}
	for len(entries) > 0 {
		n := min(len(entries), 100) // the most one block may hold
		fmt.Fprintf(&b, "%d beginbfchar\n", n)
		for _, g := range entries[:n] {
			fmt.Fprintf(&b, "<%04X> <", g)
			for _, u := range utf16.Encode([]rune(text[g])) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
		entries = entries[n:]
	}
	b.WriteString("endcmap\nCMapName currentdict /CMapResource defineresource pop\nend\nend\n")
	return b.Bytes()
}
