package wallet

import (
	"context"
	"embed"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/web"
)

//go:embed templates/officer_*.html
var officerTemplates embed.FS

// OfficialPost is an official's post at an agency, as the officer pages need it.
type OfficialPost struct {
	Agency registry.Agency
	Role   registry.Role
}

// IssuingOfficials gives the officer pages the posts of a signed-in account, from
// the registry of officials.
type IssuingOfficials interface {
	Posts(ctx context.Context, accountID string) ([]OfficialPost, error)
}

type officerPages struct {
	s     *Service
	web   *web.Server
	pages *web.Pages
	offs  IssuingOfficials
}

// MountOfficer serves the officials' pages under /officer/wallet: an
// official with a post issues, as their agency, the types the agency's
// kind may issue — claims typed in a form made from the type's schema, or
// taken from the registry that holds the type — and finds the documents
// their agency issued to a holder to revoke, suspend or reinstate them.
// Each act is audited as the official's, on behalf of the agency.
func (s *Service) MountOfficer(ws *web.Server, offs IssuingOfficials) error {
	ps, err := ws.Pages(officerTemplates, "templates/officer_*.html")
	if err != nil {
		return err
	}
	h := &officerPages{s: s, web: ws, pages: ps, offs: offs}
	ws.HandleFunc("GET /officer/wallet", h.desk)
	ws.HandleFunc("GET /officer/wallet/issue", h.issueForm)
	ws.HandleFunc("POST /officer/wallet/issue", h.issue)
	ws.HandleFunc("GET /officer/wallet/documents", h.documents)
	ws.HandleFunc("POST /officer/wallet/documents/{id}/status", h.setStatus)
	return nil
}

// official returns the signed-in account and its post in the agency named
// (or its first post), with the request's context carrying the official
// as the actor on behalf of that agency. Without a login it sends the
// browser to log in, and to log in again at level 2 from a level-1
// session (a form posted from one is refused); without a post it answers 403.
func (h *officerPages) official(w http.ResponseWriter, r *http.Request, agency string) (OfficialPost, []OfficialPost, *http.Request, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return OfficialPost{}, nil, nil, false
	}
	if err != nil || sess.AccountID == "" {
		next := r.URL.RequestURI()
		if r.Method != http.MethodGet {
			next = "/officer/wallet"
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return OfficialPost{}, nil, nil, false
	}
	if sess.ActingFor != "" {
		// Acting for a child or an organisation is not acting for an agency.
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "walletofficer.error.not_official"))
		return OfficialPost{}, nil, nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		// Issuing and revoking documents needs a level-2 session (a second
		// factor in this login): a form asks the official to sign in again.
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return OfficialPost{}, nil, nil, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "walletofficer.error.level2_session"))
		return OfficialPost{}, nil, nil, false
	}
	posts, err := h.offs.Posts(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return OfficialPost{}, nil, nil, false
	}
	for _, p := range posts {
		if agency == "" || p.Agency.Code == agency {
			ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID, OnBehalfOf: actingForAgency(p.Agency.Code)})
			return p, posts, r.WithContext(ctx), true
		}
	}
	h.web.Error(w, r, kernel.E(kernel.Forbidden, "walletofficer.error.not_official"))
	return OfficialPost{}, nil, nil, false
}

// message turns a refusal into a sentence for the page, with claims named
// by their labels; any other error is answered with the error page.
func (h *officerPages) message(w http.ResponseWriter, r *http.Request, err error, t *Type) (string, int, bool) {
	code := kernel.ErrorCode(err)
	status := map[kernel.Code]int{kernel.Invalid: http.StatusBadRequest, kernel.Forbidden: http.StatusForbidden,
		kernel.NotFound: http.StatusNotFound, kernel.Conflict: http.StatusConflict}[code]
	if status == 0 {
		h.web.Error(w, r, err)
		return "", 0, false
	}
	key, args := kernel.ErrorKey(err)
	if !h.web.Catalog().Has(key) {
		key, args = "error."+string(code), nil
	}
	if t != nil && strings.HasPrefix(key, "wallet.error.claim_") && len(args) == 1 {
		if name, ok := args[0].(string); ok {
			args = []any{t.Label(name, web.LangFrom(r.Context()))}
		}
	}
	return h.web.T(r, key, args...), status, true
}

// officerTypeChoice is a type an official may issue, named in the reader's language.
type officerTypeChoice struct {
	Code, Name string
	Person     bool // issued to a person (else an organisation)
	Registry   bool // a registry holds it
}

func (h *officerPages) issuable(r *http.Request, p OfficialPost) []officerTypeChoice {
	lang := web.LangFrom(r.Context())
	var out []officerTypeChoice
	for _, t := range h.s.o.Catalogue.Types() {
		if t.IssuedBy(p.Agency.Kind) {
			out = append(out, officerTypeChoice{Code: t.Code, Name: t.Name(lang), Person: t.Holder == HolderPerson, Registry: t.Source != ""})
		}
	}
	return out
}

type officerDeskData struct {
	Post  OfficialPost
	Posts []OfficialPost
	Types []officerTypeChoice
}

func (h *officerPages) desk(w http.ResponseWriter, r *http.Request) {
	post, posts, r, ok := h.official(w, r, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	h.pages.Render(w, r, http.StatusOK, "officer_wallet", officerDeskData{Post: post, Posts: posts, Types: h.issuable(r, post)})
}

// officerClaimField is one input of the issuance form, made from a claim spec.
type officerClaimField struct {
	Name     string // the form field: "claim." + the claim's name
	Label    string
	Input    string // text, date, number, boolean
	Required bool
	Value    string
}

type officerIssueData struct {
	Post     OfficialPost
	Type     officerTypeChoice
	HolderID string
	Fields   []officerClaimField
	Registry bool // fill from the registry (the box is ticked)
	Error    string
	Issued   *Detailed
	Expires  string
}

// form builds the issuance form of t, with the values typed so far.
func (h *officerPages) form(r *http.Request, post OfficialPost, t Type, holderID string, values url.Values) officerIssueData {
	lang := web.LangFrom(r.Context())
	d := officerIssueData{Post: post, HolderID: holderID,
		Type: officerTypeChoice{Code: t.Code, Name: t.Name(lang), Person: t.Holder == HolderPerson, Registry: t.Source != ""}}
	for _, c := range t.Claims {
		f := officerClaimField{Name: "claim." + c.Name, Label: t.Label(c.Name, lang), Input: c.Type, Required: c.Required, Value: values.Get("claim." + c.Name)}
		if f.Input == ClaimString {
			f.Input = "text"
		}
		d.Fields = append(d.Fields, f)
	}
	return d
}

// issuableType is the type named in the request if the post's agency may
// issue it.
func (h *officerPages) issuableType(post OfficialPost, code string) (Type, error) {
	t, err := h.s.o.Catalogue.Type(code)
	if err != nil {
		return Type{}, err
	}
	if !t.IssuedBy(post.Agency.Kind) {
		return Type{}, kernel.E(kernel.Forbidden, "wallet.error.not_issuer")
	}
	return t, nil
}

func (h *officerPages) issueForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	post, _, r, ok := h.official(w, r, q.Get("agency"))
	if !ok {
		return
	}
	t, err := h.issuableType(post, q.Get("type"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := h.form(r, post, t, strings.TrimSpace(q.Get("holder")), nil)
	d.Registry = t.Source != ""
	h.pages.Render(w, r, http.StatusOK, "officer_issue", d)
}

// officerClaims reads the claims typed in the form: empty fields are left
// out, numbers and booleans parsed; the wallet checks the rest.
func officerClaims(t Type, form url.Values, lang string) (map[string]any, error) {
	claims := map[string]any{}
	for _, c := range t.Claims {
		v := strings.TrimSpace(form.Get("claim." + c.Name))
		if v == "" {
			continue
		}
		switch c.Type {
		case ClaimNumber:
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, kernel.E(kernel.Invalid, "wallet.error.claim_bad", t.Label(c.Name, lang))
			}
			claims[c.Name] = f
		case ClaimBoolean:
			claims[c.Name] = v == "true"
		default:
			claims[c.Name] = v
		}
	}
	return claims, nil
}

func (h *officerPages) issue(w http.ResponseWriter, r *http.Request) {
	post, _, r, ok := h.official(w, r, r.PostFormValue("agency"))
	if !ok {
		return
	}
	t, err := h.issuableType(post, r.PostFormValue("type"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	holderID := strings.TrimSpace(r.PostFormValue("holder"))
	d := h.form(r, post, t, holderID, r.PostForm)
	d.Registry = t.Source != "" && r.PostFormValue("from_registry") == "on"
	in := Issuance{Agency: post.Agency.Code, Type: t.Code, Holder: Holder{Kind: t.Holder, ID: holderID}}
	if !d.Registry {
		in.Claims, err = officerClaims(t, r.PostForm, web.LangFrom(r.Context()))
	}
	var doc Detailed
	if err == nil {
		if holderID == "" {
			err = kernel.E(kernel.Invalid, "walletofficer.error.no_holder")
		} else {
			doc, err = h.s.Issue(r.Context(), in)
		}
	}
	if err != nil {
		msg, status, ok := h.message(w, r, err, &t)
		if !ok {
			return
		}
		d.Error = msg
		h.pages.Render(w, r, status, "officer_issue", d)
		return
	}
	d.Issued = &doc
	if !doc.ExpiresAt.IsZero() {
		d.Expires = doc.ExpiresAt.Format(time.DateOnly)
	}
	h.pages.Render(w, r, http.StatusCreated, "officer_issued", d)
}

// officerDocument is a document in the agency's list for a holder.
type officerDocument struct {
	ID, TypeName, Status, Issued, Expires string
	Replaces                              string
}

type officerDocumentsData struct {
	Post      OfficialPost
	HolderID  string
	Kind      string // person or organisation
	Documents []officerDocument
	Searched  bool
	Error     string
	Notice    string
}

// officerHolder reads the holder a search or a status change names: a person by
// citizen ID, unless the form says organisation.
func officerHolder(kind, id string) Holder {
	if kind == HolderOrganisation {
		return Holder{Kind: HolderOrganisation, ID: strings.TrimSpace(id)}
	}
	return Holder{Kind: HolderPerson, ID: strings.TrimSpace(id)}
}

// agencyDocuments lists the documents the post's agency issued to h.
func (h *officerPages) agencyDocuments(r *http.Request, post OfficialPost, hd Holder) ([]officerDocument, error) {
	if hd.Kind == HolderPerson {
		if _, err := registry.ParseCitizenID(hd.ID); err != nil {
			return nil, err
		}
	}
	all, err := h.s.Documents(r.Context(), hd, true)
	if err != nil {
		return nil, err
	}
	lang := web.LangFrom(r.Context())
	var out []officerDocument
	for _, d := range all {
		if d.Agency != post.Agency.Code {
			continue
		}
		od := officerDocument{ID: d.ID, TypeName: d.Type, Status: d.Status, Issued: d.IssuedAt.In(kernel.Zone()).Format(time.DateOnly), Replaces: d.Replaces}
		if t, err := h.s.o.Catalogue.Type(d.Type); err == nil {
			od.TypeName = t.Name(lang)
		}
		if !d.ExpiresAt.IsZero() {
			od.Expires = d.ExpiresAt.Format(time.DateOnly)
			if !d.Valid(h.s.o.Clock.Now()) && d.Status == StatusValid {
				od.Status = "expired"
			}
		}
		out = append(out, od)
	}
	return out, nil
}

func (h *officerPages) documents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	post, _, r, ok := h.official(w, r, q.Get("agency"))
	if !ok {
		return
	}
	hd := officerHolder(q.Get("kind"), q.Get("holder"))
	d := officerDocumentsData{Post: post, HolderID: hd.ID, Kind: hd.Kind}
	status := http.StatusOK
	if hd.ID != "" {
		d.Searched = true
		docs, err := h.agencyDocuments(r, post, hd)
		if err != nil {
			msg, st, ok := h.message(w, r, err, nil)
			if !ok {
				return
			}
			d.Error, status = msg, st
		}
		d.Documents = docs
	}
	h.pages.Render(w, r, status, "officer_documents", d)
}

// officerStatusChanges are the changes an official may ask for.
var officerStatusChanges = []string{StatusRevoked, StatusSuspended, StatusValid}

func (h *officerPages) setStatus(w http.ResponseWriter, r *http.Request) {
	post, _, r, ok := h.official(w, r, r.PostFormValue("agency"))
	if !ok {
		return
	}
	hd := officerHolder(r.PostFormValue("kind"), r.PostFormValue("holder"))
	d := officerDocumentsData{Post: post, HolderID: hd.ID, Kind: hd.Kind, Searched: true}
	st := r.PostFormValue("status")
	var err error
	if !slices.Contains(officerStatusChanges, st) {
		err = kernel.E(kernel.Invalid, "wallet.error.bad_status")
	} else {
		err = h.s.SetStatus(r.Context(), post.Agency.Code, r.PathValue("id"), st, r.PostFormValue("reason"))
	}
	status := http.StatusOK
	if err != nil {
		msg, code, ok := h.message(w, r, err, nil)
		if !ok {
			return
		}
		d.Error, status = msg, code
	} else {
		d.Notice = h.web.T(r, "walletofficer.documents.changed")
	}
	if docs, err := h.agencyDocuments(r, post, hd); err == nil {
		d.Documents = docs
	}
	h.pages.Render(w, r, status, "officer_documents", d)
}
