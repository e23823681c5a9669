package pki

import (
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
// /pki/ca/{ca}.crt (DER), /pki/crl/{ca}.crl (DER). Relying parties call
// them from anywhere, without a session, so /pki/ is exempt from CSRF.
func (s *Service) Mount(ws *web.Server) error {
	pages, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	ws.ExemptFromCSRF("/pki/")
	ws.HandleFunc("GET /account/certificates", func(w http.ResponseWriter, r *http.Request) { s.certificatesPage(ws, pages, w, r) })
	ws.HandleFunc("POST /account/certificates/revoke", func(w http.ResponseWriter, r *http.Request) { s.revokeOwn(ws, w, r) })
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

// signedIn returns the session's account, or sends the browser to log in.
func signedIn(ws *web.Server, w http.ResponseWriter, r *http.Request) (string, bool) {
	sess, err := ws.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		ws.Error(w, r, err)
		return "", false
	}
	if err != nil || sess.AccountID == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape("/account/certificates"), http.StatusSeeOther)
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
	views := make([]certView, 0, len(certs))
	for _, c := range certs {
		views = append(views, certView{Serial: c.Serial, Subject: c.Subject, From: c.NotBefore.Format("2006-01-02"),
			Until: c.NotAfter.Format("2006-01-02"), Revoked: !c.RevokedAt.IsZero(), Suspended: !c.RevokedAt.IsZero() && c.Reason == ReasonHold})
	}
	pages.Render(w, r, http.StatusOK, "certificates", struct {
		Certs []certView
		Done  bool
	}{views, r.URL.Query().Get("done") == "1"})
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

func serveDER(w http.ResponseWriter, contentType string, der []byte, maxAge time.Duration) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(der)))
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	_, _ = w.Write(der)
}
