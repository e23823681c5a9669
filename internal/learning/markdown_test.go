package learning

import (
	"html"
	"strings"
	"testing"
)

// outputTags are the elements and attributes the renderer and the cleaner
// may write, and nothing else.
var outputTags = map[string][]string{
	"p": nil, "br": nil, "hr": nil, "strong": nil, "em": nil, "u": nil, "s": nil, "sub": nil, "sup": nil, "mark": nil, "small": nil,
	"ul": nil, "ol": {"start"}, "li": nil, "code": nil, "pre": nil, "blockquote": nil,
	"h2": nil, "h3": nil, "h4": nil, "h5": nil, "h6": nil,
	"a": {"href", "rel"}, "span": {"lang"}, "img": {"src", "alt", "loading"},
}

// unsafeHTML returns the first thing in h that is not ours: an element or
// attribute off the list, a link that is not http(s), mailto, tel or a
// page of the site. In our output every "<" starts a tag: text is escaped.
func unsafeHTML(h string) string {
	for i := 0; i < len(h); i++ {
		if h[i] != '<' {
			continue
		}
		end := strings.IndexByte(h[i:], '>')
		if end < 0 {
			return h[i:]
		}
		tag := h[i+1 : i+end]
		i += end
		if strings.HasPrefix(tag, "/") {
			if _, ok := outputTags[tag[1:]]; !ok {
				return "</" + tag
			}
			continue
		}
		name, rest, _ := strings.Cut(tag, " ")
		allowed, ok := outputTags[name]
		if !ok {
			return "<" + name
		}
		for rest != "" {
			rest = strings.TrimLeft(rest, " ")
			if rest == "" {
				break
			}
			attr, after, ok := strings.Cut(rest, `="`)
			if !ok {
				return rest
			}
			val, after2, ok := strings.Cut(after, `"`)
			if !ok {
				return rest
			}
			rest = after2
			okAttr := false
			for _, a := range allowed {
				okAttr = okAttr || a == attr
			}
			if !okAttr {
				return attr
			}
			v := strings.ToLower(html.UnescapeString(val))
			if (attr == "href" || attr == "src") && !(strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://") ||
				strings.HasPrefix(v, "mailto:") || strings.HasPrefix(v, "tel:") || strings.HasPrefix(v, "/learning/")) {
				return attr + "=" + val
			}
		}
	}
	return ""
}

func TestMarkdown(t *testing.T) {
	opts := MarkdownOptions{
		MinHeading: 2,
		Link: func(dest string) (string, bool) {
			if dest == "02-next.md" {
				return "/learning/courses/c/lessons/02-next", true
			}
			return "", false
		},
		Image: func(src string) (string, bool) {
			if src == "images/a.svg" {
				return "/learning/courses/c/images/a.svg", true
			}
			return "", false
		},
	}
	for _, tt := range []struct {
		name, in, want string
		problem        string
	}{
		{"ok/paragraphs", "one\ntwo\n\nthree", "<p>one\ntwo</p>\n<p>three</p>", ""},
		{"ok/headings below the title", "# A\n## B\n### C", "<h2>A</h2>\n<h2>B</h2>\n<h3>C</h3>", ""},
		{"ok/emphasis", "**bold** and *it* and _it_ but snake_case_word", "<p><strong>bold</strong> and <em>it</em> and <em>it</em> but snake_case_word</p>", ""},
		{"ok/code", "use `a<b>` here\n\n```\n<x>&\n```", "<p>use <code>a&lt;b&gt;</code> here</p>\n<pre><code>&lt;x&gt;&amp;</code></pre>", ""},
		{"ok/lists", "- a\n- b\n  - c\n\n1. x\n2. y", "<ul>\n<li>a</li>\n<li>b\n<ul>\n<li>c</li>\n</ul></li>\n</ul>\n<ol>\n<li>x</li>\n<li>y</li>\n</ol>", ""},
		{"ok/ordered from 3", "3. a\n4. b", "<ol start=\"3\">\n<li>a</li>\n<li>b</li>\n</ol>", ""},
		{"ok/quote", "> said\n> this", "<blockquote>\n<p>said\nthis</p>\n</blockquote>", ""},
		{"ok/links", "[next](02-next.md) [site](https://example.vn/x?a=1&b=2)",
			`<p><a href="/learning/courses/c/lessons/02-next">next</a> <a href="https://example.vn/x?a=1&amp;b=2" rel="noopener noreferrer">site</a></p>`, ""},
		{"ok/image", "![Alt *text*](images/a.svg)", `<p><img src="/learning/courses/c/images/a.svg" alt="Alt text" loading="lazy"></p>`, ""},
		{"ok/rule", "a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>", ""},
		{"ok/escapes", `\*not\* \# &amp; <`, "<p>*not* # &amp;amp; &lt;</p>", ""},
		{"fail/raw html is escaped and reported", "hi <script>alert(1)</script>", "<p>hi &lt;script&gt;alert(1)&lt;/script&gt;</p>", "raw_html"},
		{"fail/html comment", "<!-- x -->", "<p>&lt;!-- x --&gt;</p>", "raw_html"},
		{"fail/javascript link", "[x](javascript:alert(1))", "<p>x</p>", "bad_link"},
		{"fail/data link", "[x](data:text/html,hi)", "<p>x</p>", "bad_link"},
		{"fail/unknown lesson", "[x](03-missing.md)", "<p>x</p>", "bad_link"},
		{"fail/outside image", "![t](https://tracker.example/p.png)", "<p>t</p>", "bad_image"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := RenderMarkdown(tt.in, opts)
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if tt.problem == "" && len(problems) > 0 || tt.problem != "" && (len(problems) == 0 || problems[0].Kind != tt.problem) {
				t.Errorf("problems %+v, want %q", problems, tt.problem)
			}
			if bad := unsafeHTML(got); bad != "" {
				t.Errorf("unsafe %q", bad)
			}
		})
	}
	// The line of a problem is the line it is on.
	_, problems := RenderMarkdown("a\n\nb\nc <b>x</b>", opts)
	if len(problems) == 0 || problems[0].Line != 4 {
		t.Fatalf("problems %+v", problems)
	}
}

func TestLessonWithRawHTMLIsRefused(t *testing.T) {
	for _, tt := range []struct{ name, body, key string }{
		{"fail/script", "Hi\n\n<script>alert(1)</script>", "learning.course.markdown_raw_html"},
		{"fail/javascript link", "[x](javascript:alert(1))", "learning.course.markdown_bad_link"},
		{"fail/image from outside", "![x](https://example.com/x.png)", "learning.course.markdown_bad_image"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fsys := testCourse(map[string]string{"01-a.vi.md": "---\ntitle: A\n---\n" + tt.body})
			_, _, err := LoadCourse(fsys)
			key, args := keyAndArgs(err)
			if key != tt.key || args[0] != "01-a.vi.md" {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestCleanHTML(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`<p>A <b>b</b> <i>i</i></p>`, `<p>A <strong>b</strong> <em>i</em></p>`},
		{`<script>alert(1)</script>x`, `x`},
		{`<SCRIPT SRC=x></SCRIPT>y`, `y`},
		{`<a href="javascript:alert(1)">x</a>`, `x`},
		{`<a href=" https://e.vn ">x</a>`, `<a href="https://e.vn" rel="noopener noreferrer">x</a>`},
		{`<img src=x onerror=alert(1)>ok`, `ok`},
		{`<span lang="en">Hi</span><span style="x">y</span>`, `<span lang="en">Hi</span>y`},
		{`<p onclick="x">a`, `<p>a</p>`},
		{`&lt;b&gt; &amp; &#39;`, `&lt;b&gt; &amp; &#39;`},
		{`<b>unclosed <i>nested`, `<strong>unclosed <em>nested</em></strong>`},
		{`a < b > c`, `a &lt; b &gt; c`},
		{`<style>p{}</style><svg><script>x</script></svg>z`, `z`},
		{`<!-- c --><!DOCTYPE x><?php x ?>t`, `t`},
	} {
		got, _ := cleanHTML(tt.in)
		if got != tt.want {
			t.Errorf("cleanHTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if bad := unsafeHTML(got); bad != "" {
			t.Errorf("cleanHTML(%q): unsafe %q", tt.in, bad)
		}
	}
}

func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"# T\n\n**b** *e* `c` [l](https://x.vn) ![i](images/a.png)\n\n- a\n  - b\n\n> q\n\n```\ncode\n```",
		"<script>alert(1)</script> [x](javascript:y) <https://a.vn>",
		"***a**b*_c_ \\* \\\n1. x\n2) y\n\n---",
		strings.Repeat("**a ", 200) + strings.Repeat("[", 100) + strings.Repeat("> ", 50) + "x",
		// Inputs that took quadratic time before links were matched in one pass.
		strings.Repeat("![", 4000), strings.Repeat("[a](", 2000), strings.Repeat("<a", 4000),
	} {
		f.Add(s)
	}
	opts := MarkdownOptions{MinHeading: 2,
		Link: func(d string) (string, bool) {
			return "/learning/courses/c/lessons/" + d, !strings.ContainsAny(d, "\"<>")
		},
		Image: func(s string) (string, bool) {
			return "/learning/courses/c/images/" + s, strings.HasPrefix(s, "images/")
		},
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 64<<10 {
			return
		}
		out, _ := RenderMarkdown(src, opts)
		if bad := unsafeHTML(out); bad != "" {
			t.Fatalf("unsafe %q in %q", bad, out)
		}
		clean, _ := cleanHTML(src)
		if bad := unsafeHTML(clean); bad != "" {
			t.Fatalf("cleanHTML: unsafe %q in %q", bad, clean)
		}
	})
}
