package wallet

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"rsc.io/qr"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// QRPNG draws text as a QR code (error correction M, 6 pixels a module,
// with the quiet zone) in a PNG.
func QRPNG(text string) ([]byte, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return nil, kernel.Wrap(err, "wallet: QR code")
	}
	c.Scale = 6
	return c.PNG(), nil
}

// VerifyURL is where a share opens: what its QR code holds.
func (h *pages) verifyURL(code string) string { return h.public + "/wallet/v/" + code }

type shareData struct {
	Style      string
	Code       string // in two groups, as people read it
	URL        string
	QR         template.URL // a data: URL of the PNG
	TypeName   string
	DocumentID string
	Share      shareView
}

// share makes a share and shows its code and QR code, once: only a hash of
// the code is kept, so this answer is the only place it appears.
func (h *pages) share(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	p, err := h.documentParty(ctx, a, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		h.web.Error(w, r, kernel.E(kernel.Invalid, "error.invalid").WithCause(err))
		return
	}
	ttl, uses := time.Duration(0), -1
	for _, o := range shareTTLs {
		if r.PostForm.Get("ttl") == o.value {
			ttl = o.ttl
		}
	}
	for _, o := range shareUses {
		if r.PostForm.Get("uses") == o.value {
			uses = o.uses
		}
	}
	sh, code, err := h.shares.Create(asActor(ctx, a, p), NewShare{Holder: p.Holder, DocumentID: id, Claims: r.PostForm["claim"],
		Purpose: r.PostForm.Get("purpose"), TTL: ttl, MaxUses: uses, By: a.ID})
	if err != nil {
		if kernel.ErrorCode(err) == kernel.Invalid {
			// A mistake on the form: show it again, filled in, with what to fix.
			key, args := kernel.ErrorKey(err)
			h.renderDocument(w, r, a, http.StatusBadRequest, r.PostForm, h.web.T(r, key, args...))
			return
		}
		h.web.Error(w, r, err)
		return
	}
	doc, err := h.w.Document(ctx, p.Holder, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	t, err := h.w.o.Catalogue.Type(doc.Type)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	link := h.verifyURL(code)
	png, err := QRPNG(link)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	lang := web.LangFrom(ctx)
	h.pages.Render(w, r, http.StatusOK, "wallet_share", shareData{Style: h.style, Code: FormatCode(code), URL: link,
		QR:       template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		TypeName: t.Name(lang), DocumentID: doc.ID, Share: h.newShareView(sh, t, lang, h.w.o.Clock.Now())})
}

func (h *pages) endShare(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var hd Holder
	var docID string
	err := h.w.o.DB.QueryRow(ctx, `SELECT holder_kind, holder_id, document_id FROM wallet_shares WHERE id = ?`, r.PathValue("id")).Scan(&hd.Kind, &hd.ID, &docID)
	if err != nil {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "walletpages.error.no_share").WithCause(err))
		return
	}
	p, err := h.actFor(ctx, a, hd)
	if kernel.ErrorCode(err) == kernel.Forbidden {
		err = kernel.E(kernel.NotFound, "walletpages.error.no_share").WithCause(err)
	}
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	if err := h.shares.End(asActor(ctx, a, p), p.Holder, r.PathValue("id")); err != nil {
		h.web.Error(w, r, err)
		return
	}
	back := "/wallet/" + url.PathEscape(docID) + "?done=ended"
	if r.PostFormValue("back") == "history" {
		back = "/wallet/history?done=ended"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// officialPost is one of an official's posts, to choose in whose name they verify.
type officialPost struct {
	Code, Name string
	Selected   bool
}

type verifyFormData struct {
	Style string
	Error string
	Posts []officialPost // an official's posts; more than one: they choose
}

type verdictData struct {
	Style    string
	Verdict  string // a Verdict* constant: CSS class and message keys
	Good     bool
	TypeName string
	Agency   string
	Claims   []pageClaim
	Purpose  string
	KeyBound bool
	Official string // the agency the check is recorded for, or ""
}

// official returns the posts of a signed-in official and the one chosen
// (the ?agency= one if it is theirs, else the first); none for the public.
func (h *pages) official(r *http.Request) (Account, []officialPost, *OfficialPost, error) {
	a, err := h.account(r)
	if kernel.ErrorCode(err) == kernel.Unauthenticated {
		return Account{}, nil, nil, nil
	}
	if err != nil {
		return Account{}, nil, nil, err
	}
	offs, err := h.accounts.Posts(r.Context(), a.ID)
	if err != nil || len(offs) == 0 {
		return a, nil, nil, err
	}
	want := r.URL.Query().Get("agency")
	chosen := 0
	var posts []officialPost
	seen := map[string]bool{}
	for i, o := range offs {
		if seen[o.Agency.Code] {
			continue
		}
		seen[o.Agency.Code] = true
		if o.Agency.Code == want {
			chosen = i
		}
		posts = append(posts, officialPost{Code: o.Agency.Code, Name: o.Agency.Name})
	}
	for i := range posts {
		posts[i].Selected = posts[i].Code == offs[chosen].Agency.Code
	}
	return a, posts, &offs[chosen], nil
}

func (h *pages) verifyForm(w http.ResponseWriter, r *http.Request) {
	if code := r.URL.Query().Get("code"); code != "" {
		h.verify(w, r, code)
		return
	}
	_, posts, _, err := h.official(r)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "wallet_verify", verifyFormData{Style: h.style, Posts: postChoices(posts)})
}

func (h *pages) verifyLink(w http.ResponseWriter, r *http.Request) {
	h.verify(w, r, r.PathValue("code"))
}

func postChoices(posts []officialPost) []officialPost {
	if len(posts) < 2 {
		return nil
	}
	return posts
}

// verify checks a share for whoever opened it: the public, or an official
// whose check is recorded with their agency. The page shows the verdict,
// the type, the issuing agency, the claims the holder chose and their
// purpose — nothing else.
func (h *pages) verify(w http.ResponseWriter, r *http.Request, code string) {
	w.Header().Set("X-Robots-Tag", "noindex, nofollow")
	if r.Method == http.MethodHead {
		// A link preview's HEAD must not spend a use or count as a check.
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	a, posts, off, err := h.official(r)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	v := Verifier{Client: clientKey(r), Audience: h.public + "/wallet/verify"}
	official := ""
	if off != nil {
		v.Agency, v.Account, v.Audience = off.Agency.Code, a.ID, "urn:civitas:agency:"+off.Agency.Code
		official = off.Agency.Name
		ctx = kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorOfficial, ID: a.ID})
	}
	c, err := h.shares.Check(ctx, code, v)
	switch kernel.ErrorCode(err) {
	case "":
	case kernel.NotFound:
		key, args := kernel.ErrorKey(err)
		h.pages.Render(w, r, http.StatusNotFound, "wallet_verify", verifyFormData{Style: h.style, Error: h.web.T(r, key, args...), Posts: postChoices(posts)})
		return
	case kernel.TooManyRequests:
		w.Header().Set("Retry-After", "60")
		h.web.Error(w, r, err)
		return
	default:
		h.web.Error(w, r, err)
		return
	}
	d := verdictData{Style: h.style, Verdict: c.Verdict, Good: c.Verdict == VerdictValid, Official: official}
	switch c.Verdict {
	case VerdictShareEnded, VerdictShareExpired, VerdictShareUsed:
		h.pages.Render(w, r, http.StatusGone, "wallet_gone", d)
		return
	}
	lang := web.LangFrom(ctx)
	if c.Type.Code != "" {
		d.TypeName = c.Type.Name(lang)
	}
	if c.Agency != "" {
		d.Agency = h.names(ctx).agency(c.Agency)
	}
	if d.Good {
		d.Purpose, d.KeyBound = c.Share.Purpose, c.KeyBound
		d.Claims = orderedClaims(c.Type, c.Claims, lang, h.web.T(r, "walletpages.yes"), h.web.T(r, "walletpages.no"))
	}
	h.pages.Render(w, r, http.StatusOK, "wallet_verdict", d)
}

// historySection is one holder's history.
type historySection struct {
	Party   party
	Events  []eventView
	Queries []queryView // other capabilities asking whether a document is held
}

// queryView is one query about the holder's documents.
type queryView struct {
	At, AtISO string
	TypeName  string
	Who       string // the agency, or the application or capability asking
	Purpose   string
	Answer    bool
	Claims    []string // labels of the claims given
}

type eventView struct {
	At       string
	AtISO    string
	Check    bool
	Verifier string // "" for the public, else the agency's name
	Verdict  string
	TypeName string
	Share    shareView
}

type historyData struct {
	Style    string
	Notice   string
	Sections []historySection
}

func (h *pages) history(w http.ResponseWriter, r *http.Request) {
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
	d := historyData{Style: h.style, Notice: pageNotice(r)}
	for _, p := range ps {
		events, err := h.shares.History(ctx, p.Holder, 200)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		sec := historySection{Party: p}
		for _, e := range events {
			t, _ := h.w.o.Catalogue.Type(e.DocType)
			v := eventView{At: h.when(lang, e.At), AtISO: e.At.Format(time.RFC3339), Check: e.Check,
				Verdict: e.Verdict, TypeName: e.DocType, Share: h.newShareView(e.Share, t, lang, now)}
			if t.Code != "" {
				v.TypeName = t.Name(lang)
			}
			if e.Check && e.Verifier != VerifierPublic {
				v.Verifier = n.agency(e.Verifier)
			}
			sec.Events = append(sec.Events, v)
		}
		queries, err := h.w.QueriesAbout(ctx, p.Holder, 100)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		for _, q := range queries {
			t, _ := h.w.o.Catalogue.Type(q.Type)
			v := queryView{At: h.when(lang, q.AskedAt), AtISO: q.AskedAt.Format(time.RFC3339), TypeName: q.Type,
				Who: q.Requester.ID, Purpose: q.Purpose, Answer: q.Answer}
			if t.Code != "" {
				v.TypeName = t.Name(lang)
			}
			if q.Requester.Agency != "" {
				v.Who = n.agency(q.Requester.Agency)
			}
			for _, c := range q.Claims {
				v.Claims = append(v.Claims, t.Label(c, lang))
			}
			sec.Queries = append(sec.Queries, v)
		}
		d.Sections = append(d.Sections, sec)
	}
	h.pages.Render(w, r, http.StatusOK, "wallet_history", d)
}

// stylesheet serves the pages' styles. Its URL names its hash, so it may
// be cached for good.
func (h *pages) stylesheet(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != h.style {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/css; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Content-Length", strconv.Itoa(len(pageStyle)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(pageStyle)
	}
}
