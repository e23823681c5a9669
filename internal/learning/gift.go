package learning

import (
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"civitas/internal/kernel"
)

// The GIFT format of Moodle's question banks, as Moodle reads it
// (question/format/gift): questions separated by blank lines, // comments,
// $CATEGORY: lines, ::name::, the answers between { and }, = right and ~
// wrong or weighted (%50%) answers, # feedback per answer, #### general
// feedback, the escapes \: \= \~ \# \{ \} \\ \n, and a text format in
// brackets ([html], [moodle], [plain], [markdown]) before any text.
// Multiple choice (one answer, or several with weights), true/false, short
// answer, matching and numerical questions are imported; essays and
// descriptions, which cannot be scored here, are skipped with a warning.
// HTML is cleaned to an allow-list; files from Moodle (@@PLUGINFILE@@) are
// left out with a warning naming the question. A malformed question stops
// the import with its line number.

// Limits of a GIFT file.
const (
	MaxGIFTBytes        = 1 << 20
	maxGIFTQuestions    = 5000
	maxGIFTQuestionText = 20000
	maxGIFTAnswers      = 50
)

// Warning is something an import left out or changed, naming where.
type Warning struct {
	Line int    // 0 when it concerns the whole file or course
	Key  string // catalogue key; its arguments are Args
	Args []any
}

// GIFT is what a GIFT file gives.
type GIFT struct {
	Questions []Question
	Warnings  []Warning
}

// Placeholders for escaped control characters while a question is cut up:
// private-use runes, removed from the input beforehand.
const escBase = '\uE000'

var escChars = []byte{':', '#', '=', '{', '}', '~', 'n', '\\'}

func escapeGIFT(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r >= escBase && r < escBase+16 {
			b.WriteRune(utf8.RuneError)
			i += size
			continue
		}
		if r == '\\' && i+1 < len(s) {
			if k := strings.IndexByte(string(escChars), s[i+1]); k >= 0 {
				b.WriteRune(escBase + rune(k))
				i += 2
				continue
			}
		}
		b.WriteRune(r)
		i += size
	}
	return b.String()
}

func unescapeGIFT(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= escBase && r < escBase+16 }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= escBase && r < escBase+rune(len(escChars)) {
			c := escChars[r-escBase]
			if c == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(c)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// giftBlock is one question's lines, comments removed.
type giftBlock struct {
	text  string
	lines []int // the file's line number of each line of text
}

// lineAt is the file's line of byte offset p of the block's text.
func (b giftBlock) lineAt(p int) int {
	n := strings.Count(b.text[:min(p, len(b.text))], "\n")
	return b.lines[min(n, len(b.lines)-1)]
}

func splitGIFT(src string) []giftBlock {
	var out []giftBlock
	var cur giftBlock
	var parts []string
	flush := func() {
		if len(parts) > 0 {
			cur.text = strings.Join(parts, "\n")
			out = append(out, cur)
		}
		cur, parts = giftBlock{}, nil
	}
	for i, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			flush()
			continue
		}
		if strings.HasPrefix(t, "//") {
			continue
		}
		parts = append(parts, t)
		cur.lines = append(cur.lines, i+1)
	}
	flush()
	return out
}

var giftWeight = regexp.MustCompile(`^%(-?[0-9]{1,3}(?:\.[0-9]*)?)%`)

// giftParser holds what a file's questions share.
type giftParser struct {
	bank     string
	category string
	out      GIFT
}

// ParseGIFT reads a GIFT file's questions for a bank. It fails at the
// first malformed question with an Invalid error whose first argument is
// the line.
func ParseGIFT(src []byte, bank string) (GIFT, error) {
	if len(src) > MaxGIFTBytes {
		return GIFT{}, kernel.E(kernel.Invalid, "learning.gift.too_large", MaxGIFTBytes>>10)
	}
	s := strings.TrimPrefix(string(src), "\uFEFF")
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	if !utf8.ValidString(s) {
		line := 1 + strings.Count(s[:firstInvalidUTF8(s)], "\n")
		return GIFT{}, kernel.E(kernel.Invalid, "learning.gift.not_utf8", line)
	}
	p := &giftParser{bank: bank}
	for _, blk := range splitGIFT(s) {
		if err := p.question(blk); err != nil {
			return GIFT{}, err
		}
		if len(p.out.Questions) > maxGIFTQuestions {
			return GIFT{}, kernel.E(kernel.Invalid, "learning.gift.too_many", blk.lines[0], maxGIFTQuestions)
		}
	}
	if len(p.out.Questions) == 0 {
		return GIFT{}, kernel.E(kernel.Invalid, "learning.gift.empty")
	}
	return p.out, nil
}

func firstInvalidUTF8(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// label names a question in messages: its name, or the start of its text.
func label(name, text string) string {
	if name != "" {
		return name
	}
	t := strings.Join(strings.Fields(plainOf(text)), " ")
	if utf8.RuneCountInString(t) > 40 {
		t = string([]rune(t)[:40]) + "…"
	}
	return t
}

func (p *giftParser) warn(line int, key string, args ...any) {
	if len(p.out.Warnings) < 500 {
		p.out.Warnings = append(p.out.Warnings, Warning{Line: line, Key: key, Args: append([]any{line}, args...)})
	}
}

func (p *giftParser) question(blk giftBlock) error {
	blk.text = escapeGIFT(blk.text) // lineAt counts in the escaped text
	text := blk.text
	line := blk.lines[0]
	if strings.HasPrefix(text, "$CATEGORY:") {
		p.category = strings.TrimSpace(unescapeGIFT(text[len("$CATEGORY:"):]))
		return nil
	}
	q := Question{Bank: p.bank, Category: p.category, Line: line}
	if strings.HasPrefix(text, "::") {
		if end := strings.Index(text[2:], "::"); end >= 0 {
			q.Name = cleanName(unescapeGIFT(text[2 : 2+end]))
			text = strings.TrimSpace(text[2+end+2:])
		} else {
			text = text[2:]
		}
	}
	open, closing := strings.IndexByte(text, '{'), strings.IndexByte(text, '}')
	offset := len(blk.text) - len(text) // where text starts in the block
	lineOf := func(p int) int { return blk.lineAt(offset + p) }
	switch {
	case open < 0 && closing < 0:
		p.warn(line, "learning.gift.warn_description", label(q.Name, unescapeGIFT(text)))
		return nil
	case open < 0:
		return kernel.E(kernel.Invalid, "learning.gift.no_opening_brace", lineOf(closing), label(q.Name, unescapeGIFT(text)))
	case closing < 0:
		return kernel.E(kernel.Invalid, "learning.gift.no_closing_brace", lineOf(open), label(q.Name, unescapeGIFT(text[:open])))
	case closing < open:
		return kernel.E(kernel.Invalid, "learning.gift.no_opening_brace", lineOf(closing), label(q.Name, unescapeGIFT(text)))
	}
	answers := text[open+1 : closing]
	if k := strings.IndexByte(answers, '{'); k >= 0 {
		return kernel.E(kernel.Invalid, "learning.gift.nested_brace", lineOf(open+1+k), label(q.Name, unescapeGIFT(text[:open])))
	}
	after := text[closing+1:]
	if k := strings.IndexAny(after, "{}"); k >= 0 {
		return kernel.E(kernel.Invalid, "learning.gift.two_answer_sections", lineOf(closing+1+k), label(q.Name, unescapeGIFT(text[:open])))
	}
	var questionText string
	if strings.TrimSpace(after) == "" {
		questionText = text[:open]
	} else {
		questionText = text[:open] + "_____" + after // the missing-word form
	}
	answers = strings.TrimSpace(answers)
	general := ""
	if k := strings.LastIndex(answers, "####"); k >= 0 {
		general = answers[k+4:]
		answers = strings.TrimSpace(answers[:k])
	}
	format, body := textFormat(strings.TrimSpace(questionText), "moodle")
	if len(body) > maxGIFTQuestionText {
		return kernel.E(kernel.Invalid, "learning.gift.text_too_long", line, label(q.Name, ""))
	}
	var notes []cleanNote
	q.Text = toHTML(format, body, &notes)
	if strings.TrimSpace(plainOf(q.Text)) == "" {
		return kernel.E(kernel.Invalid, "learning.gift.no_text", line, q.Name)
	}
	name := label(q.Name, q.Text)
	if g := strings.TrimSpace(general); g != "" {
		gf, gb := textFormat(g, format)
		q.General = toHTML(gf, gb, &notes)
	}
	if strings.Count(answers, "~")+strings.Count(answers, "=") > maxGIFTAnswers {
		return kernel.E(kernel.Invalid, "learning.gift.too_many_answers", line, name, maxGIFTAnswers)
	}
	var err error
	switch {
	case answers == "":
		p.warn(line, "learning.gift.warn_essay", name)
		return nil
	case answers[0] == '#':
		err = p.numerical(&q, answers[1:], format, line, name, &notes)
	case strings.Contains(answers, "~"):
		err = p.choice(&q, answers, format, line, name, &notes)
	case strings.Contains(answers, "=") && strings.Contains(answers, "->"):
		err = p.matching(&q, answers, format, line, name, &notes)
	default:
		tf := answers
		if k := strings.IndexByte(answers, '#'); k > 0 {
			tf = strings.TrimSpace(answers[:k])
		}
		switch tf {
		case "T", "TRUE", "F", "FALSE":
			p.trueFalse(&q, answers, format, &notes)
		default:
			err = p.short(&q, answers, format, line, name, &notes)
		}
	}
	if err != nil {
		return err
	}
	for _, n := range notes {
		switch n {
		case notePluginFile:
			p.warn(line, "learning.gift.warn_pluginfile", name)
		case noteImage:
			p.warn(line, "learning.gift.warn_image", name)
		case noteScript:
			p.warn(line, "learning.gift.warn_script", name)
		case noteRawHTML:
			p.warn(line, "learning.gift.warn_raw_html", name)
		}
	}
	p.out.Questions = append(p.out.Questions, q)
	return nil
}

// noteRawHTML: Markdown text with raw HTML, which was escaped.
const noteRawHTML cleanNote = 100

func cleanName(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 200 {
		s = string([]rune(s)[:200])
	}
	return s
}

// textFormat splits a leading [html], [moodle], [plain] or [markdown] off
// a text; any other bracket is part of the text.
func textFormat(s, def string) (string, string) {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			switch f := s[1:end]; f {
			case "html", "moodle", "plain", "markdown":
				return f, s[end+1:]
			}
		}
	}
	return def, s
}

// toHTML makes a text of a format into safe HTML.
func toHTML(format, s string, notes *[]cleanNote) string {
	s = strings.TrimSpace(unescapeGIFT(s))
	addNotes := func(ns []cleanNote) {
		for _, n := range ns {
			if !containsNote(*notes, n) {
				*notes = append(*notes, n)
			}
		}
	}
	switch format {
	case "plain":
		return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>")
	case "markdown":
		out, problems := RenderMarkdown(s, MarkdownOptions{HeadingShift: 2})
		if strings.Contains(s, "@@PLUGINFILE@@") {
			addNotes([]cleanNote{notePluginFile})
		}
		for _, pr := range problems {
			switch pr.Kind {
			case "raw_html":
				addNotes([]cleanNote{noteRawHTML})
			case "bad_image":
				if !strings.Contains(pr.Text, "@@PLUGINFILE@@") {
					addNotes([]cleanNote{noteImage})
				}
			}
		}
		return out
	case "moodle":
		out, ns := cleanHTML(s)
		addNotes(ns)
		return strings.ReplaceAll(out, "\n", "<br>\n")
	default: // html
		out, ns := cleanHTML(s)
		addNotes(ns)
		return out
	}
}

func containsNote(ns []cleanNote, n cleanNote) bool {
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}

// plainOf is the text of safe HTML without its tags.
func plainOf(h string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '<':
			in = true
		case c == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(html.UnescapeString(b.String()))
}

// plainAnswer is an accepted answer as plain text.
func plainAnswer(format, s string) string {
	s = strings.TrimSpace(unescapeGIFT(s))
	if format == "html" || format == "moodle" {
		out, _ := cleanHTML(s)
		s = plainOf(out)
	}
	return strings.Join(strings.Fields(s), " ")
}

// weight reads a leading %N% weight; ok is false when there is none.
func weight(s string, line int, name string) (float64, string, bool, error) {
	m := giftWeight.FindStringSubmatch(s)
	if m == nil {
		return 0, s, false, nil
	}
	w, err := strconv.ParseFloat(strings.TrimSuffix(m[1], "."), 64)
	if err != nil || w < -100 || w > 100 {
		return 0, s, false, kernel.E(kernel.Invalid, "learning.gift.bad_weight", line, name)
	}
	return w / 100, s[len(m[0]):], true, nil
}

// answerAndFeedback splits "answer # feedback" at the first #.
func answerAndFeedback(s string) (string, string) {
	a, f, _ := strings.Cut(s, "#")
	return strings.TrimSpace(a), strings.TrimSpace(f)
}

func splitAnswers(answers string, sep byte) []string {
	parts := strings.Split(answers, string(sep))
	if len(parts) > 0 && strings.TrimSpace(parts[0]) == "" {
		parts = parts[1:]
	}
	return parts
}

func (p *giftParser) choice(q *Question, answers, format string, line int, name string, notes *[]cleanNote) error {
	q.Kind = KindChoice
	if !strings.Contains(answers, "=") {
		q.Kind = KindMulti // no single right answer: several weighted ones
	}
	parts := splitAnswers(strings.ReplaceAll(answers, "=", "~="), '~')
	if len(parts) < 2 {
		return kernel.E(kernel.Invalid, "learning.gift.too_few_answers", line, name, 2)
	}
	best := 0.0
	for _, a := range parts {
		a = strings.TrimSpace(a)
		frac := 0.0
		if strings.HasPrefix(a, "=") {
			frac, a = 1, a[1:]
		} else {
			w, rest, ok, err := weight(a, line, name)
			if err != nil {
				return err
			}
			if ok {
				frac, a = w, rest
			}
		}
		text, fb := answerAndFeedback(a)
		tf, tb := textFormat(text, format)
		c := Choice{Text: toHTML(tf, tb, notes), Fraction: frac}
		if fb != "" {
			ff, fbb := textFormat(fb, format)
			c.Feedback = toHTML(ff, fbb, notes)
		}
		if strings.TrimSpace(plainOf(c.Text)) == "" {
			return kernel.E(kernel.Invalid, "learning.gift.empty_answer", line, name)
		}
		best = math.Max(best, frac)
		q.Choices = append(q.Choices, c)
	}
	if best <= 0 {
		return kernel.E(kernel.Invalid, "learning.gift.no_right_answer", line, name)
	}
	return nil
}

func (p *giftParser) matching(q *Question, answers, format string, line int, name string, notes *[]cleanNote) error {
	q.Kind = KindMatching
	items := 0
	for _, a := range splitAnswers(answers, '=') {
		a = strings.TrimSpace(a)
		k := strings.Index(a, "->")
		if k < 0 {
			return kernel.E(kernel.Invalid, "learning.gift.matching_format", line, name)
		}
		sub := strings.TrimSpace(a[:k])
		pair := Pair{Answer: plainAnswer("plain", a[k+2:])}
		if pair.Answer == "" {
			return kernel.E(kernel.Invalid, "learning.gift.empty_answer", line, name)
		}
		if sub != "" {
			sf, sb := textFormat(sub, format)
			pair.Sub = toHTML(sf, sb, notes)
			items++
		}
		q.Pairs = append(q.Pairs, pair)
	}
	if items < 2 {
		return kernel.E(kernel.Invalid, "learning.gift.too_few_answers", line, name, 2)
	}
	return nil
}

func (p *giftParser) trueFalse(q *Question, answers, format string, notes *[]cleanNote) {
	q.Kind = KindTrueFalse
	bits := strings.SplitN(answers, "#", 3)
	tf := strings.TrimSpace(bits[0])
	q.Truth = tf == "T" || tf == "TRUE"
	fb := func(i int) string {
		if i >= len(bits) || strings.TrimSpace(bits[i]) == "" {
			return ""
		}
		f, b := textFormat(strings.TrimSpace(bits[i]), format)
		return toHTML(f, b, notes)
	}
	wrong, right := fb(1), fb(2)
	if q.Truth {
		q.TrueFeedback, q.FalseFeedback = right, wrong
	} else {
		q.TrueFeedback, q.FalseFeedback = wrong, right
	}
}

func (p *giftParser) short(q *Question, answers, format string, line int, name string, notes *[]cleanNote) error {
	q.Kind = KindShort
	best := 0.0
	for _, a := range splitAnswers(answers, '=') {
		a = strings.TrimSpace(a)
		frac, rest, ok, err := weight(a, line, name)
		if err != nil {
			return err
		}
		if !ok {
			frac = 1
		} else {
			a = rest
		}
		text, fb := answerAndFeedback(a)
		tf, tb := textFormat(text, format)
		ans := Answer{Text: plainAnswer(tf, tb), Fraction: frac}
		if ans.Text == "" {
			return kernel.E(kernel.Invalid, "learning.gift.empty_answer", line, name)
		}
		if fb != "" {
			ff, fbb := textFormat(fb, format)
			ans.Feedback = toHTML(ff, fbb, notes)
		}
		best = math.Max(best, frac)
		q.Answers = append(q.Answers, ans)
	}
	if len(q.Answers) == 0 {
		return kernel.E(kernel.Invalid, "learning.gift.too_few_answers", line, name, 1)
	}
	if best <= 0 {
		return kernel.E(kernel.Invalid, "learning.gift.no_right_answer", line, name)
	}
	return nil
}

func (p *giftParser) numerical(q *Question, answers, format string, line int, name string, notes *[]cleanNote) error {
	q.Kind = KindNumerical
	if k := strings.IndexByte(answers, '~'); k >= 0 {
		_, fb := answerAndFeedback(answers[k+1:])
		if fb != "" {
			ff, fbb := textFormat(fb, format)
			q.Wrong = toHTML(ff, fbb, notes)
		}
		answers = answers[:k]
	}
	best := 0.0
	for _, a := range splitAnswers(answers, '=') {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		frac, rest, ok, err := weight(a, line, name)
		if err != nil {
			return err
		}
		if !ok {
			frac = 1
		} else {
			a = rest
		}
		text, fb := answerAndFeedback(a)
		text = unescapeGIFT(text)
		var ans Answer
		num := func(s string) (float64, bool) {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
		}
		var ok1, ok2 bool
		if k := strings.Index(text, ".."); k > 0 {
			lo, okLo := num(text[:k])
			hi, okHi := num(text[k+2:])
			ok1, ok2 = okLo, okHi && hi >= lo
			ans.Value, ans.Tolerance = (lo+hi)/2, (hi-lo)/2
		} else if k := strings.IndexByte(text, ':'); k > 0 {
			ans.Value, ok1 = num(text[:k])
			ans.Tolerance, ok2 = num(text[k+1:])
			ans.Tolerance = math.Abs(ans.Tolerance)
		} else {
			ans.Value, ok1 = num(text)
			ok2 = true
		}
		if !ok1 || !ok2 {
			return kernel.E(kernel.Invalid, "learning.gift.not_number", line, name)
		}
		ans.Fraction = frac
		if fb != "" {
			ff, fbb := textFormat(fb, format)
			ans.Feedback = toHTML(ff, fbb, notes)
		}
		best = math.Max(best, frac)
		q.Answers = append(q.Answers, ans)
	}
	if len(q.Answers) == 0 {
		return kernel.E(kernel.Invalid, "learning.gift.not_number", line, name)
	}
	if best <= 0 {
		return kernel.E(kernel.Invalid, "learning.gift.no_right_answer", line, name)
	}
	return nil
}
