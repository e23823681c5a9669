package privacy

import (
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pdf"
)

// Translator gives the catalogue's text for a key in the reader's language,
// and whether it has one.
type Translator interface {
	T(key string, args ...any) string
	Has(key string) bool
}

// layout of the readable export, in points.
const (
	pageMargin = 48.0
	lineGap    = 3.0
	titleSize  = 16.0
	headSize   = 12.0
	textSize   = 9.0
)

var headColour = pdf.Color{0.05, 0.17, 0.42}

// pageWriter lays lines out on as many A4 pages as they take.
type pageWriter struct {
	font  *pdf.Font
	rtl   bool
	pages []pdf.PageBody
	y     float64
}

func (w *pageWriter) line(text string, size float64, indent float64, colour pdf.Color) {
	if w.pages == nil || w.y < pageMargin+size {
		w.pages = append(w.pages, pdf.PageBody{})
		w.y = pdf.A4Height - pageMargin
	}
	w.y -= size
	t := pdf.PageText{Text: text, X: pageMargin + indent, Y: w.y, Size: size, Color: colour}
	if w.rtl {
		t.X, t.Align = pdf.A4Width-pageMargin-indent, pdf.AlignRight
	}
	p := &w.pages[len(w.pages)-1]
	p.Texts = append(p.Texts, t)
	w.y -= lineGap
}

// wrapped writes text in lines no wider than the page, breaking at spaces
// (and inside a word longer than a line).
func (w *pageWriter) wrapped(text string, size, indent float64, colour pdf.Color) {
	width := pdf.A4Width - 2*pageMargin - indent
	var cur string
	flush := func() {
		if cur != "" {
			w.line(cur, size, indent, colour)
			cur = ""
		}
	}
	for _, word := range strings.Fields(text) {
		try := word
		if cur != "" {
			try = cur + " " + word
		}
		if w.font.TextWidth(try, size) <= width {
			cur = try
			continue
		}
		flush()
		for w.font.TextWidth(word, size) > width {
			rs := []rune(word)
			n := len(rs)
			for n > 1 && w.font.TextWidth(string(rs[:n]), size) > width {
				n--
			}
			w.line(string(rs[:n]), size, indent, colour)
			word = string(rs[n:])
		}
		cur = word
	}
	flush()
}

func (w *pageWriter) gap(points float64) { w.y -= points }

// label is the catalogue's name for a key, or the raw name.
func label(tr Translator, key, raw string) string {
	if tr.Has(key) {
		return tr.T(key)
	}
	return raw
}

// PDF writes an export as a readable document in the reader's language:
// each person, each section, each record with its fields. Vietnamese and
// any script the font has come out as text (extractors give it back).
func (s *Service) PDF(ex Export, lang string, tr Translator) ([]byte, error) {
	if s.o.Font == nil {
		return nil, kernel.E(kernel.Unavailable, "privacy.error.no_font")
	}
	w := &pageWriter{font: s.o.Font, rtl: lang == "ar"}
	w.wrapped(tr.T("privacy.pdf.title"), titleSize, 0, headColour)
	w.wrapped(tr.T("privacy.pdf.generated", ex.Generated.In(kernel.Zone()).Format("02/01/2006 15:04")), textSize, 0, pdf.Color{})
	w.wrapped(tr.T("privacy.pdf.note"), textSize, 0, pdf.Color{0.3, 0.3, 0.3})
	for _, p := range append([]PersonExport{ex.Person}, ex.Dependants...) {
		w.gap(8)
		head := tr.T("privacy.pdf.person", p.Name, p.CitizenID)
		if p.Dependant {
			head = tr.T("privacy.pdf.dependant", p.Name, p.CitizenID)
		}
		w.wrapped(head, titleSize-2, 0, headColour)
		for _, sec := range p.Sections {
			w.gap(4)
			w.wrapped(label(tr, "privacy.section."+sec.Name, sec.Name), headSize, 0, headColour)
			for _, r := range sec.Records {
				title := label(tr, "privacy.kind."+r.Kind, r.Kind)
				if r.ID != "" {
					title += " " + r.ID
				}
				w.wrapped(title, textSize+1, 8, pdf.Color{})
				for _, f := range r.Fields {
					name := label(tr, "privacy.field."+f.Name, f.Name)
					if w.rtl {
						w.wrapped(name, textSize, 16, pdf.Color{0.3, 0.3, 0.3})
						w.wrapped(f.Value, textSize, 24, pdf.Color{})
						continue
					}
					w.wrapped(name+": "+f.Value, textSize, 16, pdf.Color{})
				}
			}
		}
	}
	first := w.pages[0]
	return pdf.WritePage(pdf.Page{Font: s.o.Font, Texts: first.Texts, Rules: first.Rules, More: w.pages[1:], Lang: lang,
		Title: tr.T("privacy.pdf.title"), Created: ex.Generated.In(time.UTC)})
}
