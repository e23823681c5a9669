package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	"civitas/internal/i18n"
	"civitas/internal/kernel"
)

//go:embed templates
var templateFS embed.FS

func ownTemplates() fs.FS { return templateFS }

// layoutFile holds the shared layout. It defines "layout", which a page
// executes, and calls "content", which every page must define; a page may
// also define "title".
const layoutFile = "templates/layout/layout.html"

// Pages is a set of page templates, each parsed into its own copy of the
// shared layout. Build it once at start-up with Server.Pages.
type Pages struct {
	s     *Server
	pages map[string]*template.Template
}

// parseLayout parses the layout with the template functions. The result is
// never executed, because html/template cannot clone a template after that.
func (s *Server) parseLayout() (*template.Template, error) {
	t, err := template.New("layout.html").Funcs(template.FuncMap{
		"asset": s.assets.url,
	}).ParseFS(templateFS, layoutFile)
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	return t, nil
}

// Pages parses a capability's page templates from fsys. Every file matching
// the patterns is one page, named by its base name without extension
// ("templates/wallet_list.html" is "wallet_list"), except files whose name
// starts with "_": those are partials, parsed into every page of the set.
//
// It fails, naming the file, when a template does not parse, does not define
// "content", uses a {{.T "key"}} that the catalogue lacks or an {{asset
// "name"}} that static/ lacks, or is unsafe for html/template's contextual
// escaping (found by rendering each page once now).
func (s *Server) Pages(fsys fs.FS, patterns ...string) (*Pages, error) {
	var files []string
	for _, pat := range patterns {
		m, err := fs.Glob(fsys, pat)
		if err != nil {
			return nil, fmt.Errorf("web: pages: %w", err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("web: pages: pattern %q matches no file", pat)
		}
		for _, f := range m {
			if !slices.Contains(files, f) {
				files = append(files, f)
			}
		}
	}
	var partials, pages []string
	for _, f := range files {
		if strings.HasPrefix(path.Base(f), "_") {
			partials = append(partials, f)
		} else {
			pages = append(pages, f)
		}
	}
	p := &Pages{s: s, pages: make(map[string]*template.Template, len(pages))}
	for _, f := range pages {
		name := strings.TrimSuffix(path.Base(f), path.Ext(f))
		if _, dup := p.pages[name]; dup {
			return nil, fmt.Errorf("web: pages: two pages named %q", name)
		}
		t, err := s.parsePage(fsys, f, partials)
		if err != nil {
			return nil, fmt.Errorf("web: page %s: %w", f, err)
		}
		p.pages[name] = t
	}
	return p, nil
}

func (s *Server) parsePage(fsys fs.FS, file string, partials []string) (*template.Template, error) {
	t, err := s.base.Clone()
	if err != nil {
		return nil, err
	}
	if len(partials) > 0 {
		if t, err = t.ParseFS(fsys, partials...); err != nil {
			return nil, err
		}
	}
	if t, err = t.ParseFS(fsys, file); err != nil {
		return nil, err
	}
	if t.Lookup("content") == nil {
		return nil, errors.New(`it does not define "content"`)
	}
	if missing := s.checkLiterals(t); len(missing) > 0 {
		return nil, fmt.Errorf("it names what does not exist: %s", strings.Join(missing, ", "))
	}
	// html/template escapes a template the first time it runs. Run it now
	// with an empty view so an escaping error stops start-up; errors from
	// the missing data are expected and ignored.
	probe := &View{s: s, Lang: s.catalog.Lang(i18n.Default), Version: s.version}
	if err := t.ExecuteTemplate(io.Discard, "layout", probe); err != nil {
		var escErr *template.Error
		if errors.As(err, &escErr) {
			return nil, err
		}
	}
	return t, nil
}

// checkLiterals lists what t names but nothing provides: the literal keys of
// {{.T "key"}} and {{$.T "key"}} calls missing from the catalogue, and the
// literal names of {{asset "name"}} calls missing from static/. Names built
// at run time cannot be checked; pass translated strings in the data instead.
func (s *Server) checkLiterals(t *template.Template) []string {
	var missing []string
	add := func(what string) {
		if !slices.Contains(missing, what) {
			missing = append(missing, what)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		keys, names := templateLiterals(tt.Tree.Root)
		for _, key := range keys {
			if !s.catalog.Has(key) {
				add("key " + strconv.Quote(key))
			}
		}
		for _, name := range names {
			if _, ok := s.assets.byName[name]; !ok {
				add("static file " + strconv.Quote(name))
			}
		}
	}
	slices.Sort(missing)
	return missing
}

// templateLiterals walks a parse tree for the literal arguments of
// translation calls (keys) and of the asset function (static file names).
func templateLiterals(n parse.Node) (keys, assetNames []string) {
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				if sn, ok := n.Args[1].(*parse.StringNode); ok {
					if isTranslateCall(n.Args[0]) {
						keys = append(keys, sn.Text)
					} else if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "asset" {
						assetNames = append(assetNames, sn.Text)
					}
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
		}
	}
	walk(n)
	return keys, assetNames
}

// isTranslateCall reports whether n is .T or $.T.
func isTranslateCall(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.FieldNode:
		return len(n.Ident) == 1 && n.Ident[0] == "T"
	case *parse.VariableNode:
		return len(n.Ident) == 2 && n.Ident[0] == "$" && n.Ident[1] == "T"
	}
	return false
}

// Render executes the page name inside the layout and writes it with the
// given status. The page is rendered into a buffer first, so a template
// error becomes a clean error page, never half a page.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if err := p.render(w, r, status, name, data); err != nil {
		p.s.Error(w, r, kernel.Wrap(err, "web: render %s", name))
	}
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) error {
	t, ok := p.pages[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	buf := p.s.getBuffer()
	defer p.s.putBuffer(buf)
	v := p.s.newView(w, r, data)
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang.Code)
	// Pages may carry personal data and a CSRF token: no cache may keep them.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
	return nil
}

// Has reports whether the set has a page of that name.
func (p *Pages) Has(name string) bool { _, ok := p.pages[name]; return ok }

func (s *Server) getBuffer() *bytes.Buffer {
	if b, ok := s.bufs.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

func (s *Server) putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // a huge page should not pin its memory forever
		s.bufs.Put(b)
	}
}

// View is what every template sees as its dot: the page's own data in Data,
// and helpers for the layout. Inside {{range}} or {{with}}, reach them
// through $, as in {{$.T "key"}}.
type View struct {
	Data      any
	Lang      i18n.Lang
	RequestID string
	Version   string

	s *Server
	w http.ResponseWriter
	r *http.Request
}

func (s *Server) newView(w http.ResponseWriter, r *http.Request, data any) *View {
	return &View{
		Data:      data,
		Lang:      s.catalog.Lang(s.langOf(r)),
		RequestID: kernel.RequestIDFrom(r.Context()),
		Version:   s.version,
		s:         s,
		w:         w,
		r:         r,
	}
}

// T translates key into the page's language.
func (v *View) T(key string, args ...any) string {
	return v.s.catalog.T(v.Lang.Code, key, args...)
}

// LangLink is one entry of the language switcher.
type LangLink struct {
	Lang    i18n.Lang
	Href    string // the current page with ?lang= set, other parameters kept
	Current bool
}

// Langs returns the language switcher's links.
func (v *View) Langs() []LangLink {
	langs := v.s.catalog.Langs()
	out := make([]LangLink, len(langs))
	q := url.Values{}
	if v.r != nil && v.r.URL.RawQuery != "" {
		q = v.r.URL.Query()
	}
	for i, l := range langs {
		q.Set("lang", l.Code)
		out[i] = LangLink{Lang: l, Href: "?" + q.Encode(), Current: l.Code == v.Lang.Code}
	}
	return out
}

// SignedIn reports whether the reader is logged in, for the header's links.
// Readers without a session cookie cost no database read.
func (v *View) SignedIn() bool {
	if v.r == nil {
		return false
	}
	sess, err := v.s.Session(v.r)
	return err == nil && sess.AccountID != ""
}

// CSRFToken returns the session's CSRF token, starting a session (and
// setting its cookie) if the reader has none yet. Pages without forms never
// call it, so anonymous readers of plain pages get no session at all.
func (v *View) CSRFToken() (string, error) {
	if v.r == nil { // the start-up probe
		return "", nil
	}
	return v.s.CSRFToken(v.w, v.r)
}

// CSRFField returns the hidden form field that carries the CSRF token.
func (v *View) CSRFField() (template.HTML, error) {
	tok, err := v.CSRFToken()
	if err != nil {
		return "", err
	}
	return template.HTML(`<input type="hidden" name="` + formCSRF + `" value="` + html.EscapeString(tok) + `">`), nil
}
