package learning

import (
	"os"
	"strings"
	"testing"

	"civitas/internal/kernel"
)

// The Moodle fixtures (testdata/moodle, from moodle/moodle's
// question/format/gift: its test fixtures and the examples of its GIFT
// documentation) import as Moodle imports them.

func parseFile(t *testing.T, name string) GIFT {
	t.Helper()
	b, err := os.ReadFile("testdata/moodle/" + name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ParseGIFT(b, "bank")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func byName(g GIFT, name string) Question {
	for _, q := range g.Questions {
		if q.Name == name {
			return q
		}
	}
	return Question{}
}

func TestGIFTMoodleExport(t *testing.T) {
	// A Moodle export: $CATEGORY:, escaped \: and \= inside [html].
	g := parseFile(t, "questions_in_category.gift.txt")
	if len(g.Questions) != 4 || len(g.Warnings) != 0 {
		t.Fatalf("%d questions, warnings %v", len(g.Questions), g.Warnings)
	}
	for _, q := range g.Questions {
		if q.Category != "$course$/Default for New Features" {
			t.Errorf("%s: category %q", q.Name, q.Category)
		}
	}
	greet := byName(g, "Greeting")
	if greet.Kind != KindChoice || !strings.Contains(greet.Text, `<a href="http://demo.moodle.net/file.php/5/media/bonjour.mp3" rel="noopener noreferrer">Listen to this greeting:</a>`) {
		t.Errorf("Greeting: %s %q", greet.Kind, greet.Text)
	}
	if r := Score(greet, Response{Choices: []int{1}}); !r.Right() || r.Feedback[0] != "Yes, well done!" {
		t.Errorf("French scored %+v", r)
	}
	acronym := byName(g, "Moodle acronym")
	if acronym.Kind != KindTrueFalse || !acronym.Truth || strings.Contains(acronym.Text, "style") ||
		!strings.Contains(acronym.Text, "Modular Object-Oriented Dynamic Learning Environment") {
		t.Errorf("Moodle acronym: %+v", acronym)
	}
	match := byName(g, "Moodle activities")
	if match.Kind != KindMatching || len(match.Pairs) != 5 || match.Pairs[4].Sub != "" || match.Pairs[4].Answer != "Chat" {
		t.Errorf("Moodle activities: %+v", match)
	}
	if user := byName(g, "Moodle user"); user.Kind != KindShort || user.Answers[0].Text != "Moodler" || user.Answers[0].Fraction != 1 {
		t.Errorf("Moodle user: %+v", user)
	}
}

func TestGIFTMoodleFixture(t *testing.T) {
	g := parseFile(t, "questions.gift.txt")
	if len(g.Questions) != 8 {
		t.Fatalf("%d questions", len(g.Questions))
	}
	// The essay is skipped with a warning that names it and its line.
	if len(g.Warnings) != 1 || g.Warnings[0].Key != "learning.gift.warn_essay" || g.Warnings[0].Line != 2 || g.Warnings[0].Args[1] != "Q8" {
		t.Fatalf("warnings %+v", g.Warnings)
	}
	colours := byName(g, "colours")
	if colours.Kind != KindMulti || colours.Choices[1].Fraction != -1 || colours.Choices[0].Fraction != 0.5 {
		t.Fatalf("colours %+v", colours)
	}
	for _, tt := range []struct {
		name   string
		choose []int
		want   float64
	}{
		{"ok/both right", []int{0, 2}, 1},
		{"ok/one right", []int{0}, 0.5},
		{"ok/right and wrong is nothing", []int{0, 1}, 0},
		{"ok/everything is nothing", []int{0, 1, 2, 3}, 0},
		{"ok/a repeated choice counts once", []int{0, 0, 0}, 0.5},
		{"ok/out of range counts as nothing", []int{7, -1}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Score(colours, Response{Choices: tt.choose}).Fraction; got != tt.want {
				t.Fatalf("scored %v, want %v", got, tt.want)
			}
		})
	}
	q5 := byName(g, "Q5")
	if q5.Kind != KindNumerical || q5.Answers[0].Value != 3 || q5.Answers[0].Tolerance != 2 || q5.Wrong != "Completely wrong" {
		t.Fatalf("Q5 %+v", q5)
	}
	if r := Score(q5, Response{Text: "4,5"}); !r.Right() {
		t.Errorf("4,5 within 3±2: %+v", r)
	}
	if r := Score(q5, Response{Text: "6"}); r.Fraction != 0 || r.Feedback[0] != "Completely wrong" {
		t.Errorf("6: %+v", r)
	}
	short := byName(g, "Shortanswer")
	for _, tt := range []struct{ in, feedback string }{
		{" frog ", "Good!"}, {"CAT", "What is it with Moodlers and cats?"}, {"dog", "Completely wrong"},
	} {
		if r := Score(short, Response{Text: tt.in}); r.Feedback[0] != tt.feedback {
			t.Errorf("%q: %+v", tt.in, r)
		}
	}
	q1 := byName(g, "Q1")
	no := false
	if q1.Kind != KindTrueFalse || q1.Truth || !strings.Contains(q1.General, "Hitchiker") {
		t.Fatalf("Q1 %+v", q1)
	}
	if r := Score(q1, Response{Bool: &no}); !r.Right() || r.Feedback[0] != "You gave the right answer." {
		t.Errorf("false: %+v", r)
	}
}

func TestGIFTMoodleDocumentationExamples(t *testing.T) {
	g := parseFile(t, "examples.gift.txt")
	if len(g.Questions) != 43 || len(g.Warnings) != 0 {
		t.Fatalf("%d questions, warnings %v", len(g.Questions), g.Warnings)
	}
	kinds := map[Kind]int{}
	for _, q := range g.Questions {
		kinds[q.Kind]++
	}
	if kinds[KindChoice] == 0 || kinds[KindMulti] == 0 || kinds[KindTrueFalse] == 0 || kinds[KindShort] == 0 || kinds[KindNumerical] == 0 || kinds[KindMatching] == 0 {
		t.Fatalf("kinds %v", kinds)
	}
	ctrl := byName(g, "GIFT Control Characters")
	var texts []string
	for _, c := range ctrl.Choices {
		texts = append(texts, c.Text)
	}
	if strings.Join(texts, " ") != `~ = # { } \` || ctrl.Choices[5].Fraction != 1 {
		t.Fatalf("escaped control characters: %q", texts)
	}
	// Missing-word format and a range.
	tg := byName(g, "Grant's Tomb")
	if tg.Text != "Grant is _____ in Grant&#39;s tomb." {
		t.Errorf("missing word: %q", tg.Text)
	}
	for _, q := range g.Questions {
		if q.Kind == KindNumerical && strings.Contains(q.Text, "pi") && q.Answers[0].Tolerance > 0.0005+1e-9 {
			t.Errorf("pi: %+v", q.Answers)
		}
	}
	// [markdown] text is rendered.
	found := false
	for _, q := range g.Questions {
		found = found || strings.Contains(q.Text, "<strong>Grant&#39;s tomb</strong>")
	}
	if !found {
		t.Error("[markdown] question not rendered")
	}
}

func TestGIFTErrorsNameTheLine(t *testing.T) {
	for _, tt := range []struct {
		name, src, key string
		line           int
	}{
		{"fail/unclosed brace", "// c\n\n::Q1:: Fine {=a ~b}\n\n::Q2::\nBroken {\n=a\n~b\n", "learning.gift.no_closing_brace", 6},
		{"fail/closing without opening", "Q1 =a ~b}", "learning.gift.no_opening_brace", 1},
		{"fail/nested brace", "Q {=a\n~b {x}", "learning.gift.nested_brace", 2},
		{"fail/two answer sections", "Q {=a ~b} more {=c}", "learning.gift.two_answer_sections", 1},
		{"fail/one choice", "Q {~a}", "learning.gift.too_few_answers", 1},
		{"fail/no right choice", "Q {~a ~b}", "learning.gift.no_right_answer", 1},
		{"fail/matching without arrow", "\n\nQ {=a -> b =c}", "learning.gift.matching_format", 3},
		{"fail/one matching item", "Q {=a -> b = -> c}", "learning.gift.too_few_answers", 1},
		{"fail/numerical not a number", "Q {#ten:1}", "learning.gift.not_number", 1},
		{"fail/numerical bad range", "Q {#5..1}", "learning.gift.not_number", 1},
		{"fail/weight over 100", "Q {=%150%a}", "learning.gift.bad_weight", 1},
		{"fail/empty answer", "Q {=a ~}", "learning.gift.empty_answer", 1},
		{"fail/no text", "{=a ~b}", "learning.gift.no_text", 1},
		{"fail/empty file", "// only a comment\n", "learning.gift.empty", 0},
		{"fail/not utf-8", "Q {=a ~b}\n\nR \xff {=a ~b}", "learning.gift.not_utf8", 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseGIFT([]byte(tt.src), "b")
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("got %v", err)
			}
			key, args := kernel.ErrorKey(err)
			if key != tt.key {
				t.Fatalf("key %s, want %s (%v)", key, tt.key, err)
			}
			if tt.line > 0 && (len(args) == 0 || args[0] != tt.line) {
				t.Fatalf("line %v, want %d", args, tt.line)
			}
		})
	}
	if _, err := ParseGIFT(make([]byte, MaxGIFTBytes+1), "b"); keyOf(err) != "learning.gift.too_large" {
		t.Fatalf("oversized: %v", err)
	}
}

func TestGIFTCleansHTMLAndWarns(t *testing.T) {
	src := "::Img:: [html]<p>Look <img src\\=\"@@PLUGINFILE@@/sign.png\"> here<script>alert(1)</script></p>{T}\n\n" +
		"::Ext:: [html]<b onclick\\=\"x()\">Bold</b> <img src\\=\"https\\://tracker.example/p.gif\"><iframe src\\=\"https\\://e.example\"></iframe>{F}\n\n" +
		"::Md:: [markdown]Raw <b>html</b> is *escaped*{T}"
	g, err := ParseGIFT([]byte(src), "b")
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Questions[0].Text; got != "<p>Look  here</p>" {
		t.Errorf("Img: %q", got)
	}
	if got := g.Questions[1].Text; got != "<strong>Bold</strong>" {
		t.Errorf("Ext: %q", got)
	}
	if got := g.Questions[2].Text; got != "<p>Raw &lt;b&gt;html&lt;/b&gt; is <em>escaped</em></p>" {
		t.Errorf("Md: %q", got)
	}
	want := map[string]string{"learning.gift.warn_pluginfile": "Img", "learning.gift.warn_image": "Ext", "learning.gift.warn_raw_html": "Md"}
	seen := map[string]bool{}
	for _, w := range g.Warnings {
		if name, ok := want[w.Key]; ok && w.Args[1] == name {
			seen[w.Key] = true
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("warnings %+v", g.Warnings)
	}
}

func FuzzGIFT(f *testing.F) {
	for _, name := range []string{"examples.gift.txt", "questions.gift.txt", "questions_in_category.gift.txt"} {
		if b, err := os.ReadFile("testdata/moodle/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("::a::[html]<script>x</script>{=<img src=x onerror=alert(1)> ~b#<a href=\"javascript:x\">c</a>}"))
	f.Add([]byte("Q {#1..2 =%50%3:1#fb ~#wrong ####gen}"))
	f.Add([]byte("Q {=a -> b =c -> d = -> e}"))
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := ParseGIFT(src, "b")
		if err != nil {
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("not an Invalid error: %v", err)
			}
			return
		}
		for _, q := range g.Questions {
			htmls := []string{q.Text, q.General, q.TrueFeedback, q.FalseFeedback, q.Wrong}
			for _, c := range q.Choices {
				htmls = append(htmls, c.Text, c.Feedback)
			}
			for _, a := range q.Answers {
				htmls = append(htmls, a.Feedback)
			}
			for _, p := range q.Pairs {
				htmls = append(htmls, p.Sub)
			}
			for _, h := range htmls {
				if bad := unsafeHTML(h); bad != "" {
					t.Fatalf("unsafe HTML %q in %q", bad, h)
				}
			}
			// Scoring never panics and stays within 0..1.
			if r := Score(q, Response{Choices: []int{0, 1, 2}, Text: "1", Matches: []string{"a"}}); r.Fraction < 0 || r.Fraction > 1 {
				t.Fatalf("fraction %v", r.Fraction)
			}
		}
	})
}
