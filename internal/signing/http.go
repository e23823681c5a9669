package signing

import (
	"context"
	"embed"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Directory tells the pages who a signed-in account is: their citizen ID
// and commune (for enrolment and the adoption figures).
type Directory interface {
	CitizenOf(ctx context.Context, accountID string) (citizenID, unitCode string, err error)
}

// levelTwo is the assurance a session needs to enrol a signing credential:
// Decree 23/2025 asks a level-2 e-ID, used as level 2.
const levelTwo = "urn:civitas:acr:level2"

type pages struct {
	s     *Service
	web   *web.Server
	pages *web.Pages
	dir   Directory
}

// Mount serves the holder's pages: /account/signing (credentials: enrol,
// activate) and /sign (requests waiting for approval: the page a holder
// opens on their phone).
func (s *Service) Mount(ws *web.Server, dir Directory) error {
	ps, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	h := &pages{s: s, web: ws, pages: ps, dir: dir}
	ws.HandleFunc("GET /account/signing", h.credentials)
	ws.HandleFunc("POST /account/signing/enrol", h.enrol)
	ws.HandleFunc("POST /account/signing/activate", h.activate)
	ws.HandleFunc("GET /sign", h.requests)
	ws.HandleFunc("GET /sign/upload", h.uploadForm)
	ws.HandleFunc("GET /sign/documents", h.ownDocuments)
	ws.HandleFunc("POST /sign/upload", h.upload)
	ws.HandleFunc("GET /sign/{id}/download", h.download)
	if n := s.MaxFile(); n > 0 {
		ws.AllowUpload("/sign/upload", n+64<<10) // the file and the form around it
	}
	ws.HandleFunc("GET /sign/{id}", h.request)
	ws.HandleFunc("POST /sign/{id}/approve", h.approve)
	ws.HandleFunc("POST /sign/{id}/refuse", h.refuse)
	return nil
}

// session returns the signed-in account and session, or sends the browser
// to log in and come back.
func (h *pages) session(w http.ResponseWriter, r *http.Request) (*web.Session, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return nil, false
	}
	if err != nil || sess.AccountID == "" || sess.ActingFor != "" {
		next := "/sign"
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return nil, false
	}
	return sess, true
}

func (h *pages) credentials(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	creds, err := h.s.Credentials(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	// One usable credential of one's own, and one per post.
	usable := false
	held := map[string]bool{}
	for _, c := range creds {
		if c.Status == CredentialDisabled {
			continue
		}
		if c.Capacity.Official() {
			held[c.Capacity.AgencyCode] = true
		} else {
			usable = true
		}
	}
	var posts []Capacity
	if sess.ACR == levelTwo {
		all, err := h.s.Posts(r.Context(), sess.AccountID)
		if err != nil {
			h.web.Error(w, r, err)
			return
		}
		for _, p := range all {
			if !held[p.AgencyCode] {
				posts = append(posts, p)
			}
		}
	}
	active := slices.ContainsFunc(creds, func(c Credential) bool { return c.Status == CredentialActive })
	h.pages.Render(w, r, http.StatusOK, "credentials", struct {
		Credentials []Credential
		CanEnrol    bool
		Posts       []Capacity // the posts the holder may enrol a credential for
		Notice      string
		// The onboarding steps: 1 a login with the authenticator app's code
		// (level 2), 2 a credential, 3 an active credential.
		Level2, Held, Active bool
	}{creds, !usable && sess.ACR == levelTwo, posts, notice(r), sess.ACR == levelTwo, usable || len(held) > 0, active})
}

// notice maps ?done= to a message key, never echoing the query.
func notice(r *http.Request) string {
	switch r.URL.Query().Get("done") {
	case "enrolled":
		return "signing.notice.enrolled"
	case "activated":
		return "signing.notice.activated"
	case "signed":
		return "signing.notice.signed"
	case "approved":
		return "signing.notice.approved"
	case "refused":
		return "signing.notice.refused"
	case "signed_own":
		return "signing.notice.signed_own"
	}
	return ""
}

func (h *pages) enrol(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	if sess.ACR != levelTwo {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "signing.error.level2_session"))
		return
	}
	// agency, if given, asks for an official's credential at that post;
	// without, the holder's own.
	agency := r.PostFormValue("agency")
	creds, err := h.s.Credentials(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	for _, c := range creds {
		if c.Status != CredentialDisabled && c.Capacity.AgencyCode == agency {
			http.Redirect(w, r, "/account/signing", http.StatusSeeOther) // one usable credential is enough; a second click is not an error
			return
		}
	}
	citizenID, unit, err := h.dir.CitizenOf(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: sess.AccountID})
	if agency != "" {
		_, err = h.s.EnrolOfficial(ctx, sess.AccountID, citizenID, unit, agency)
	} else {
		_, err = h.s.Enrol(ctx, sess.AccountID, citizenID, unit)
	}
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/signing?done=enrolled", http.StatusSeeOther)
}

func (h *pages) activate(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: sess.AccountID})
	if err := h.s.Activate(ctx, sess.AccountID, r.PostFormValue("credential"), r.PostFormValue("code")); err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/signing?done=activated", http.StatusSeeOther)
}

func (h *pages) requests(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	list, err := h.s.Pending(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "requests", struct {
		Requests []Request
		Notice   string
	}{list, notice(r)})
}

func (h *pages) request(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	q, err := h.s.Request(r.Context(), sess.AccountID, r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	// The holder sees in which capacity they sign: their own name, or a post.
	c, err := h.s.credential(r.Context(), sess.AccountID, q.CredentialID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	document := false
	if q.Client == ownClient {
		if document, err = h.s.HasDocument(r.Context(), sess.AccountID, q.ID); err != nil {
			h.web.Error(w, r, err)
			return
		}
	}
	h.pages.Render(w, r, http.StatusOK, "request", struct {
		Request  Request
		Until    time.Time
		Document bool // the holder's own upload, to download once signed
		Capacity Capacity
		Notice   string
		Kept     time.Time // until when an own upload can be downloaded
	}{q, q.ExpiresAt, document, c.Capacity, notice(r), q.CreatedAt.Add(DocumentsKept)})
}

func (h *pages) approve(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: sess.AccountID})
	q, err := h.s.Request(r.Context(), sess.AccountID, r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	if err := h.s.ApproveAndSign(ctx, sess.AccountID, q.ID, r.PostFormValue("code")); err != nil {
		h.web.Error(w, r, err)
		return
	}
	own := false
	if q.Client == ownClient {
		if own, err = h.s.HasDocument(r.Context(), sess.AccountID, q.ID); err != nil {
			h.web.Error(w, r, err)
			return
		}
	}
	if own {
		// The holder's own upload: back to it, with its download.
		http.Redirect(w, r, "/sign/"+q.ID+"?done=signed_own", http.StatusSeeOther)
		return
	}
	if q.Handoff == HandoffPoll {
		// The application signs with the approval, in a moment.
		http.Redirect(w, r, "/sign?done=approved", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/sign?done=signed", http.StatusSeeOther)
}

func (h *pages) uploadForm(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	creds, err := h.s.Credentials(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	// A holder with more than one active credential (their own and an
	// official's) chooses the capacity they sign in.
	var active, official []Credential
	for _, c := range creds {
		switch {
		case c.Status != CredentialActive:
		case c.Capacity.Official():
			official = append(official, c)
		default:
			active = append(active, c) // their own first: the default
		}
	}
	active = append(active, official...)
	if len(active) < 2 {
		active = nil
	}
	h.pages.Render(w, r, http.StatusOK, "upload", struct {
		MaxBytes    int64
		Credentials []Credential
		Visible     bool // a visible signature can be drawn
	}{h.s.MaxFile(), active, h.s.CanDrawSignatures()})
}

// upload takes a PDF the holder wants to sign and sends them to approve it,
// as any application's request.
func (h *pages) upload(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.web.Error(w, r, err)
			return
		}
		h.web.Error(w, r, kernel.E(kernel.Invalid, "signing.error.empty_file").WithCause(err))
		return
	}
	defer f.Close()
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: sess.AccountID})
	q, err := h.s.UploadPDF(ctx, sess.AccountID, r.PostFormValue("credential"), hdr.Filename, f, r.PostFormValue("visible") == "on")
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/sign/"+q.ID, http.StatusSeeOther)
}

func (h *pages) download(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	name, data, err := h.s.SignedPDF(r.Context(), sess.AccountID, r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": strings.TrimSuffix(name, ".pdf") + "-signed.pdf"}))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = w.Write(data)
}

func (h *pages) refuse(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: sess.AccountID})
	if err := h.s.Refuse(ctx, sess.AccountID, r.PathValue("id")); err != nil {
		h.web.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/sign?done=refused", http.StatusSeeOther)
}

// ownDocuments lists the PDFs the holder uploaded to sign, while they are
// kept (DocumentsKept), each with its download once signed.
func (h *pages) ownDocuments(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.session(w, r)
	if !ok {
		return
	}
	docs, err := h.s.OwnDocuments(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "documents", struct {
		Documents []OwnDocument
		KeptHours int
	}{docs, int(DocumentsKept / time.Hour)})
}
