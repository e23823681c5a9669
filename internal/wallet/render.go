package wallet

import (
	"errors"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"civitas/internal/kernel"
	"civitas/internal/pdf"
)

// Rendering is what a document's readable PDF shows: the document, its
// claims, and the names of whom it is from and for.
type Rendering struct {
	Type       Type
	Document   Document
	Claims     map[string]any
	AgencyName string
	Holder     string // the holder as shown: their name and ID
	// Lang is the reader's language: every label is in Vietnamese, the
	// official language, and in Lang beside it when Lang is en or ar.
	Lang string
	// VerifyURL is the public page where anyone checks the seal.
	VerifyURL string
	// T gives the page's fixed words (walletpdf.pdf.*) in a language, as
	// (*i18n.Catalog).T does.
	T func(lang, key string, args ...any) string
}

// The page's geometry, in points, and its colours.
const (
	pdfMargin    = 48.0
	pdfLabelW    = 168.0 // the labels' column
	pdfGap       = 14.0  // between the labels and the values
	pdfValueMax  = 6     // lines of one value; the rest is cut with "…"
	pdfTitleMax  = 2     // lines of the agency and of each title
	pdfFooterMax = 3     // lines of each language's sentence about the seal
	pdfMinScale  = 0.7   // the smallest the text is made to fit one page
)

var (
	inkText  = pdf.Color{0.08, 0.1, 0.18}
	inkTitle = pdf.Color{0.05, 0.17, 0.42}
	inkLabel = pdf.Color{0.33, 0.36, 0.42}
	inkRule  = pdf.Color{0.8, 0.82, 0.87}
)

// pdfDateLayout is how the PDF writes dates: DD/MM/YYYY, as Vietnam does.
const pdfDateLayout = "02/01/2006"

// RenderPDF lays the document out on one A4 page in font: the agency, the
// type's name, the holder, issue and expiry dates, the document ID and
// every claim with its label, then a line saying that the agency sealed
// the PDF and where to verify it. Labels are Vietnamese, with the reader's
// language beside them (Arabic shaped and right to left). Long values wrap
// and are cut after a few lines; when the claims do not fit, the text is
// made smaller, then the last claims are left out with a line saying how
// many. It reads nothing but its arguments.
func RenderPDF(font *pdf.Font, r Rendering) ([]byte, error) {
	if font == nil || r.T == nil {
		return nil, kernel.Wrap(errors.New("no font or no messages"), "wallet: render")
	}
	if r.Lang != "en" && r.Lang != "ar" {
		r.Lang = "vi"
	}
	rows := r.claimRows()
	wr := &wrapper{f: font, memo: map[wrapKey][]string{}}
	var page *pdfPage
	for _, s := range []float64{1, 0.92, 0.84, 0.77, pdfMinScale} {
		if page = r.layout(wr, s, rows, len(rows)); page.fits {
			break
		}
	}
	if !page.fits {
		// The most claims that fit at the smallest scale; fewer always fit
		// if more do.
		keep := sort.Search(len(rows), func(k int) bool { return !r.layout(wr, pdfMinScale, rows, k+1).fits })
		page = r.layout(wr, pdfMinScale, rows, keep)
	}
	return pdf.WritePage(pdf.Page{Font: font, Texts: page.texts, Rules: page.rules, Lang: "vi",
		Title: r.Type.Name("vi") + " – " + r.Document.ID})
}

// pdfRow is a line of the page's table: a label in Vietnamese, the same in
// the reader's language ("" when that is Vietnamese), and the value.
type pdfRow struct{ vi, other, value string }

// word is a fixed word of the page in lang.
func (r Rendering) word(lang, key string, args ...any) string {
	return r.T(lang, "walletpdf.pdf."+key, args...)
}

// other is the word in the reader's language, or "" when they read
// Vietnamese.
func (r Rendering) other(key string, args ...any) string {
	if r.Lang == "vi" {
		return ""
	}
	return r.word(r.Lang, key, args...)
}

// both is a word in Vietnamese and, after a slash, in the reader's language.
func (r Rendering) both(key string) string {
	if o := r.other(key); o != "" {
		return r.word("vi", key) + " / " + o
	}
	return r.word("vi", key)
}

// factRows are the rows about the document itself.
func (r Rendering) factRows() []pdfRow {
	d := r.Document
	expires := r.both("no_expiry")
	if !d.ExpiresAt.IsZero() {
		expires = d.ExpiresAt.In(kernel.Zone()).Format(pdfDateLayout)
	}
	row := func(key, value string) pdfRow {
		return pdfRow{vi: r.word("vi", key), other: r.other(key), value: value}
	}
	return []pdfRow{
		row("agency", r.AgencyName),
		row("holder", r.Holder),
		row("issued", d.IssuedAt.In(kernel.Zone()).Format(pdfDateLayout)),
		row("expires", expires),
		row("id", d.ID),
	}
}

// claimRows are the claims in the type's order, then any others by name.
func (r Rendering) claimRows() []pdfRow {
	t := r.Type
	var out []pdfRow
	add := func(name string, kind string) {
		v, ok := r.Claims[name]
		if !ok {
			return
		}
		row := pdfRow{vi: t.Label(name, "vi"), value: r.claimText(kind, v)}
		if r.Lang != "vi" {
			row.other = t.Label(name, r.Lang)
		}
		out = append(out, row)
	}
	known := map[string]bool{}
	for _, c := range t.Claims {
		known[c.Name] = true
		add(c.Name, c.Type)
	}
	var rest []string
	for k := range r.Claims {
		if !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		add(k, "")
	}
	return out
}

// claimText writes a claim's value for the page: dates as DD/MM/YYYY,
// yes and no in words, anything else as the wallet's pages show it, on
// one line.
func (r Rendering) claimText(kind string, v any) string {
	if b, ok := v.(bool); ok {
		if b {
			return r.both("yes")
		}
		return r.both("no")
	}
	s := claimValue(v, "", "")
	if kind == ClaimDate {
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			s = d.Format(pdfDateLayout)
		}
	}
	return strings.Join(strings.FieldsFunc(s, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }), " ")
}

// pdfPage is a laid-out page and whether everything asked fitted.
type pdfPage struct {
	texts []pdf.PageText
	rules []pdf.PageRule
	fits  bool
}

// pen lays lines out down the page.
type pen struct {
	*wrapper
	page *pdfPage
}

func (p pen) text(s string, x, y, size float64, align pdf.Align, ink pdf.Color) {
	p.page.texts = append(p.page.texts, pdf.PageText{Text: s, X: x, Y: y, Size: size, Align: align, Color: ink})
}

func (p pen) rule(y, width float64, ink pdf.Color) {
	p.page.rules = append(p.page.rules, pdf.PageRule{X1: pdfMargin, Y1: y, X2: pdf.A4Width - pdfMargin, Y2: y, Width: width, Color: ink})
}

// lineGap is the distance between baselines of text of size points.
func lineGap(size float64) float64 { return size * 1.3 }

// paragraph writes s wrapped to width from top (the top of its first
// line) down, aligned left at x or, when rtl, right at x+width, and
// returns where the next line's top is.
func (p pen) paragraph(s string, x, width, top, size float64, maxLines int, rtl bool, ink pdf.Color) float64 {
	lines := p.wrap(s, size, width, maxLines)
	for i, l := range lines {
		base := top - p.f.Ascent(size) - float64(i)*lineGap(size)
		if rtl {
			p.text(l, x+width, base, size, pdf.AlignRight, ink)
		} else {
			p.text(l, x, base, size, pdf.AlignLeft, ink)
		}
	}
	return top - float64(len(lines))*lineGap(size)
}

// layout places everything at scale s with the first keep claims; fits
// says whether it all stands above the footer.
func (r Rendering) layout(wr *wrapper, s float64, claims []pdfRow, keep int) *pdfPage {
	page := &pdfPage{}
	p := pen{wrapper: wr, page: page}
	f := wr.f
	rtl := r.Lang == "ar"
	left, width := pdfMargin, pdf.A4Width-2*pdfMargin

	// The footer first, from the bottom up: what the page is sealed by
	// and where to check it, which must never be crowded out.
	sealedVi := r.word("vi", "sealed", r.AgencyName, r.VerifyURL)
	sealedOther := r.other("sealed", r.AgencyName, r.VerifyURL)
	viLines := p.wrap(sealedVi, 8.5, width, pdfFooterMax)
	otherLines := p.wrap(sealedOther, 8, width, pdfFooterMax)
	footerH := float64(len(viLines))*lineGap(8.5) + float64(len(otherLines))*lineGap(8)
	top := pdfMargin + footerH
	footerRule := top + 6
	p.rule(footerRule, 0.6, inkTitle)
	top = p.paragraph(sealedVi, left, width, top, 8.5, pdfFooterMax, false, inkText)
	p.paragraph(sealedOther, left, width, top, 8, pdfFooterMax, rtl, inkLabel)

	// The head: the agency, the type's name in Vietnamese and in the
	// reader's language.
	top = pdf.A4Height - pdfMargin
	top = p.paragraph(r.AgencyName, left, width, top, 10*s, pdfTitleMax, false, inkLabel)
	top -= 4 * s
	top = p.paragraph(r.Type.Name("vi"), left, width, top, 18*s, pdfTitleMax, false, inkTitle)
	if r.Lang != "vi" {
		top = p.paragraph(r.Type.Name(r.Lang), left, width, top, 12*s, pdfTitleMax, rtl, inkLabel)
	}
	top -= 6 * s
	p.rule(top, 0.8, inkTitle)
	top -= 10 * s

	for _, row := range r.factRows() {
		top = p.row(row, top, s, rtl)
	}
	top -= 8 * s
	base := top - f.Ascent(12*s)
	p.text(r.word("vi", "claims"), left, base, 12*s, pdf.AlignLeft, inkTitle)
	if o := r.other("claims"); o != "" {
		if rtl {
			p.text(o, left+width, base, 12*s, pdf.AlignRight, inkLabel)
		} else {
			p.text(o, left+f.TextWidth(r.word("vi", "claims")+"  ", 12*s), base, 12*s, pdf.AlignLeft, inkLabel)
		}
	}
	top -= lineGap(12*s) + 4*s
	for _, row := range claims[:keep] {
		top = p.row(row, top, s, rtl)
	}
	if keep < len(claims) {
		more := r.word("vi", "more", len(claims)-keep)
		if o := r.other("more", len(claims)-keep); o != "" {
			more += " " + o
		}
		top = p.paragraph(more, left, width, top-4*s, 9*s, 2, false, inkLabel)
	}
	page.fits = top >= footerRule+8
	return page
}

// row writes one row of the table from top down and returns the top of
// the next: the Vietnamese label, the reader's label under it, and the
// value beside them; a light rule under the row.
func (p pen) row(row pdfRow, top, s float64, rtl bool) float64 {
	valueSize, labelSize, otherSize := 11*s, 9*s, 8*s
	valueX := pdfMargin + pdfLabelW + pdfGap
	valueW := pdf.A4Width - pdfMargin - valueX
	// The first lines of label and value share a baseline.
	shift := p.f.Ascent(valueSize) - p.f.Ascent(labelSize)
	labelEnd := p.paragraph(row.vi, pdfMargin, pdfLabelW, top-shift, labelSize, 3, false, inkLabel)
	if row.other != "" {
		labelEnd = p.paragraph(row.other, pdfMargin, pdfLabelW, labelEnd, otherSize, 3, rtl, inkLabel)
	}
	valueEnd := p.paragraph(row.value, valueX, valueW, top, valueSize, pdfValueMax, false, inkText)
	bottom := min(labelEnd, valueEnd) - 3*s
	p.page.rules = append(p.page.rules, pdf.PageRule{X1: pdfMargin, Y1: bottom, X2: pdf.A4Width - pdfMargin, Y2: bottom, Width: 0.4, Color: inkRule})
	return bottom - 5*s
}

// wrapper wraps text for one rendering, remembering each paragraph: the
// layout is tried at several sizes and with fewer claims, and most
// paragraphs come back unchanged.
type wrapper struct {
	f    *pdf.Font
	memo map[wrapKey][]string
}

type wrapKey struct {
	s           string
	size, width float64
	maxLines    int
}

// wrap breaks s into lines at most width wide at size: at spaces, and
// inside a word only when the word alone is wider than a line. Past
// maxLines lines the last kept one ends with "…". Widths add up over
// words, since shaping never joins across a space; the work stops one
// line past maxLines, so a value of any length costs a few lines.
func (wr *wrapper) wrap(s string, size, width float64, maxLines int) []string {
	k := wrapKey{s, size, width, maxLines}
	if lines, ok := wr.memo[k]; ok {
		return lines
	}
	f := wr.f
	full := func(lines []string) bool { return len(lines) > maxLines }
	space := f.TextWidth(" ", size)
	var lines []string
	cur, curW := "", 0.0
	for _, w := range strings.Fields(s) {
		if full(lines) {
			break
		}
		ww := f.TextWidth(w, size)
		if cur != "" && curW+space+ww <= width {
			cur, curW = cur+" "+w, curW+space+ww
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
		}
		for ww > width && !full(lines) {
			head, rest := splitWord(f, w, size, width)
			lines = append(lines, head)
			w = rest
			ww = f.TextWidth(w, size)
		}
		cur, curW = w, ww
	}
	if cur != "" && !full(lines) {
		lines = append(lines, cur)
	}
	if full(lines) {
		lines = lines[:maxLines]
		lines[maxLines-1] = ellipsis(f, lines[maxLines-1], size, width)
	}
	wr.memo[k] = lines
	return lines
}

// splitWord cuts the longest head of w that fits width (at least one
// letter), never between a letter and its combining marks. It gallops
// to a length too wide, then halves: the cost is that of a line, not of
// the word.
func splitWord(f *pdf.Font, w string, size, width float64) (string, string) {
	rs := []rune(w)
	tooWide := func(n int) bool { return f.TextWidth(string(rs[:n]), size) > width }
	hi := 1
	for hi < len(rs) && !tooWide(hi) {
		hi = min(2*hi, len(rs))
	}
	lo := hi / 2 // fits (or is 0)
	cut := lo + sort.Search(hi-lo, func(i int) bool { return tooWide(lo + i + 1) })
	cut = max(cut, 1)
	for cut < len(rs) && cut > 1 && unicode.Is(unicode.Mn, rs[cut]) {
		cut--
	}
	return string(rs[:cut]), string(rs[cut:])
}

// ellipsis ends line with "…", taking letters off until it fits width.
func ellipsis(f *pdf.Font, line string, size, width float64) string {
	rs := []rune(strings.TrimRight(line, " "))
	for len(rs) > 0 && f.TextWidth(string(rs)+"…", size) > width {
		rs = rs[:len(rs)-1]
	}
	for len(rs) > 0 && unicode.Is(unicode.Mn, rs[len(rs)-1]) {
		rs = rs[:len(rs)-1]
	}
	return strings.TrimRight(string(rs), " ") + "…"
}

// pdfFilename is the name a downloaded PDF is saved under: the type's code
// and the document's ID, in letters, digits, '-' and '_' only.
func pdfFilename(typeCode, id string) string {
	name := typeCode + "-" + id
	var b strings.Builder
	for _, c := range name {
		if c < utf8.RuneSelf && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "document.pdf"
	}
	return b.String() + ".pdf"
}
