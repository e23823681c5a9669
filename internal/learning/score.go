package learning

import (
	"math"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Response is a learner's answer to one question, in the question's own
// terms (the pages map the positions they showed back to these).
type Response struct {
	Choices []int    `json:"c,omitempty"` // choice, multi: indexes into Question.Choices
	Bool    *bool    `json:"b,omitempty"` // truefalse
	Text    string   `json:"t,omitempty"` // short, numerical
	Matches []string `json:"m,omitempty"` // matching: for each item (pair with a Sub, in order), the answer chosen ("" none)
}

// Result is a question scored.
type Result struct {
	Fraction float64  // 0 to 1 of the question's mark
	Feedback []string // HTML: the feedback of what was answered, then the general feedback
}

// Right reports a full mark.
func (r Result) Right() bool { return r.Fraction >= 0.9999 }

// Score scores a response. Nothing the learner sends can do more than
// choose among the question's own answers: unknown indexes count as no
// answer.
func Score(q Question, r Response) Result {
	var res Result
	switch q.Kind {
	case KindChoice:
		if len(r.Choices) == 1 && r.Choices[0] >= 0 && r.Choices[0] < len(q.Choices) {
			c := q.Choices[r.Choices[0]]
			res.Fraction = c.Fraction
			res.add(c.Feedback)
		}
	case KindMulti:
		seen := map[int]bool{}
		for _, i := range r.Choices {
			if i < 0 || i >= len(q.Choices) || seen[i] {
				continue
			}
			seen[i] = true
			res.Fraction += q.Choices[i].Fraction
			res.add(q.Choices[i].Feedback)
		}
	case KindTrueFalse:
		if r.Bool != nil {
			if *r.Bool == q.Truth {
				res.Fraction = 1
			}
			if *r.Bool {
				res.add(q.TrueFeedback)
			} else {
				res.add(q.FalseFeedback)
			}
		}
	case KindShort:
		given := normaliseAnswer(r.Text)
		if given != "" {
			for _, a := range q.Answers {
				if globMatch(normaliseAnswer(a.Text), given) {
					res.Fraction = a.Fraction
					res.add(a.Feedback)
					break
				}
			}
		}
	case KindNumerical:
		if v, ok := parseNumber(r.Text); ok {
			best := -1
			for i, a := range q.Answers {
				if math.Abs(v-a.Value) <= a.Tolerance+1e-9*math.Max(1, math.Abs(a.Value)) && (best < 0 || a.Fraction > q.Answers[best].Fraction) {
					best = i
				}
			}
			if best >= 0 {
				res.Fraction = q.Answers[best].Fraction
				res.add(q.Answers[best].Feedback)
			} else {
				res.add(q.Wrong)
			}
		} else if strings.TrimSpace(r.Text) != "" {
			res.add(q.Wrong)
		}
	case KindMatching:
		items, right := 0, 0
		for _, p := range q.Pairs {
			if p.Sub == "" {
				continue
			}
			if items < len(r.Matches) && r.Matches[items] == p.Answer {
				right++
			}
			items++
		}
		if items > 0 {
			res.Fraction = float64(right) / float64(items)
		}
	}
	res.Fraction = math.Min(1, math.Max(0, res.Fraction))
	res.add(q.General)
	return res
}

func (r *Result) add(html string) {
	if html != "" {
		r.Feedback = append(r.Feedback, html)
	}
}

// normaliseAnswer makes typed answers comparable: Unicode NFC (Vietnamese
// typed with combining or precomposed marks), lower case, single spaces,
// no spaces at either end.
func normaliseAnswer(s string) string {
	s = norm.NFC.String(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		return unicode.ToLower(r)
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// globMatch matches s against a pattern where * stands for any text, as
// Moodle's short answers do.
func globMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		k := strings.Index(s, p)
		if k < 0 {
			return false
		}
		s = s[k+len(p):]
	}
	return true
}

// parseNumber reads a typed number, with a decimal point or (as written in
// Vietnam) a decimal comma.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 40 {
		return 0, false
	}
	if strings.Contains(s, ",") && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// matchOptions are the distinct answers of a matching question, in order:
// what each item's list offers.
func matchOptions(q Question) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range q.Pairs {
		if !seen[p.Answer] {
			seen[p.Answer] = true
			out = append(out, p.Answer)
		}
	}
	return out
}

// matchItems are the items of a matching question, in order.
func matchItems(q Question) []string {
	var out []string
	for _, p := range q.Pairs {
		if p.Sub != "" {
			out = append(out, p.Sub)
		}
	}
	return out
}
