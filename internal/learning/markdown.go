package learning

import (
	"html"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A small Markdown renderer for lessons and for question texts in the GIFT
// [markdown] format: ATX headings, paragraphs, emphasis, ordered and
// unordered lists (nested by indentation), links, images from the course,
// block quotes, code spans, fenced code blocks and thematic breaks. It
// writes only its own elements: raw HTML in the source is escaped and
// reported (the lesson importer refuses it), links go only to http, https,
// mailto and tel or where the caller's resolver says, images only where
// the caller's resolver says. Every text is escaped once, here.

// MarkdownOptions say how a document's links and images resolve.
type MarkdownOptions struct {
	// HeadingShift moves headings down: 1 makes "#" an <h2>.
	HeadingShift int
	// MinHeading is the highest heading written: 2 on a page whose <h1>
	// is the lesson's title, so "#" and "##" are both <h2>.
	MinHeading int
	// Link resolves a link that is not to http, https, mailto or tel (a
	// neighbouring lesson); nil or false: refused.
	Link func(dest string) (string, bool)
	// Image resolves an image's source (a file of the course); nil or
	// false: refused.
	Image func(src string) (string, bool)
}

// MarkdownProblem is something in a document that was not rendered as
// written: raw HTML, a link or an image that does not resolve.
type MarkdownProblem struct {
	Line int
	Kind string // "raw_html", "bad_link", "bad_image", "too_deep"
	Text string // the offending text, shortened
}

// maxMarkdownDepth bounds the nesting of block quotes and lists, and of
// emphasis inside emphasis.
const maxMarkdownDepth = 12

type mdRenderer struct {
	o        MarkdownOptions
	b        strings.Builder
	problems []MarkdownProblem
}

// RenderMarkdown renders src to HTML and lists what it refused.
func RenderMarkdown(src string, o MarkdownOptions) (string, []MarkdownProblem) {
	src = strings.ToValidUTF8(strings.ReplaceAll(strings.ReplaceAll(src, "\r\n", "\n"), "\r", "\n"), "\uFFFD")
	src = strings.ReplaceAll(src, "\x00", "\uFFFD")
	r := &mdRenderer{o: o}
	lines := strings.Split(src, "\n")
	ls := make([]mdLine, len(lines))
	for i, l := range lines {
		ls[i] = mdLine{text: expandTabs(l), no: i + 1}
	}
	r.blocks(ls, 0)
	return strings.TrimSpace(r.b.String()), r.problems
}

type mdLine struct {
	text string
	no   int
}

func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var b strings.Builder
	col := 0
	for _, c := range s {
		if c == '\t' {
			n := 4 - col%4
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(c)
		col++
	}
	return b.String()
}

func (r *mdRenderer) problem(line int, kind, text string) {
	if len(text) > 60 {
		cut := 60
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	r.problems = append(r.problems, MarkdownProblem{Line: line, Kind: kind, Text: text})
}

func indentOf(s string) int {
	n := 0
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// heading reports an ATX heading: its level and text.
func heading(s string) (int, string, bool) {
	if indentOf(s) > 3 {
		return 0, "", false
	}
	t := strings.TrimLeft(s, " ")
	n := 0
	for n < len(t) && t[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(t) && t[n] != ' ') {
		return 0, "", false
	}
	text := strings.TrimSpace(t[n:])
	// A closing sequence of #s is not part of the text.
	if trimmed := strings.TrimRight(text, "#"); trimmed == "" || strings.HasSuffix(trimmed, " ") {
		text = strings.TrimSpace(trimmed)
	}
	return n, text, true
}

func isRule(s string) bool {
	if indentOf(s) > 3 {
		return false
	}
	t := strings.TrimSpace(s)
	if len(t) < 3 {
		return false
	}
	c := t[0]
	if c != '-' && c != '*' && c != '_' {
		return false
	}
	count := 0
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case c:
			count++
		case ' ':
		default:
			return false
		}
	}
	return count >= 3
}

func isFence(s string) (string, bool) {
	if indentOf(s) > 3 {
		return "", false
	}
	t := strings.TrimLeft(s, " ")
	if strings.HasPrefix(t, "```") {
		return "```", true
	}
	if strings.HasPrefix(t, "~~~") {
		return "~~~", true
	}
	return "", false
}

func isQuote(s string) bool {
	return indentOf(s) <= 3 && strings.HasPrefix(strings.TrimLeft(s, " "), ">")
}

// listItem reports a list item's marker: ordered or not, its start number,
// the column where its content begins and the content.
func listItem(s string) (ordered bool, start int, contentCol int, content string, ok bool) {
	ind := indentOf(s)
	t := s[ind:]
	if len(t) >= 2 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ' {
		if isRule(s) {
			return false, 0, 0, "", false
		}
		col := ind + 2
		for col < len(s) && s[col] == ' ' && col < ind+5 {
			col++
		}
		return false, 0, col, s[min(col, len(s)):], true
	}
	if len(t) == 1 && (t[0] == '-' || t[0] == '*' || t[0] == '+') {
		return false, 0, ind + 2, "", true
	}
	n := 0
	for n < len(t) && n < 9 && t[n] >= '0' && t[n] <= '9' {
		n++
	}
	if n > 0 && n+1 < len(t) && (t[n] == '.' || t[n] == ')') && t[n+1] == ' ' {
		num, _ := strconv.Atoi(t[:n])
		col := ind + n + 2
		return true, num, col, s[min(col, len(s)):], true
	}
	return false, 0, 0, "", false
}

// startsBlock reports whether a line interrupts a paragraph.
func startsBlock(s string) bool {
	if _, _, ok := heading(s); ok {
		return true
	}
	if _, ok := isFence(s); ok {
		return true
	}
	if isRule(s) || isQuote(s) {
		return true
	}
	if _, _, _, content, ok := listItem(s); ok && strings.TrimSpace(content) != "" {
		return true
	}
	return false
}

// blocks renders a sequence of lines as blocks and returns how many
// paragraphs and other blocks it wrote.
func (r *mdRenderer) blocks(ls []mdLine, depth int) (paragraphs, others int) {
	if depth > maxMarkdownDepth {
		if len(ls) > 0 {
			r.problem(ls[0].no, "too_deep", ls[0].text)
		}
		var sb []string
		for _, l := range ls {
			sb = append(sb, l.text)
		}
		r.b.WriteString("<p>" + html.EscapeString(strings.Join(sb, "\n")) + "</p>\n")
		return 1, 0
	}
	i := 0
	for i < len(ls) {
		l := ls[i]
		switch {
		case isBlank(l.text):
			i++
		case func() bool { _, ok := isFence(l.text); return ok }():
			fence, _ := isFence(l.text)
			j := i + 1
			var code []string
			for j < len(ls) {
				if f, ok := isFence(ls[j].text); ok && f == fence && strings.Trim(strings.TrimSpace(ls[j].text), fence[:1]) == "" {
					break
				}
				code = append(code, ls[j].text)
				j++
			}
			r.b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
			others++
			i = j + 1
		case isRule(l.text):
			r.b.WriteString("<hr>\n")
			others++
			i++
		case func() bool { _, _, ok := heading(l.text); return ok }():
			level, text, _ := heading(l.text)
			level = min(max(level+r.o.HeadingShift, r.o.MinHeading, 1), 6)
			tag := "h" + strconv.Itoa(level)
			r.b.WriteString("<" + tag + ">")
			r.inline(text, l.no, 0)
			r.b.WriteString("</" + tag + ">\n")
			others++
			i++
		case isQuote(l.text):
			var inner []mdLine
			for i < len(ls) && isQuote(ls[i].text) {
				t := strings.TrimLeft(ls[i].text, " ")[1:]
				t = strings.TrimPrefix(t, " ")
				inner = append(inner, mdLine{text: t, no: ls[i].no})
				i++
			}
			r.b.WriteString("<blockquote>\n")
			r.blocks(inner, depth+1)
			r.b.WriteString("</blockquote>\n")
			others++
		case func() bool { _, _, _, _, ok := listItem(l.text); return ok }():
			i = r.list(ls, i, depth)
			others++
		default:
			var para []string
			first := l.no
			for i < len(ls) && !isBlank(ls[i].text) && (len(para) == 0 || !startsBlock(ls[i].text)) {
				para = append(para, strings.TrimLeft(ls[i].text, " "))
				i++
			}
			paragraphs++
			r.b.WriteString("<p>")
			r.inline(strings.Join(para, "\n"), first, 0)
			r.b.WriteString("</p>\n")
		}
	}
	return paragraphs, others
}

// list renders the list starting at ls[i] and returns the index after it.
func (r *mdRenderer) list(ls []mdLine, i, depth int) int {
	ordered, startNum, _, _, _ := listItem(ls[i].text)
	baseIndent := indentOf(ls[i].text)
	if ordered {
		if startNum != 1 {
			r.b.WriteString(`<ol start="` + strconv.Itoa(startNum) + `">` + "\n")
		} else {
			r.b.WriteString("<ol>\n")
		}
	} else {
		r.b.WriteString("<ul>\n")
	}
	loose := false
	type item struct{ lines []mdLine }
	var items []item
	for i < len(ls) {
		o, _, col, content, ok := listItem(ls[i].text)
		if !ok || o != ordered || indentOf(ls[i].text) != baseIndent {
			break
		}
		it := item{lines: []mdLine{{text: content, no: ls[i].no}}}
		i++
		for i < len(ls) {
			t := ls[i].text
			if isBlank(t) {
				// A blank line ends the item unless indented content follows.
				if i+1 < len(ls) && !isBlank(ls[i+1].text) && indentOf(ls[i+1].text) >= col {
					loose = true
					it.lines = append(it.lines, mdLine{text: "", no: ls[i].no})
					i++
					continue
				}
				break
			}
			if indentOf(t) >= col {
				it.lines = append(it.lines, mdLine{text: t[col:], no: ls[i].no})
				i++
				continue
			}
			if startsBlock(t) {
				break
			}
			// Lazy continuation of the item's paragraph.
			it.lines = append(it.lines, mdLine{text: strings.TrimLeft(t, " "), no: ls[i].no})
			i++
		}
		items = append(items, it)
		// Blank lines between items make the list loose; a blank line and
		// then no item ends it.
		j := i
		for j < len(ls) && isBlank(ls[j].text) {
			j++
		}
		if j > i {
			if j < len(ls) {
				if o2, _, _, _, ok2 := listItem(ls[j].text); ok2 && o2 == ordered && indentOf(ls[j].text) == baseIndent {
					loose = true
					i = j
					continue
				}
			}
			break
		}
	}
	for _, it := range items {
		// Each item is rendered apart, so that a tight item's lone
		// paragraph can lose its <p> without rewriting the whole page.
		sub := &mdRenderer{o: r.o}
		paras, _ := sub.blocks(it.lines, depth+1)
		out := strings.TrimSuffix(sub.b.String(), "\n")
		if !loose && paras == 1 && strings.HasPrefix(out, "<p>") {
			if k := strings.Index(out, "</p>"); k >= 0 {
				out = out[3:k] + out[k+4:]
			}
		}
		r.problems = append(r.problems, sub.problems...)
		r.b.WriteString("<li>" + out + "</li>\n")
	}
	if ordered {
		r.b.WriteString("</ol>\n")
	} else {
		r.b.WriteString("</ul>\n")
	}
	return i
}

// inline renders a span of text: escapes, code, links, images, emphasis.
func (r *mdRenderer) inline(s string, line, depth int) {
	in := &inliner{r: r, s: s, line: line, noCloser: map[string]bool{}}
	in.run(0, len(s), depth)
}

type inliner struct {
	r        *mdRenderer
	s        string
	line     int             // the line the span starts on
	noCloser map[string]bool // delimiters with no closer left in s
	noLinks  bool            // inside a link's label
	brackets map[int]int     // '[' -> its ']', made on first use
	parens   map[int]int     // '(' -> its ')'
	noGT     bool            // no '>' left in s: no autolink or tag
}

// report notes a problem at byte offset p; past a hundred problems the
// rest are not counted (each costs a scan for its line).
func (in *inliner) report(p int, kind, text string) {
	if len(in.r.problems) < 100 {
		in.r.problem(in.lineOf(p), kind, text)
	}
}

// lineOf is the line of byte offset p of the span.
func (in *inliner) lineOf(p int) int { return in.line + strings.Count(in.s[:p], "\n") }

func isPunct(c byte) bool { return strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", c) >= 0 }

func (in *inliner) text(s string) { in.r.b.WriteString(html.EscapeString(s)) }

// run renders s[from:to].
func (in *inliner) run(from, to, depth int) {
	s := in.s
	b := &in.r.b
	i := from
	textStart := from
	flush := func(end int) {
		if end > textStart {
			in.text(s[textStart:end])
		}
	}
	for i < to {
		c := s[i]
		switch {
		case c == '\\' && i+1 < to && s[i+1] == '\n':
			flush(i)
			b.WriteString("<br>\n")
			i += 2
			textStart = i
		case c == '\\' && i+1 < to && isPunct(s[i+1]):
			flush(i)
			in.text(s[i+1 : i+2])
			i += 2
			textStart = i
		case c == '`':
			n := 0
			for i+n < to && s[i+n] == '`' {
				n++
			}
			ticks := s[i : i+n]
			end := -1
			for k := i + n; k < to; {
				p := strings.Index(s[k:to], ticks)
				if p < 0 {
					break
				}
				p += k
				m := 0
				for p+m < to && s[p+m] == '`' {
					m++
				}
				if m == n {
					end = p
					break
				}
				k = p + m
			}
			if end < 0 {
				i += n
				continue
			}
			flush(i)
			code := strings.ReplaceAll(s[i+n:end], "\n", " ")
			if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.TrimSpace(code) != "" {
				code = code[1 : len(code)-1]
			}
			b.WriteString("<code>" + html.EscapeString(code) + "</code>")
			i = end + n
			textStart = i
		case c == '<':
			// An autolink <https://...>, or raw HTML, which is refused.
			end := -1
			if !in.noGT {
				if end = strings.IndexByte(s[i:to], '>'); end < 0 && to == len(s) {
					in.noGT = true
				}
			}
			if end > 0 {
				inner := s[i+1 : i+end]
				if safeExternalURL(inner) && !strings.ContainsAny(inner, " \n") {
					flush(i)
					b.WriteString(`<a href="` + html.EscapeString(inner) + `" rel="noopener noreferrer">` + html.EscapeString(inner) + "</a>")
					i += end + 1
					textStart = i
					continue
				}
			}
			if i+1 < to && (isASCIILetter(s[i+1]) || s[i+1] == '/' || s[i+1] == '!' || s[i+1] == '?') {
				frag := s[i:min(to, i+80)]
				if end >= 0 {
					frag = s[i : i+end+1]
				}
				in.report(i, "raw_html", frag)
			}
			i++ // escaped by flush
		case c == '!' && i+1 < to && s[i+1] == '[' && !in.noLinks:
			if end, alt, dest, ok := in.linkAt(i+1, to); ok {
				flush(i)
				src, ok := "", false
				if in.r.o.Image != nil {
					src, ok = in.r.o.Image(dest)
				}
				if !ok {
					in.report(i, "bad_image", dest)
					in.text(plainText(alt))
				} else {
					b.WriteString(`<img src="` + html.EscapeString(src) + `" alt="` + html.EscapeString(plainText(alt)) + `" loading="lazy">`)
				}
				i = end
				textStart = i
				continue
			}
			i++
		case c == '[' && !in.noLinks:
			if end, label, dest, ok := in.linkAt(i, to); ok {
				flush(i)
				href, ok := in.resolveLink(dest)
				if !ok {
					in.report(i, "bad_link", dest)
					in.sub(label, depth)
				} else {
					rel := ""
					if safeExternalURL(dest) {
						rel = ` rel="noopener noreferrer"`
					}
					b.WriteString(`<a href="` + html.EscapeString(href) + `"` + rel + ">")
					in.sub(label, depth)
					b.WriteString("</a>")
				}
				i = end
				textStart = i
				continue
			}
			i++
		case c == '*' || c == '_':
			n := 1
			if i+1 < to && s[i+1] == c {
				n = 2
			}
			delim := s[i : i+n]
			// An opener is followed by a non-space; "_" must not be inside a word.
			if i+n >= to || s[i+n] == ' ' || s[i+n] == '\n' || (c == '_' && i > 0 && isWordByte(s[i-1])) || depth >= maxMarkdownDepth || in.noCloser[delim] {
				i += n
				continue
			}
			closer := in.closer(delim, i+n, to)
			if closer < 0 {
				i += n
				continue
			}
			flush(i)
			tag := "em"
			if n == 2 {
				tag = "strong"
			}
			b.WriteString("<" + tag + ">")
			in.run(i+n, closer, depth+1)
			b.WriteString("</" + tag + ">")
			i = closer + n
			textStart = i
		default:
			i++
		}
	}
	flush(to)
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// closer finds the delimiter closing an emphasis opened before from: the
// same run, preceded by a non-space, and for "_" not followed by a word.
func (in *inliner) closer(delim string, from, to int) int {
	s := in.s
	k := from
	for k < to {
		p := strings.Index(s[k:to], delim)
		if p < 0 {
			if to == len(s) {
				in.noCloser[delim] = true
			}
			return -1
		}
		p += k
		// Skip a longer run ("**" when looking for "*").
		run := 0
		for p+run < len(s) && s[p+run] == delim[0] {
			run++
		}
		before := s[p-1]
		ok := before != ' ' && before != '\n' && p > from
		if len(delim) == 1 && run != 1 {
			ok = false
		}
		if ok && delim[0] == '_' && p+len(delim) < len(s) && isWordByte(s[p+len(delim)]) {
			ok = false
		}
		if ok {
			return p
		}
		k = p + max(run, 1)
	}
	return -1
}

// matches pairs every open bracket of s with its close, skipping escaped
// ones, in one pass: finding a link's end is then a lookup, not a scan
// (a line of "[" would otherwise take quadratic time).
func matches(s string, open, close byte) map[int]int {
	m := map[int]int{}
	var stack []int
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case '\\':
			k++
		case open:
			stack = append(stack, k)
		case close:
			if len(stack) > 0 {
				m[stack[len(stack)-1]] = k
				stack = stack[:len(stack)-1]
			}
		}
	}
	return m
}

// linkAt reads "[label](dest)" at s[i] == '['; end is past the ')'. The
// destination may hold balanced parentheses.
func (in *inliner) linkAt(i, to int) (end int, label string, dest string, ok bool) {
	s := in.s
	if in.brackets == nil {
		in.brackets, in.parens = matches(s, '[', ']'), matches(s, '(', ')')
	}
	j, found := in.brackets[i]
	if !found || j+1 >= to || s[j+1] != '(' {
		return 0, "", "", false
	}
	k, found := in.parens[j+1]
	if !found || k >= to {
		return 0, "", "", false
	}
	inside := strings.TrimSpace(s[j+2 : k])
	if strings.Contains(inside, "\n\n") {
		return 0, "", "", false
	}
	if strings.HasPrefix(inside, "<") && strings.Contains(inside, ">") {
		inside = inside[1:strings.IndexByte(inside, '>')]
	} else if sp := strings.IndexAny(inside, " \n"); sp >= 0 {
		inside = inside[:sp] // a title after the destination is not kept
	}
	return k + 1, s[i+1 : j], inside, true
}

// sub renders a link's label: the same inline rules without links.
func (in *inliner) sub(label string, depth int) {
	// Links inside links are flattened: their brackets stay text.
	inner := &inliner{r: in.r, s: label, line: in.line, noCloser: map[string]bool{}, noLinks: true}
	inner.run(0, len(label), depth+1)
}

func (in *inliner) resolveLink(dest string) (string, bool) {
	if safeExternalURL(dest) {
		return dest, true
	}
	if in.r.o.Link != nil && dest != "" && !strings.Contains(dest, ":") {
		return in.r.o.Link(dest)
	}
	return "", false
}

// plainText is a label without its Markdown marks, for an image's alt text.
func plainText(s string) string {
	return strings.NewReplacer("*", "", "_", "", "`", "", "[", "", "]", "", "\\", "").Replace(s)
}
