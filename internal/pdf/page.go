package pdf

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"civitas/internal/kernel"
)

// This file writes a whole new document of one page with lines of text, for
// the readable copies civitas makes of its own records (a wallet document):
// the text is shaped and the font embedded as a subset exactly as for a
// visible signature's lines, so extractors give the text back. Layout
// (where each line goes, wrapping) is the caller's; TextWidth measures.

// The size of an A4 page in points (210 × 297 mm).
const (
	A4Width  = 595.276
	A4Height = 841.89
)

// Align says what a PageText's X is: its left end, its right end (a
// right-to-left line starts there), or its middle.
type Align int

// The alignments.
const (
	AlignLeft Align = iota
	AlignRight
	AlignCenter
)

// Color is an RGB colour, each part from 0 to 1; the zero value is black.
type Color [3]float64

// PageText is one line of text, shaped as a visible signature's lines are:
// Vietnamese composed to NFC, Arabic joined and laid out right to left.
type PageText struct {
	Text  string
	X, Y  float64 // in points from the bottom left; Y is the baseline
	Size  float64 // in points
	Align Align
	Color Color
}

// PageRule is a straight line.
type PageRule struct {
	X1, Y1, X2, Y2 float64
	Width          float64 // in points
	Color          Color
}

// Page is a document of one page drawn with text lines and rules in one
// embedded font.
type Page struct {
	Width, Height float64 // in points; zero is A4 portrait
	Font          *Font
	Texts         []PageText
	Rules         []PageRule
	Title         string    // the document information's /Title
	Lang          string    // the catalog's /Lang, such as "vi"
	Created       time.Time // /CreationDate; zero leaves it out
	// More are the pages after the first, of the same size and font: a
	// record longer than a page (a person's data export) goes on.
	More []PageBody
}

// PageBody is what one page after the first draws.
type PageBody struct {
	Texts []PageText
	Rules []PageRule
}

// TextWidth is how wide s is drawn at size points, after shaping: what
// callers lay lines out and wrap them with.
func (f *Font) TextWidth(s string, size float64) float64 {
	w := 0.0
	for _, g := range shapeLine(f, s).glyphs {
		w += f.width1000(g.gid)
	}
	return w * size / 1000
}

// Ascent is how far the font rises above the baseline at size points.
func (f *Font) Ascent(size float64) float64 {
	return size * float64(f.ascent) / float64(f.unitsPerEm)
}

// errPage is the error of a page the caller built wrong: our own data,
// so a programming error, never the user's.
func errPage(format string, args ...any) error {
	return kernel.Wrap(fmt.Errorf(format, args...), "pdf: page")
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e5 {
			return false
		}
	}
	return true
}

// WritePage writes p as a new PDF 1.7 file: a catalog, its page (and
// p.More after it), each with its content stream (Flate), the font subset with its /ToUnicode map, the
// document information, and a classic cross-reference table. The output
// depends only on p, so the same page gives the same bytes; its /ID is a
// hash of its content.
func WritePage(p Page) ([]byte, error) {
	if p.Font == nil {
		return nil, errPage("no font")
	}
	if p.Width == 0 && p.Height == 0 {
		p.Width, p.Height = A4Width, A4Height
	}
	if !finite(p.Width, p.Height) || p.Width <= 0 || p.Height <= 0 {
		return nil, errPage("size %v × %v", p.Width, p.Height)
	}
	f := p.Font
	next := 0
	alloc := func() Ref { next++; return Ref{Num: next} }
	bodies := append([]PageBody{{Texts: p.Texts, Rules: p.Rules}}, p.More...)
	pageRefs, contentRefs := make([]Ref, len(bodies)), make([]Ref, len(bodies))
	catRef, pagesRef, _, _, infoRef := alloc(), alloc(), alloc(), alloc(), alloc()
	pageRefs[0], contentRefs[0] = Ref{Num: 3}, Ref{Num: 4} // a one-page file numbered as it always was
	for i := 1; i < len(bodies); i++ {
		pageRefs[i], contentRefs[i] = alloc(), alloc()
	}
	used := map[uint16]string{}
	contents := make([][]byte, len(bodies))
	for i, b := range bodies {
		var err error
		if contents[i], err = drawBody(f, b, used); err != nil {
			return nil, err
		}
	}

	var objs []newObject
	res := Dict{}
	if len(used) > 0 {
		fontRef, err := f.embed(used, alloc, &objs)
		if err != nil {
			return nil, err
		}
		res["Font"] = Dict{"F0": fontRef}
	}
	dict := func(ref Ref, d Dict) newObject {
		var b bytes.Buffer
		writeDict(&b, d)
		return newObject{ref, b.Bytes()}
	}
	cat := Dict{"Type": Name("Catalog"), "Pages": pagesRef}
	if p.Lang != "" {
		cat["Lang"] = textString(p.Lang)
	}
	info := Dict{"Producer": String("civitas")}
	if p.Title != "" {
		info["Title"] = textString(p.Title)
	}
	if !p.Created.IsZero() {
		info["CreationDate"] = String(formatDate(p.Created))
	}
	kids := Array{}
	for _, r := range pageRefs {
		kids = append(kids, r)
	}
	objs = append(objs, dict(catRef, cat), dict(pagesRef, Dict{"Type": Name("Pages"), "Kids": kids, "Count": Int(len(pageRefs))}), dict(infoRef, info))
	for i := range bodies {
		objs = append(objs,
			dict(pageRefs[i], Dict{"Type": Name("Page"), "Parent": pagesRef, "MediaBox": Array{Int(0), Int(0), num(p.Width), num(p.Height)},
				"Resources": res, "Contents": contentRefs[i]}),
			flateStreamObject(contentRefs[i], Dict{}, contents[i]))
	}
	slices.SortFunc(objs, func(a, b newObject) int { return int(a.ref.Num - b.ref.Num) })
	for i, o := range objs {
		if int(o.ref.Num) != i+1 {
			return nil, kernel.Wrap(errors.New("object numbers not contiguous"), "pdf: page")
		}
	}

	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n", o.ref.Num)
		out.Write(o.body)
		out.WriteString("\nendobj\n")
	}
	sum := sha256.Sum256(out.Bytes())
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f\r\n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n\r\n", off)
	}
	out.WriteString("trailer\n")
	id := String(sum[:16])
	writeDict(&out, Dict{"Size": Int(len(objs) + 1), "Root": catRef, "Info": infoRef, "ID": Array{id, id}})
	fmt.Fprintf(&out, "\nstartxref\n%d\n%%%%EOF\n", xref)
	return out.Bytes(), nil
}

// drawBody writes the content stream of one page, noting the glyphs it
// uses in used.
func drawBody(f *Font, b PageBody, used map[uint16]string) ([]byte, error) {
	var c bytes.Buffer
	for _, r := range b.Rules {
		if !finite(r.X1, r.Y1, r.X2, r.Y2, r.Width) || r.Width <= 0 {
			return nil, errPage("rule %+v", r)
		}
		fmt.Fprintf(&c, "q %s w %s RG %s %s m %s %s l S Q\n", fnum(r.Width), colour(r.Color), fnum(r.X1), fnum(r.Y1), fnum(r.X2), fnum(r.Y2))
	}
	if len(b.Texts) > 0 {
		c.WriteString("BT\n")
		size, col := -1.0, Color{-1}
		for _, t := range b.Texts {
			if !finite(t.X, t.Y, t.Size) || t.Size <= 0 {
				return nil, errPage("text at %v, %v size %v", t.X, t.Y, t.Size)
			}
			l := shapeLine(f, t.Text)
			if len(l.glyphs) == 0 {
				continue
			}
			w := 0.0
			for _, g := range l.glyphs {
				if _, ok := used[g.gid]; !ok {
					used[g.gid] = g.text
				}
				w += f.width1000(g.gid)
			}
			w = w * t.Size / 1000
			x := t.X
			switch t.Align {
			case AlignRight:
				x -= w
			case AlignCenter:
				x -= w / 2
			}
			if t.Size != size {
				fmt.Fprintf(&c, "/F0 %s Tf\n", fnum(t.Size))
				size = t.Size
			}
			if t.Color != col {
				fmt.Fprintf(&c, "%s rg\n", colour(t.Color))
				col = t.Color
			}
			// Glyphs in visual order, each mapped by /ToUnicode to its
			// logical text, as appearance.go explains.
			fmt.Fprintf(&c, "1 0 0 1 %s %s Tm <", fnum(x), fnum(t.Y))
			for _, g := range l.glyphs {
				fmt.Fprintf(&c, "%04X", g.gid)
			}
			c.WriteString("> Tj\n")
		}
		c.WriteString("ET\n")
	}
	return c.Bytes(), nil
}

// colour is an RGB colour's three operands, each part held to 0..1.
func colour(c Color) string {
	part := func(v float64) string {
		if !(v >= 0) { // NaN too
			v = 0
		}
		return fnum(min(v, 1))
	}
	return part(c[0]) + " " + part(c[1]) + " " + part(c[2])
}
