package pki

import (
	"context"
	"embed"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

// Mount serves the fixed trust-service endpoints under the public URL:
// /pki/ca/{ca}.crt (DER), /pki/crl/{ca}.crl (DER), /pki/ocsp (RFC 6960,
// POST and GET), /pki/tsa (RFC 3161) and the audit log's signed
// checkpoints at /audit/checkpoints. Relying parties call them from
// anywhere, without a session, so /pki/ is exempt from CSRF. The hierarchy
// must exist (Init).
func (s *Service) Mount(ws *web.Server) error {
	pages, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	if err := s.StartOnline(context.Background()); err != nil {
		return err
	}
	// The responders are looked up at each request: a rotation of their
	// certificates (RotateService, seen here through Reload) replaces them.
	ocspNow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.online.Load().ocsp.ServeHTTP(w, r) })
	tsaNow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.online.Load().tsa.ServeHTTP(w, r) })
	ws.ExemptFromCSRF("/pki/")
	ws.Handle("POST /pki/ocsp", ocspNow)
	ws.HandleUncleaned("/pki/ocsp/", http.StripPrefix("/pki/ocsp", ocspNow))
	ws.Handle("/pki/tsa", tsaNow)
	s.mountCheckpoints(ws)
	ws.HandleFunc("GET /account/certificates", func(w http.ResponseWriter, r *http.Request) { s.certificatesPage(ws, pages, w, r) })
	ws.HandleFunc("POST /account/certificates/revoke", func(w http.ResponseWriter, r *http.Request) { s.revokeOwn(ws, w, r) })
	ws.HandleFunc("GET /officer/certificates", func(w http.ResponseWriter, r *http.Request) { s.officerPage(ws, pages, w, r) })
	ws.HandleFunc("POST /officer/certificates/revoke", func(w http.ResponseWriter, r *http.Request) { s.revokeAsOfficer(ws, w, r) })
	ws.HandleFunc("GET /pki/ca/{file}", func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutSuffix(r.PathValue("file"), ".crt")
		ca, err := s.CA(name)
		if !ok || err != nil {
			ws.Error(w, r, kernel.E(kernel.NotFound, "pki.error.no_ca"))
			return
		}
		serveDER(w, "application/pkix-cert", ca.Cert.Raw, 24*time.Hour)
	})
	ws.HandleFunc("GET /pki/crl/{file}", func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutSuffix(r.PathValue("file"), ".crl")
		if !ok {
			ws.Error(w, r, kernel.E(kernel.NotFound, "pki.error.no_ca"))
			return
		}
		der, err := s.CRL(r.Context(), name)
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		serveDER(w, "application/pkix-crl", der, 5*time.Minute)
	})
	return nil
}

// signedIn returns the session's account, or sends the browser to log in
// and back to the page it asked for.
func signedIn(ws *web.Server, w http.ResponseWriter, r *http.Request) (string, bool) {
	sess, err := ws.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		ws.Error(w, r, err)
		return "", false
	}
	if err != nil || sess.AccountID == "" {
		next := "/account/certificates"
		if r.Method == http.MethodGet {
			next = r.URL.RequestURI()
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
		return "", false
	}
	return sess.AccountID, true
}

type certView struct {
	Serial, Subject, From, Until string
	Revoked, Suspended           bool
}

func (s *Service) certificatesPage(ws *web.Server, pages *web.Pages, w http.ResponseWriter, r *http.Request) {
	accountID, ok := signedIn(ws, w, r)
	if !ok {
		return
	}
	certs, err := s.Certificates(r.Context(), accountID)
	if err != nil {
		ws.Error(w, r, err)
		return
	}
	pages.Render(w, r, http.StatusOK, "certificates", struct {
		Certs []certView
		Done  bool
	}{views(certs), r.URL.Query().Get("done") == "1"})
}

func (s *Service) revokeOwn(ws *web.Server, w http.ResponseWriter, r *http.Request) {
	accountID, ok := signedIn(ws, w, r)
	if !ok {
		return
	}
	serial, err := ParseSerial(r.PostFormValue("serial"))
	if err != nil {
		ws.Error(w, r, err)
		return
	}
	reason, ok := Reasons[r.PostFormValue("reason")]
	if !ok {
		ws.Error(w, r, kernel.E(kernel.Invalid, "pki.error.bad_reason"))
		return
	}
	if err := s.RevokeOwn(r.Context(), accountID, serial, reason); err != nil {
		ws.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/certificates?done=1", http.StatusSeeOther)
}

// officerPage lets an officer look a resident of their area up and act on
// their certificates. Looking up is already acting for the holder: the same
// area rule applies, so an officer cannot browse other areas' residents.
func (s *Service) officerPage(ws *web.Server, pages *web.Pages, w http.ResponseWriter, r *http.Request) {
	officer, ok := signedIn(ws, w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	data := struct {
		Agency, CitizenID, Holder string
		Looked, Done              bool
		Certs                     []certView
	}{Agency: q.Get("agency"), CitizenID: strings.TrimSpace(q.Get("citizen_id")), Done: q.Get("done") == "1"}
	if data.CitizenID != "" {
		h, err := s.holderForOfficer(r.Context(), officer, data.Agency, data.CitizenID)
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		certs, err := s.Certificates(r.Context(), h.AccountID)
		if err != nil {
			ws.Error(w, r, err)
			return
		}
		data.Looked, data.Holder, data.Certs = true, h.Name, views(certs)
	} else if s.o.Officers == nil {
		ws.Error(w, r, kernel.E(kernel.Forbidden, "pki.error.not_officer"))
		return
	}
	pages.Render(w, r, http.StatusOK, "officer_certificates", data)
}

// holderForOfficer finds the account holder of a citizen ID if the officer
// may act for them.
func (s *Service) holderForOfficer(ctx context.Context, officer, agency, citizenID string) (Holder, error) {
	if len(citizenID) != 12 || strings.Trim(citizenID, "0123456789") != "" {
		return Holder{}, kernel.E(kernel.Invalid, "error.registry.bad_citizen_id")
	}
	if s.o.Officers == nil || s.o.Holders == nil {
		return Holder{}, kernel.E(kernel.Forbidden, "pki.error.not_officer")
	}
	h, err := s.o.Holders.Holder(ctx, citizenID)
	if err != nil {
		return Holder{}, err
	}
	if err := s.o.Officers.MayActFor(ctx, officer, agency, h.AccountID); err != nil {
		return Holder{}, err
	}
	return h, nil
}

func (s *Service) revokeAsOfficer(ws *web.Server, w http.ResponseWriter, r *http.Request) {
	officer, ok := signedIn(ws, w, r)
	if !ok {
		return
	}
	serial, err := ParseSerial(r.PostFormValue("serial"))
	if err != nil {
		ws.Error(w, r, err)
		return
	}
	reason, ok := Reasons[r.PostFormValue("reason")]
	if !ok {
		ws.Error(w, r, kernel.E(kernel.Invalid, "pki.error.bad_reason"))
		return
	}
	agency := r.PostFormValue("agency")
	if err := s.RevokeAsOfficer(r.Context(), officer, agency, serial, reason); err != nil {
		ws.Error(w, r, err)
		return
	}
	http.Redirect(w, r, "/officer/certificates?"+url.Values{"agency": {agency}, "citizen_id": {r.PostFormValue("citizen_id")}, "done": {"1"}}.Encode(), http.StatusSeeOther)
}

func views(certs []CertInfo) []certView {
	out := make([]certView, 0, len(certs))
	for _, c := range certs {
		out = append(out, certView{Serial: c.Serial, Subject: c.Subject, From: c.NotBefore.Format(time.RFC3339),
			Until: c.NotAfter.Format(time.RFC3339), Revoked: !c.RevokedAt.IsZero(), Suspended: !c.RevokedAt.IsZero() && c.Reason == ReasonHold})
	}
	return out
}

func serveDER(w http.ResponseWriter, contentType string, der []byte, maxAge time.Duration) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(der)))
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	_, _ = w.Write(der)
}
