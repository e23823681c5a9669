package wallet

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/wallet_*.html
var pageTemplates embed.FS

//go:embed static/wallet_pages.css
var pageStyle []byte

// PagesOptions configure the wallet's pages.
type PagesOptions struct {
	Web      *web.Server
	Accounts Accounts
	Registry PageRegistry
	// Throttle counts wrong share codes per client (the e-ID's throttle).
	Throttle CodeThrottle
	// PublicURL is the site's public URL: shares open at
	// PUBLIC/wallet/v/CODE, which their QR codes hold.
	PublicURL string
	// Offer, when set, lets the holder send their own documents to a
	// wallet app (OpenID4VCI credential offers).
	Offer OfferFunc
}

// pages serves the holder's pages, shares and the verifier.
type pages struct {
	w        *Service
	shares   *Shares
	web      *web.Server
	pages    *web.Pages
	accounts Accounts
	reg      PageRegistry
	public   string
	style    string // the stylesheet's URL, named by its hash
	offerDoc OfferFunc
}

// when writes an instant as the pages show it, through the formatting
// layer: "7 December 2026, 05:20" in the province's zone.
func (h *pages) when(lang string, t time.Time) string {
	return web.FormatDateTime(h.web.Catalog(), lang, t)
}

// MountPages serves the holder's wallet (/wallet, /wallet/{id}, pulling
// from the registries, hiding), sharing by code and QR, the history of
// shares and checks, and the public verifier (/wallet/verify, /wallet/v/{code}).
func (s *Service) MountPages(o PagesOptions) error {
	if o.Web == nil || o.Accounts == nil || o.Registry == nil || o.Throttle == nil || o.PublicURL == "" {
		return errors.New("wallet: PagesOptions needs Web, Accounts, Registry, Throttle and PublicURL")
	}
	for _, key := range pageKeys() {
		if !o.Web.Catalog().Has(key) {
			return fmt.Errorf("wallet: message key %q is not in the catalogue", key)
		}
	}
	ps, err := o.Web.Pages(pageTemplates, "templates/wallet_*.html")
	if err != nil {
		return err
	}
	shares, err := NewShares(s, o.Throttle)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pageStyle)
	h := &pages{w: s, shares: shares, web: o.Web, pages: ps, accounts: o.Accounts, reg: o.Registry,
		public: strings.TrimSuffix(o.PublicURL, "/"), style: "/wallet/static/wallet-" + hex.EncodeToString(sum[:6]) + ".css", offerDoc: o.Offer}
	ws := o.Web
	ws.HandleFunc("GET /wallet", h.list)
	ws.HandleFunc("GET /wallet/history", h.history)
	ws.HandleFunc("POST /wallet/pull", h.pull)
	ws.HandleFunc("GET /wallet/{id}", h.document)
	ws.HandleFunc("POST /wallet/{id}/hidden", h.setHidden)
	ws.HandleFunc("POST /wallet/{id}/share", h.share)
	ws.HandleFunc("POST /wallet/{id}/offer", h.offer)
	ws.HandleFunc("GET /wallet/{id}/{file}", h.documentFile) // GET /wallet/{id}/pdf (pdf_http.go)
	ws.HandleFunc("POST /wallet/shares/{id}/end", h.endShare)
	ws.HandleFunc("GET /wallet/verify", h.verifyForm)
	ws.HandleFunc("GET /wallet/v/{code}", h.verifyLink)
	ws.HandleFunc("GET /wallet/static/{file}", h.stylesheet)
	return nil
}

// pageKeys are the message keys the pages build at run time, which the
// template check at start-up cannot see.
func pageKeys() []string {
	var keys []string
	for _, v := range Verdicts() {
		keys = append(keys, "walletpages.verdict."+v, "walletpages.verdict."+v+"_explain")
	}
	for _, st := range []string{"valid", "suspended", "revoked", "expired"} {
		keys = append(keys, "walletpages.status."+st)
	}
	for _, st := range []string{"live", "ended", "expired", "used"} {
		keys = append(keys, "walletpages.share_state."+st)
	}
	for _, n := range pageNotices {
		keys = append(keys, n)
	}
	return keys
}

// pageNotices maps ?done= to a message, never echoing the query.
var pageNotices = map[string]string{
	"pulled":  "walletpages.notice.pulled",
	"already": "walletpages.notice.already",
	"hidden":  "walletpages.notice.hidden",
	"shown":   "walletpages.notice.shown",
	"ended":   "walletpages.notice.ended",
	"none":    "walletpages.notice.none_held",
	// The registry's record (an insurance card) has ended.
	"record_ended":  "walletpages.notice.record_ended",
	"record_future": "walletpages.notice.record_future", // its validity has not begun
}

func pageNotice(r *http.Request) string { return pageNotices[r.URL.Query().Get("done")] }

// signedIn returns the signed-in, active account, or sends the browser to
// log in and come back.
func (h *pages) signedIn(w http.ResponseWriter, r *http.Request) (Account, bool) {
	a, err := h.account(r)
	if err == nil {
		return a, true
	}
	if kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return Account{}, false
	}
	next := "/wallet"
	if r.Method == http.MethodGet {
		next = r.URL.RequestURI()
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
	return Account{}, false
}

// account returns the request's active account; without one, Unauthenticated.
func (h *pages) account(r *http.Request) (Account, error) {
	sess, err := h.web.Session(r)
	if err != nil {
		return Account{}, err
	}
	if sess.AccountID == "" {
		return Account{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	a, err := h.accounts.Account(r.Context(), sess.AccountID)
	if kernel.ErrorCode(err) == kernel.NotFound || err == nil && !a.Active {
		return Account{}, kernel.E(kernel.Unauthenticated, "error.unauthenticated")
	}
	return a, err
}

// party is a holder the signed-in account may act for: themself, a
// dependent child, an organisation.
type party struct {
	Holder   Holder
	Kind     string // "self", "child" or "org"
	Name     string // of a child or organisation
	Ref      string // names it in forms: "self", "person:ID", "org:REG-NUMBER"
	onBehalf string // the audit's on_behalf_of: "", "person:ID", "org:ORG-ID"
}

func selfParty(a Account) party {
	return party{Holder: Holder{Kind: HolderPerson, ID: a.CitizenID}, Kind: "self", Ref: "self"}
}

// parties lists whom the account may act for: itself first, then its
// dependent children, then its organisations.
func (h *pages) parties(ctx context.Context, a Account) ([]party, error) {
	out := []party{selfParty(a)}
	deps, err := h.accounts.Dependents(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range deps {
		out = append(out, party{Holder: Holder{Kind: HolderPerson, ID: d.CitizenID}, Kind: "child", Name: d.Name,
			Ref: "person:" + d.CitizenID, onBehalf: "person:" + d.CitizenID})
	}
	orgs, err := h.accounts.Organisations(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		out = append(out, party{Holder: Holder{Kind: HolderOrganisation, ID: o.RegNumber}, Kind: "org", Name: o.Name,
			Ref: "org:" + o.RegNumber, onBehalf: "org:" + o.ID})
	}
	return out, nil
}

// actFor checks, again at this request, that the account may act for hd:
// it is the account's own citizen ID, a dependent child's, or an
// organisation's it belongs to. Anything else is Forbidden.
func (h *pages) actFor(ctx context.Context, a Account, hd Holder) (party, error) {
	switch hd.Kind {
	case HolderPerson:
		if hd.ID == a.CitizenID {
			return selfParty(a), nil
		}
		name, err := h.accounts.ActFor(ctx, a.ID, "person:"+hd.ID)
		if err != nil {
			return party{}, err
		}
		return party{Holder: hd, Kind: "child", Name: name, Ref: "person:" + hd.ID, onBehalf: "person:" + hd.ID}, nil
	case HolderOrganisation:
		orgs, err := h.accounts.Organisations(ctx, a.ID)
		if err != nil {
			return party{}, err
		}
		for _, o := range orgs {
			if o.RegNumber == hd.ID {
				name, err := h.accounts.ActFor(ctx, a.ID, "org:"+o.ID)
				if err != nil {
					return party{}, err
				}
				return party{Holder: hd, Kind: "org", Name: name, Ref: "org:" + hd.ID, onBehalf: "org:" + o.ID}, nil
			}
		}
	}
	return party{}, kernel.E(kernel.Forbidden, "error.identity.cannot_act_for")
}

// partyOfRef reads a form's holder reference and checks it.
func (h *pages) partyOfRef(ctx context.Context, a Account, ref string) (party, error) {
	if ref == "self" || ref == "" {
		return selfParty(a), nil
	}
	kind, id, _ := strings.Cut(ref, ":")
	switch kind {
	case "person":
		return h.actFor(ctx, a, Holder{Kind: HolderPerson, ID: id})
	case "org":
		return h.actFor(ctx, a, Holder{Kind: HolderOrganisation, ID: id})
	}
	return party{}, kernel.E(kernel.Forbidden, "error.identity.cannot_act_for")
}

// documentParty finds whose document id is and checks that the account may
// act for them. A document the account may not see is NotFound, as one
// that does not exist: its existence is not for strangers to learn.
func (h *pages) documentParty(ctx context.Context, a Account, id string) (party, error) {
	var hd Holder
	err := h.w.o.DB.QueryRow(ctx, `SELECT holder_kind, holder_id FROM wallet_documents WHERE id = ?`, id).Scan(&hd.Kind, &hd.ID)
	if err != nil {
		return party{}, kernel.E(kernel.NotFound, "wallet.error.no_document").WithCause(err)
	}
	p, err := h.actFor(ctx, a, hd)
	if kernel.ErrorCode(err) == kernel.Forbidden {
		return party{}, kernel.E(kernel.NotFound, "wallet.error.no_document").WithCause(err)
	}
	return p, err
}

// asActor is ctx with the account as actor, on behalf of p. The session
// middleware already names the signed-in account; only acting for someone
// else than the session says (a child, an organisation chosen on the
// form) needs an actor of its own.
func asActor(ctx context.Context, a Account, p party) context.Context {
	want := kernel.Actor{Kind: kernel.ActorCitizen, ID: a.ID, OnBehalfOf: p.onBehalf}
	if kernel.ActorFrom(ctx) == want {
		return ctx
	}
	return kernel.WithActor(ctx, want)
}

// docView is a document as the list and the details show it.
type docView struct {
	ID         string
	TypeName   string
	AgencyName string
	Status     string        // valid, suspended, revoked, expired: the CSS class and the message key
	StatusText string        // Status in the reader's language
	Card       template.HTML // the list's card, made by card
	Issued     string
	IssuedISO  string
	Expires    string // "" when it does not expire
	ExpiresISO string
	Hidden     bool
}

// cardLabels are a list card's labels in the reader's language, looked up
// once per page.
type cardLabels struct{ Agency, Status, Expires, Hidden, NoExpiry string }

// card is the document's card in the list, escaped here: a wallet of fifty
// documents through html/template spent most of its time in the escapers'
// reflective calls (12 a card), the page's whole cost. Every value is
// escaped with html.EscapeString; IDs and statuses are our own tokens.
func (v docView) card(l *cardLabels) template.HTML {
	e := html.EscapeString
	var b strings.Builder
	b.Grow(640)
	b.WriteString(`<li class="card document" id="doc-` + e(v.ID) + `">` + "\n")
	b.WriteString(`<h3><a href="/wallet/` + url.PathEscape(v.ID) + `" class="document-link">` + e(v.TypeName) + "</a></h3>\n")
	b.WriteString(`<dl class="facts">` + "\n")
	b.WriteString(`<dt>` + e(l.Agency) + `</dt><dd class="document-agency">` + e(v.AgencyName) + "</dd>\n")
	b.WriteString(`<dt>` + e(l.Status) + `</dt><dd><span class="status status-` + e(v.Status) + ` document-status">` + e(v.StatusText) + `</span>`)
	if v.Hidden {
		b.WriteString(` <span class="hint">` + e(l.Hidden) + `</span>`)
	}
	b.WriteString("</dd>\n<dt>" + e(l.Expires) + `</dt><dd>`)
	if v.Expires != "" {
		b.WriteString(`<time datetime="` + e(v.ExpiresISO) + `"><bdi>` + e(v.Expires) + `</bdi></time>`)
	} else {
		b.WriteString(e(l.NoExpiry))
	}
	b.WriteString("</dd>\n</dl>\n</li>\n")
	return template.HTML(b.String())
}

// agencyNames looks agencies' names up once per page.
type agencyNames struct {
	reg PageRegistry
	ctx context.Context
	m   map[string]string
}

func (n *agencyNames) agency(code string) string {
	if v, ok := n.m[code]; ok {
		return v
	}
	v := code
	if a, err := n.reg.Agency(n.ctx, code); err == nil {
		v = a.Name
	}
	n.m[code] = v
	return v
}

func (h *pages) names(ctx context.Context) *agencyNames {
	return &agencyNames{reg: h.reg, ctx: ctx, m: map[string]string{}}
}

func (h *pages) docView(d Document, lang string, n *agencyNames, now time.Time) docView {
	v := docView{ID: d.ID, TypeName: d.Type, AgencyName: n.agency(d.Agency), Status: docStatus(d, now), Hidden: d.Hidden,
		Issued: h.when(lang, d.IssuedAt), IssuedISO: d.IssuedAt.Format(time.RFC3339)}
	if t, err := h.w.o.Catalogue.Type(d.Type); err == nil {
		v.TypeName = t.Name(lang)
	}
	if !d.ExpiresAt.IsZero() {
		v.Expires, v.ExpiresISO = h.when(lang, d.ExpiresAt), d.ExpiresAt.Format(time.RFC3339)
	}
	return v
}

func docStatus(d Document, now time.Time) string {
	switch {
	case d.Status == StatusRevoked:
		return "revoked"
	case d.Status == StatusSuspended:
		return "suspended"
	case !d.ExpiresAt.IsZero() && !now.Before(d.ExpiresAt):
		return "expired"
	}
	return "valid"
}

// walletSection is one holder's documents on the list.
type walletSection struct {
	Party     party
	Documents []docView
	Hidden    int        // hidden documents left out
	Pull      []pullView // types the holder can pull from the registries
}

type pullView struct{ Code, Name string }

type listData struct {
	Style      string
	Notice     string
	ShowHidden bool
	Sections   []walletSection
}

func (h *pages) list(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	ps, err := h.parties(ctx, a)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	lang, now, n := web.LangFrom(ctx), h.w.o.Clock.Now(), h.names(ctx)
	d := listData{Style: h.style, Notice: pageNotice(r), ShowHidden: r.URL.Query().Get("hidden") == "1"}
	labels := cardLabels{Agency: h.web.T(r, "walletpages.doc.agency"), Status: h.web.T(r, "walletpages.doc.status"),
		Expires: h.web.T(r, "walletpages.doc.expires"), Hidden: h.web.T(r, "walletpages.doc.hidden"), NoExpiry: h.web.T(r, "walletpages.doc.no_expiry")}
	for _, p := range ps {
		docs, err := h.w.Documents(ctx, p.Holder, true)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		sec := walletSection{Party: p}
		for _, doc := range docs {
			if doc.Hidden && !d.ShowHidden {
				sec.Hidden++
				continue
			}
			v := h.docView(doc, lang, n, now)
			v.StatusText = h.web.T(r, "walletpages.status."+v.Status)
			v.Card = v.card(&labels)
			sec.Documents = append(sec.Documents, v)
		}
		pullable, err := h.w.Pullable(ctx, p.Holder)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		for _, t := range pullable {
			sec.Pull = append(sec.Pull, pullView{Code: t.Code, Name: t.Name(lang)})
		}
		d.Sections = append(d.Sections, sec)
	}
	h.pages.Render(w, r, http.StatusOK, "wallet_list", d)
}

func (h *pages) pull(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	p, err := h.partyOfRef(r.Context(), a, r.PostFormValue("holder"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	_, err = h.w.Pull(asActor(r.Context(), a, p), h.reg, p.Holder, r.PostFormValue("type"))
	// What the registry holds, or not, is told on the wallet page.
	switch k, _ := kernel.ErrorKey(err); k {
	case "walletpages.error.already_held":
		http.Redirect(w, r, "/wallet?done=already", http.StatusSeeOther)
		return
	case "error.registry.insurance_card_not_found", "wallet.error.no_vehicle":
		http.Redirect(w, r, "/wallet?done=none", http.StatusSeeOther)
		return
	case "wallet.error.record_expired":
		http.Redirect(w, r, "/wallet?done=record_ended", http.StatusSeeOther)
		return
	case "wallet.error.record_not_yet_valid":
		http.Redirect(w, r, "/wallet?done=record_future", http.StatusSeeOther)
		return
	}
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/wallet?done=pulled", http.StatusSeeOther)
}

// pageClaim is one claim with its label in the reader's language.
type pageClaim struct {
	Name    string
	Label   string
	Value   string
	Checked bool // chosen on the share form
}

// claimValue writes a claim's value as received.
func claimValue(v any, yes, no string) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return yes
		}
		return no
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// orderedClaims lists claims in the type's order, then any others by name.
func orderedClaims(t Type, claims map[string]any, lang, yes, no string) []pageClaim {
	var out []pageClaim
	seen := map[string]bool{}
	for _, c := range t.Claims {
		if v, ok := claims[c.Name]; ok {
			out = append(out, pageClaim{Name: c.Name, Label: t.Label(c.Name, lang), Value: claimValue(v, yes, no)})
			seen[c.Name] = true
		}
	}
	var rest []string
	for k := range claims {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, pageClaim{Name: k, Label: t.Label(k, lang), Value: claimValue(claims[k], yes, no)})
	}
	return out
}

// shareView is a share on the holder's pages.
type shareView struct {
	ID         string
	Claims     []string // labels
	Purpose    string
	Created    string
	Expires    string
	ExpiresISO string
	State      string // live, ended, expired, used
	Uses       int
	MaxUses    int
}

func shareState(sh Share, now time.Time) string {
	switch sh.Gone(now) {
	case VerdictShareEnded:
		return "ended"
	case VerdictShareExpired:
		return "expired"
	case VerdictShareUsed:
		return "used"
	}
	return "live"
}

func (h *pages) newShareView(sh Share, t Type, lang string, now time.Time) shareView {
	v := shareView{ID: sh.ID, Purpose: sh.Purpose, State: shareState(sh, now), Uses: sh.Uses, MaxUses: sh.MaxUses,
		Created: h.when(lang, sh.CreatedAt), Expires: h.when(lang, sh.ExpiresAt),
		ExpiresISO: sh.ExpiresAt.Format(time.RFC3339)}
	for _, c := range sh.Claims {
		v.Claims = append(v.Claims, t.Label(c, lang))
	}
	return v
}

// formChoice is an option of the share form.
type formChoice struct {
	Value    string
	Key      string
	Selected bool
}

// shareTTLs are the expiries a holder chooses from; the first is the default.
var shareTTLs = []struct {
	value string
	ttl   time.Duration
	key   string
}{
	{"5m", 5 * time.Minute, "walletpages.share.ttl_5m"},
	{"1h", time.Hour, "walletpages.share.ttl_1h"},
	{"1d", 24 * time.Hour, "walletpages.share.ttl_1d"},
}

// shareUses are the use limits a holder chooses from; the first is the
// default: a phone's camera app may open the link once to preview it, so
// "once" would often be spent before the verifier looks.
var shareUses = []struct {
	value string
	uses  int
	key   string
}{
	{"any", 0, "walletpages.share.uses_any"},
	{"1", 1, "walletpages.share.uses_once"},
}

type documentData struct {
	Style      string
	Notice     string
	Party      party
	Doc        docView
	Claims     []pageClaim
	CanShare   bool
	CanOffer   bool // the holder's own document, and offers are on
	CanPDF     bool // PDFs are on and the document is neither revoked nor suspended
	Shares     []shareView
	TTLs       []formChoice
	Uses       []formChoice
	Purpose    string
	MaxPurpose int
	Error      string // about the share form
}

func (h *pages) document(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	h.renderDocument(w, r, a, http.StatusOK, nil, "")
}

// renderDocument shows a document's details and the share form; form and
// errMsg refill the form after a mistake.
func (h *pages) renderDocument(w http.ResponseWriter, r *http.Request, a Account, status int, form url.Values, errMsg string) {
	ctx := r.Context()
	id := r.PathValue("id")
	p, err := h.documentParty(ctx, a, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	doc, err := h.w.Document(ctx, p.Holder, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	lang, now := web.LangFrom(ctx), h.w.o.Clock.Now()
	t, err := h.w.o.Catalogue.Type(doc.Type)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	live, err := h.shares.Live(ctx, p.Holder, doc.ID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := documentData{Style: h.style, Notice: pageNotice(r), Party: p, Doc: h.docView(doc.Document, lang, h.names(ctx), now),
		Claims:   orderedClaims(t, doc.Claims, lang, h.web.T(r, "walletpages.yes"), h.web.T(r, "walletpages.no")),
		CanShare: doc.Valid(now), MaxPurpose: MaxPurpose, Error: errMsg,
		CanOffer: doc.Valid(now) && h.offerDoc != nil && p.Kind == "self" && t.Holder == HolderPerson,
		CanPDF:   h.w.PDFEnabled() && doc.Status != StatusRevoked && doc.Status != StatusSuspended}
	for _, sh := range live {
		d.Shares = append(d.Shares, h.newShareView(sh, t, lang, now))
	}
	chosen := map[string]bool{}
	for _, c := range form["claim"] {
		chosen[c] = true
	}
	for i := range d.Claims {
		d.Claims[i].Checked = chosen[d.Claims[i].Name]
	}
	d.Purpose = form.Get("purpose")
	for i, o := range shareTTLs {
		d.TTLs = append(d.TTLs, formChoice{Value: o.value, Key: o.key, Selected: form.Get("ttl") == o.value || form.Get("ttl") == "" && i == 0})
	}
	for i, o := range shareUses {
		d.Uses = append(d.Uses, formChoice{Value: o.value, Key: o.key, Selected: form.Get("uses") == o.value || form.Get("uses") == "" && i == 0})
	}
	h.pages.Render(w, r, status, "wallet_document", d)
}

func (h *pages) setHidden(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	p, err := h.documentParty(r.Context(), a, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	hide := r.PostFormValue("hidden") == "1"
	if err := h.w.SetHidden(asActor(r.Context(), a, p), p.Holder, id, hide); err != nil {
		h.web.Error(w, r, err)
		return
	}
	done := "shown"
	if hide {
		done = "hidden"
	}
	http.Redirect(w, r, "/wallet/"+url.PathEscape(id)+"?done="+done, http.StatusSeeOther)
}

// clientKey names the client for the throttle of wrong codes: its IP
// address, or its /64 network for IPv6 (one host often has a whole /64).
func clientKey(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := ap.Addr().Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
