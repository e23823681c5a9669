package identity

import (
	"net/http"
	"net/url"
	"strings"

	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/web"
)

// officerData is the officer's desk: their posts and the figures of their area.
type officerData struct {
	Posts   []Officer
	Post    *Officer
	Figures []UnitFigures
	Units   map[string]string
}

// officerLevel2 holds every officer page to a level-2 session (a second
// factor in this login): from a level-1 session a page sends the browser to
// sign in again at level 2, and a form is refused (403). Acting for a child
// or an organisation is not acting for an agency: refused too. It reports
// whether the handler may go on.
func (h *handlers) officerLevel2(w http.ResponseWriter, r *http.Request, sess *web.Session) bool {
	if sess.ActingFor != "" {
		h.fail(w, r, kernel.E(kernel.Forbidden, "error.identity.not_officer"))
		return false
	}
	if kernel.AtLeastLevel2(sess.ACR) {
		return true
	}
	if r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	} else {
		h.fail(w, r, errOfficerLevel2())
	}
	return false
}

// officerPost returns the signed-in officer's post in the agency the form
// names (or their first post that may enrol), with the session's assurance,
// and makes the officer, acting for that agency, the actor of the request.
// Without such a post it renders a 403; from a level-1 session, see
// officerLevel2.
func (h *handlers) officerPost(w http.ResponseWriter, r *http.Request, agency string) (Officer, bool) {
	sess, a, ok := h.signedIn(w, r)
	if !ok {
		return Officer{}, false
	}
	posts, err := h.svc.Posts(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err)
		return Officer{}, false
	}
	for _, p := range posts {
		if (agency == "" || p.Agency.Code == agency) && p.CanEnrol() {
			if !h.officerLevel2(w, r, sess) {
				return Officer{}, false
			}
			p.ACR = sess.ACR
			*r = *r.WithContext(kernel.WithActor(r.Context(), p.Actor()))
			return p, true
		}
	}
	h.fail(w, r, kernel.E(kernel.Forbidden, "error.identity.not_officer"))
	return Officer{}, false
}

func (h *handlers) officer(w http.ResponseWriter, r *http.Request) {
	sess, a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	posts, err := h.svc.Posts(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(posts) == 0 {
		h.fail(w, r, kernel.E(kernel.Forbidden, "error.identity.not_officer"))
		return
	}
	if !h.officerLevel2(w, r, sess) {
		return
	}
	d := officerData{Posts: posts, Units: map[string]string{}}
	post := posts[0]
	if ag := r.URL.Query().Get("agency"); ag != "" {
		found := false
		for _, p := range posts {
			if p.Agency.Code == ag {
				post, found = p, true
			}
		}
		if !found {
			h.fail(w, r, kernel.E(kernel.Forbidden, "error.identity.not_officer"))
			return
		}
	}
	d.Post = &post
	if d.Figures, err = h.svc.Figures(r.Context(), post.Area()); err != nil {
		h.fail(w, r, err)
		return
	}
	for _, f := range d.Figures {
		if u, err := h.svc.reg.Unit(r.Context(), f.UnitCode); err == nil {
			d.Units[f.UnitCode] = u.Name
		}
	}
	h.pages.Render(w, r, http.StatusOK, "officer", d)
}

// enrolData is the enrolment desk.
type enrolData struct {
	Post      Officer
	CitizenID string
	Person    *registry.Person
	Account   *Account
	Age       int
	Issued    *Issued
	Error     string
	Notice    string
}

func (h *handlers) enrolForm(w http.ResponseWriter, r *http.Request) {
	post, ok := h.officerPost(w, r, r.URL.Query().Get("agency"))
	if !ok {
		return
	}
	d := enrolData{Post: post, CitizenID: strings.TrimSpace(r.URL.Query().Get("citizen_id"))}
	status := http.StatusOK
	if d.CitizenID != "" {
		p, acc, err := h.svc.LookUp(r.Context(), post, d.CitizenID)
		if err != nil {
			msg, st, ok := h.message(w, r, err)
			if !ok {
				return
			}
			d.Error, status = msg, st
		} else {
			d.Person, d.Account, d.Age = &p, acc, p.AgeOn(h.svc.clock.Now())
		}
	}
	h.pages.Render(w, r, status, "enrol", d)
}

func (h *handlers) enrol(w http.ResponseWriter, r *http.Request) {
	post, ok := h.officerPost(w, r, r.PostFormValue("agency"))
	if !ok {
		return
	}
	e := Enrolment{
		CitizenID: strings.TrimSpace(r.PostFormValue("citizen_id")),
		Checks: Checks{
			ChipRead:      r.PostFormValue("chip_read") == "on",
			ChipSerial:    r.PostFormValue("chip_serial"),
			FaceMatch:     r.PostFormValue("face_match") == "on",
			Fingerprint:   r.PostFormValue("fingerprint"),
			OfficerAttest: r.PostFormValue("attest") == "on",
		},
		Contact:           r.PostFormValue("contact"),
		Phone:             r.PostFormValue("phone"),
		RelativeCitizenID: r.PostFormValue("relative_citizen_id"),
		Reset:             r.PostFormValue("reset") == "on",
	}
	d := enrolData{Post: post, CitizenID: e.CitizenID}
	issued, err := h.svc.Enrol(r.Context(), post, e)
	if err != nil {
		msg, status, ok := h.message(w, r, err)
		if !ok {
			return
		}
		d.Error = msg
		if p, acc, err := h.svc.LookUp(r.Context(), post, e.CitizenID); err == nil {
			d.Person, d.Account, d.Age = &p, acc, p.AgeOn(h.svc.clock.Now())
		}
		h.pages.Render(w, r, status, "enrol", d)
		return
	}
	d.Issued = &issued
	h.pages.Render(w, r, http.StatusOK, "enrolled", d)
}

func (h *handlers) recordGuardian(w http.ResponseWriter, r *http.Request) {
	post, ok := h.officerPost(w, r, r.PostFormValue("agency"))
	if !ok {
		return
	}
	child := strings.TrimSpace(r.PostFormValue("citizen_id"))
	d := enrolData{Post: post, CitizenID: child}
	err := h.svc.RecordGuardian(r.Context(), post, r.PostFormValue("guardian_citizen_id"), child, r.PostFormValue("relation"))
	status := http.StatusOK
	if err != nil {
		msg, st, ok := h.message(w, r, err)
		if !ok {
			return
		}
		d.Error, status = msg, st
	} else {
		d.Notice = h.web.T(r, "identity.enrol.guardian_recorded")
	}
	if p, acc, err := h.svc.LookUp(r.Context(), post, child); err == nil {
		d.Person, d.Account, d.Age = &p, acc, p.AgeOn(h.svc.clock.Now())
	}
	h.pages.Render(w, r, status, "enrol", d)
}

func (h *handlers) setStatus(w http.ResponseWriter, r *http.Request) {
	post, ok := h.officerPost(w, r, r.PostFormValue("agency"))
	if !ok {
		return
	}
	cid := strings.TrimSpace(r.PostFormValue("citizen_id"))
	d := enrolData{Post: post, CitizenID: cid}
	status := http.StatusOK
	if err := h.svc.SetStatus(r.Context(), post, cid, r.PostFormValue("status")); err != nil {
		msg, st, ok := h.message(w, r, err)
		if !ok {
			return
		}
		d.Error, status = msg, st
	} else {
		d.Notice = h.web.T(r, "identity.enrol.status_changed")
	}
	if p, acc, err := h.svc.LookUp(r.Context(), post, cid); err == nil {
		d.Person, d.Account, d.Age = &p, acc, p.AgeOn(h.svc.clock.Now())
	}
	h.pages.Render(w, r, status, "enrol", d)
}
