package learning

import (
	"html"
	"regexp"
	"strings"
)

// langRE is a language tag a span may carry, so that screen readers read
// a bilingual question's English in an English voice.
var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)

// The HTML cleaner keeps an allow-list of harmless elements of an HTML
// fragment (a question imported from Moodle in its [html] or [moodle]
// format) and drops everything else: scripts and styles with their content,
// event attributes, images, frames, forms. It is safe by construction:
// every element it writes is one of its own, written by itself with only
// the attributes it checked, and every piece of text is unescaped and
// escaped again, so a tokenizer that misreads a broken fragment loses text
// but never lets markup through.

// cleanNote is something the cleaner dropped that the importer reports.
type cleanNote int

const (
	notePluginFile cleanNote = iota + 1 // an image or link to a Moodle file (@@PLUGINFILE@@)
	noteImage                           // an image: questions show none from outside the course
	noteScript                          // a script, style, frame, form or event attribute
)

// allowedElements maps an HTML element to the element written for it ("" to
// keep only its content).
var allowedElements = map[string]string{
	"b": "strong", "strong": "strong", "i": "em", "em": "em", "u": "u", "s": "s", "del": "s", "strike": "s",
	"sub": "sub", "sup": "sup", "br": "br", "p": "p", "div": "p", "ul": "ul", "ol": "ol", "li": "li",
	"code": "code", "pre": "pre", "blockquote": "blockquote", "h1": "p", "h2": "p", "h3": "p", "h4": "p",
	"h5": "p", "h6": "p", "a": "a", "tt": "code", "kbd": "code", "mark": "mark", "small": "small",
	"span": "span",
}

// rawTextElements are dropped with everything inside them.
var rawTextElements = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true, "xmp": true, "iframe": true, "noembed": true,
	"noframes": true, "noscript": true, "template": true, "svg": true, "math": true, "object": true,
	"select": true, "applet": true, "head": true,
}

// maxCleanDepth bounds the nesting the cleaner keeps; deeper tags are dropped.
const maxCleanDepth = 32

// cleanHTML returns the fragment with only allow-listed elements, and what it dropped.
func cleanHTML(in string) (string, []cleanNote) {
	var b strings.Builder
	var notes []cleanNote
	note := func(n cleanNote) {
		for _, x := range notes {
			if x == n {
				return
			}
		}
		notes = append(notes, n)
	}
	var open []string // elements written and not yet closed
	text := func(s string) { b.WriteString(html.EscapeString(html.UnescapeString(s))) }
	i := 0
	for i < len(in) {
		lt := strings.IndexByte(in[i:], '<')
		if lt < 0 {
			text(in[i:])
			break
		}
		text(in[i : i+lt])
		i += lt
		rest := in[i:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				i = len(in)
			} else {
				i += 4 + end + 3
			}
			continue
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				i = len(in)
			} else {
				i += end + 1
			}
			continue
		case len(rest) > 2 && rest[1] == '/' && isASCIILetter(rest[2]):
			name, n := tagName(rest[2:])
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				i = len(in)
			} else {
				i += end + 1
			}
			_ = n
			out := allowedElements[name]
			if out == "" || out == "br" {
				continue
			}
			for k := len(open) - 1; k >= 0; k-- {
				if open[k] == out {
					for len(open) > k {
						b.WriteString("</" + open[len(open)-1] + ">")
						open = open[:len(open)-1]
					}
					break
				}
			}
			continue
		case len(rest) > 1 && isASCIILetter(rest[1]):
			name, n := tagName(rest[1:])
			attrs, consumed := readAttributes(rest[1+n:])
			i += 1 + n + consumed
			if rawTextElements[name] {
				note(noteScript)
				closeTag := "</" + name
				end := indexFold(in[i:], closeTag)
				if end < 0 {
					i = len(in)
				} else {
					i += end
					if gt := strings.IndexByte(in[i:], '>'); gt < 0 {
						i = len(in)
					} else {
						i += gt + 1
					}
				}
				continue
			}
			if name == "img" || name == "image" || name == "picture" || name == "video" || name == "audio" || name == "source" {
				if strings.Contains(attrs["src"], "@@PLUGINFILE@@") || strings.Contains(attrs["srcset"], "@@PLUGINFILE@@") {
					note(notePluginFile)
				} else {
					note(noteImage)
				}
				continue
			}
			for k := range attrs {
				if strings.HasPrefix(k, "on") {
					note(noteScript)
				}
			}
			if name == "form" || name == "input" || name == "button" || name == "embed" || name == "frame" || name == "frameset" || name == "link" || name == "meta" || name == "base" {
				note(noteScript)
				continue
			}
			out := allowedElements[name]
			if out == "span" && !langRE.MatchString(attrs["lang"]) {
				out = "" // a span says nothing but its language
			}
			if out == "" {
				continue
			}
			if out == "br" {
				b.WriteString("<br>")
				continue
			}
			if len(open) >= maxCleanDepth {
				continue
			}
			if out == "a" {
				href := strings.TrimSpace(attrs["href"])
				if strings.Contains(href, "@@PLUGINFILE@@") {
					note(notePluginFile)
					continue
				}
				if !safeExternalURL(href) {
					continue
				}
				b.WriteString(`<a href="` + html.EscapeString(href) + `" rel="noopener noreferrer">`)
			} else if out == "span" {
				b.WriteString(`<span lang="` + attrs["lang"] + `">`)
			} else {
				b.WriteString("<" + out + ">")
			}
			open = append(open, out)
		default:
			b.WriteString("&lt;")
			i++
		}
	}
	for k := len(open) - 1; k >= 0; k-- {
		b.WriteString("</" + open[k] + ">")
	}
	return strings.TrimSpace(b.String()), notes
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// tagName reads an element's name (lower-cased) and how many bytes it took.
func tagName(s string) (string, int) {
	n := 0
	for n < len(s) && (isASCIILetter(s[n]) || s[n] >= '0' && s[n] <= '9' || s[n] == '-' || s[n] == ':') {
		n++
	}
	return strings.ToLower(s[:n]), n
}

// readAttributes reads a start tag's attributes up to and including its
// '>', returning them by lower-cased name (values unescaped) and the bytes
// consumed. A tag without '>' consumes everything.
func readAttributes(s string) (map[string]string, int) {
	attrs := map[string]string{}
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '>':
			return attrs, i + 1
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/':
			i++
			continue
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != '>' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' && s[i] != '\f' && s[i] != '/' {
			i++
		}
		name := strings.ToLower(s[start:i])
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		val := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return attrs, len(s)
				}
				val = s[i+1 : i+1+end]
				i += end + 2
			} else {
				vs := i
				for i < len(s) && s[i] != '>' && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r' {
					i++
				}
				val = s[vs:i]
			}
		}
		if name != "" && len(attrs) < 64 {
			attrs[name] = html.UnescapeString(val)
		}
	}
	return attrs, len(s)
}

// indexFold is strings.Index ignoring ASCII case.
func indexFold(s, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}

// safeExternalURL accepts the links a page may carry to elsewhere: http,
// https, mailto and tel, with no control characters or spaces.
func safeExternalURL(u string) bool {
	if u == "" || len(u) > 2000 {
		return false
	}
	for i := 0; i < len(u); i++ {
		if u[i] <= ' ' || u[i] == 0x7f || u[i] == '"' || u[i] == '<' || u[i] == '>' || u[i] == '\\' {
			return false
		}
	}
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "mailto:") || strings.HasPrefix(l, "tel:")
}
