package web

import (
	"io/fs"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func TestPagesFailFast(t *testing.T) {
	f := newFixture(t)
	page := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		files   fstest.MapFS
		pattern string
		wantErr string
	}{
		{"ok/page", fstest.MapFS{"a.html": page(`{{define "content"}}{{.T "app.name"}}{{end}}`)}, "*.html", ""},
		{"fail/no file", fstest.MapFS{}, "*.html", "matches no file"},
		{"fail/bad pattern", fstest.MapFS{}, "[", "syntax error"},
		{"fail/syntax error", fstest.MapFS{"a.html": page(`{{define "content"}}{{if}}{{end}}`)}, "*.html", "a.html"},
		{"fail/no content", fstest.MapFS{"a.html": page(`{{define "title"}}x{{end}}`)}, "*.html", `does not define "content"`},
		{"fail/missing key", fstest.MapFS{"a.html": page(`{{define "content"}}{{.T "no.such.key"}}{{end}}`)}, "*.html", "no.such.key"},
		{"fail/missing key in range via $", fstest.MapFS{"a.html": page(`{{define "content"}}{{range .Data}}{{$.T "other.missing"}}{{end}}{{end}}`)}, "*.html", "other.missing"},
		{"fail/missing key in a nested pipeline", fstest.MapFS{"a.html": page(`{{define "content"}}{{printf "%s" (.T "nested.missing")}}{{end}}`)}, "*.html", "nested.missing"},
		{"fail/missing key in a partial", fstest.MapFS{"a.html": page(`{{define "content"}}{{template "p" .}}{{end}}`), "_p.html": page(`{{define "p"}}{{if .Data}}{{else}}{{.T "partial.missing"}}{{end}}{{end}}`)}, "*.html", "partial.missing"},
		{"fail/unsafe for escaping", fstest.MapFS{"a.html": page(`{{define "content"}}<a href="{{if .Data}}x{{end}}><b>{{end}}`)}, "*.html", "a.html"},
		{"fail/unknown asset", fstest.MapFS{"a.html": page(`{{define "content"}}<img src="{{asset "nope.png"}}" alt="">{{end}}`)}, "*.html", `static file "nope.png"`},
		{"fail/two pages one name", fstest.MapFS{"x/a.html": page(`{{define "content"}}{{end}}`), "y/a.html": page(`{{define "content"}}{{end}}`)}, "*/*.html", "two pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.srv.Pages(tt.files, tt.pattern)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Pages: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "web: ") {
				t.Fatalf("Pages error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestTemplateKeys checks every {{.T "key"}} of the web package's own
// templates against the catalogue, with a plain text scan that does not
// trust the parse-tree walk it double-checks.
func TestTemplateKeys(t *testing.T) {
	f := newFixture(t)
	re := regexp.MustCompile(`\$?\.T\s+"([^"]+)"`)
	seen := 0
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen++
			if !f.srv.catalog.Has(m[1]) {
				t.Errorf("%s uses %q, which the catalogue lacks", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 40 {
		t.Fatalf("only %d translation calls found: is the pattern stale?", seen)
	}
	// The walk finds the same keys in the layout.
	tpl := f.srv.own.pages["home"]
	if missing := f.srv.checkLiterals(tpl); len(missing) != 0 {
		t.Errorf("missing keys: %v", missing)
	}
}

// TestColourContrast checks the colour pairs the stylesheet promises
// against WCAG 2.1: 4.5:1 at least for text.
func TestColourContrast(t *testing.T) {
	css, err := fs.ReadFile(staticFS, "static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(--[a-z-]+):\s*(#[0-9a-fA-F]{6});`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := [][2]string{
		{"--ink", "--paper"}, {"--ink", "--band"}, {"--muted", "--paper"}, {"--muted", "--band"},
		{"--link", "--paper"}, {"--link", "--band"}, {"--on-brand", "--brand"}, {"--brand", "--on-brand"},
		{"--on-link", "--link"}, {"--ink", "--highlight"},
	}
	for _, p := range pairs {
		fg, bg := vars[p[0]], vars[p[1]]
		if fg == "" || bg == "" {
			t.Errorf("%s or %s not defined", p[0], p[1])
			continue
		}
		if r := contrast(fg, bg); r < 4.5 {
			t.Errorf("%s (%s) on %s (%s): %.2f:1, below 4.5:1", p[0], fg, p[1], bg, r)
		}
	}
	// No colour is used in the stylesheet except through the variables.
	body := string(css)[strings.Index(string(css), "}"):]
	if m := regexp.MustCompile(`#[0-9a-fA-F]{3,6}\b`).FindString(body); m != "" {
		t.Errorf("literal colour %s outside :root", m)
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(0) + 0.7152*ch(1) + 0.0722*ch(2)
}

func TestRenderFailureIsAClean500(t *testing.T) {
	f := newFixture(t)
	// An asset named at run time cannot be checked at start-up; it fails
	// when rendered, and the reader gets the error page, not half a page.
	p, err := f.srv.Pages(fstest.MapFS{"a.html": {Data: []byte(`{{define "content"}}<p>before</p><img src="{{asset .Data}}" alt="">{{end}}`)}}, "*.html")
	if err != nil {
		t.Fatal(err)
	}
	f.srv.HandleFunc("GET /test/asset", func(w http.ResponseWriter, r *http.Request) { p.Render(w, r, 200, "a", "nope.png") })
	(scenario{url: "/test/asset", status: 500, contains: []string{"Đã có lỗi"}, notContains: []string{"nope.png", "before"}}).run(t, f)
}

func TestCSSIsMobileFirstAndMirrored(t *testing.T) {
	css, _ := fs.ReadFile(staticFS, "static/app.css")
	s := string(css)
	// Physical left/right would not mirror for Arabic.
	for _, bad := range []string{"margin-left", "margin-right", "padding-left", "padding-right", "text-align: left", "text-align: right", "border-left", "border-right", "float:", "max-width: "} {
		if bad == "max-width: " {
			if strings.Contains(s, "@media (max-width") {
				t.Error("desktop-first media query")
			}
			continue
		}
		if strings.Contains(s, bad) {
			t.Errorf("stylesheet uses %q", bad)
		}
	}
	if !strings.Contains(s, ":focus-visible") || !strings.Contains(s, "min-height: 48px") {
		t.Error("focus outlines or tap targets missing")
	}
}
