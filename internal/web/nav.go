package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Audience says who sees a navigation entry.
type Audience int

// The audiences of navigation entries.
const (
	Everyone  Audience = iota // anonymous and signed-in readers
	SignedIn                  // only signed-in readers
	Anonymous                 // only readers who are not signed in
	Officials                 // only signed-in officials (who hold a post), not acting for another
)

// OfficialDirectory says whether an account holds a post, for the entries
// only officials see. The web layer knows no registry of officials: the
// app gives it one with SetOfficials. Without one, no reader is an official.
type OfficialDirectory interface {
	IsOfficial(ctx context.Context, accountID string) (bool, error)
}

// SetOfficials gives the navigation its directory of officials. Call it at
// start-up, before serving.
func (s *Server) SetOfficials(d OfficialDirectory) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.officials = d
}

// NavItem is one entry of the site's service navigation, shown in the
// header of every page. Each capability adds its own entries when it mounts,
// so the navigation is declared in one place per capability and the layout
// never names a capability.
type NavItem struct {
	Key   string   // catalogue key of the label, e.g. "nav.wallet"
	Path  string   // where it leads; the entry is current on this path and below it
	Order int      // place from the start: smaller first (home is 0)
	Who   Audience // who sees it
}

// NavLink is a navigation entry as one page shows it.
type NavLink struct {
	Label   string
	Href    string
	Current bool
}

// AddNav adds an entry to the service navigation. Call it at start-up,
// before serving. An entry for a path already present replaces it.
func (s *Server) AddNav(item NavItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nav = slices.DeleteFunc(s.nav, func(n NavItem) bool { return n.Path == item.Path })
	s.nav = append(s.nav, item)
	slices.SortStableFunc(s.nav, func(a, b NavItem) int { return a.Order - b.Order })
}

// NavItems returns the navigation entries in order, for tests and for pages
// that list every service (the site map).
func (s *Server) NavItems() []NavItem {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.nav)
}

// Nav returns the navigation as the reader of this page sees it. Whether
// the reader is signed in costs a database read only when an entry depends
// on it and the request carries a session cookie.
func (v *View) Nav() []NavLink {
	items := v.s.NavItems()
	out := make([]NavLink, 0, len(items))
	var signedIn, official *bool
	for _, it := range items {
		switch it.Who {
		case SignedIn, Anonymous:
			if signedIn == nil {
				b := v.SignedIn()
				signedIn = &b
			}
			if (it.Who == SignedIn) != *signedIn {
				continue
			}
		case Officials:
			if official == nil {
				b := v.official()
				official = &b
			}
			if !*official {
				continue
			}
		}
		out = append(out, NavLink{Label: v.T(it.Key), Href: it.Path, Current: v.r != nil && navCurrent(v.r, it.Path)})
	}
	return out
}

// official reports whether the reader is a signed-in official acting for
// nobody else. A directory that fails leaves the entry out: the pages
// behind it check again and say what is wrong.
func (v *View) official() bool {
	if v.r == nil {
		return false
	}
	v.s.mu.RLock()
	d := v.s.officials
	v.s.mu.RUnlock()
	if d == nil {
		return false
	}
	sess, err := v.s.Session(v.r)
	if err != nil || sess.AccountID == "" || sess.ActingFor != "" {
		return false
	}
	ok, err := d.IsOfficial(v.r.Context(), sess.AccountID)
	if err != nil {
		v.s.log.WarnContext(v.r.Context(), "navigation: officials directory failed", "error", err)
		return false
	}
	return ok
}

// navCurrent reports whether the request is at path or below it ("/" only
// matches itself).
func navCurrent(r *http.Request, path string) bool {
	p := r.URL.Path
	if path == "/" {
		return p == "/"
	}
	return p == path || strings.HasPrefix(p, strings.TrimSuffix(path, "/")+"/")
}

// Offers reports whether a service with a navigation entry at path is
// mounted, so a page (the home page's cards) links only to what exists.
func (v *View) Offers(path string) bool {
	return slices.ContainsFunc(v.s.NavItems(), func(n NavItem) bool { return n.Path == path })
}

// HelpLine is the province's help line, for the footer of every page.
func (v *View) HelpLine() string { return v.s.helpLine }

// HomeLink is a link the home page lists below the services, for pages that
// are not a service of their own (the demo province's people).
type HomeLink struct {
	Key  string // catalogue key of the label
	Path string
}

// AddHomeLink adds a link to the home page. Call it at start-up, before
// serving; a link to a path already present replaces it.
func (s *Server) AddHomeLink(key, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.homeLinks = slices.DeleteFunc(s.homeLinks, func(l HomeLink) bool { return l.Path == path })
	s.homeLinks = append(s.homeLinks, HomeLink{Key: key, Path: path})
}

// HomeLinks returns the home page's extra links.
func (v *View) HomeLinks() []HomeLink {
	v.s.mu.RLock()
	defer v.s.mu.RUnlock()
	return slices.Clone(v.s.homeLinks)
}
