package verify

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pades"
)

// formData is what the form needs on both pages.
type formData struct {
	Style string // the stylesheet's URL
	Limit string // the largest upload, for people: "20 MB"
	Error string // a translated message about the last upload, or ""
}

// reportData is the data of templates/report.html.
type reportData struct {
	formData
	FileName   string
	Verdict    verdictView
	Signatures []signatureView
}

type verdictView struct {
	Class   string // passed, failed or indeterminate: the CSS class and the message keys
	Symbol  string
	Key     string
	Explain string
}

type signatureView struct {
	Number            int
	Field             string
	Signer            string
	Time              time.Time // zero when unknown; written with {{$.DateTime}}, in the province's zone
	Timestamped       bool
	Level             string
	DocumentTimestamp bool
	Verdict           verdictView
	RevocationKey     string
	Reasons           []string // message keys
}

func (s *service) formData() formData {
	return formData{Style: s.style, Limit: byteSize(s.limit)}
}

func (s *service) form(w http.ResponseWriter, r *http.Request) {
	s.pages.Render(w, r, http.StatusOK, "verify", s.formData())
}

func (s *service) verifyPage(w http.ResponseWriter, r *http.Request) {
	u, err := s.receive(r, false)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	defer u.remove()
	// The slot is taken once the upload is in: a slow sender must not
	// hold one while it trickles its bytes.
	if !s.acquire(w, r) {
		return
	}
	defer s.release()
	rep, err := s.check(r.Context(), u)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.pages.Render(w, r, http.StatusOK, "report", reportData{
		formData: s.formData(), FileName: u.name, Verdict: newVerdictView(rep.Verdict), Signatures: signatureViews(rep),
	})
}

// failPage shows bad input on the form again, so the reader can choose
// another file at once; other failures get the server's error page.
func (s *service) failPage(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || kernel.ErrorCode(err) != kernel.Invalid {
		s.ws.Error(w, r, err)
		return
	}
	key, args := kernel.ErrorKey(err)
	d := s.formData()
	d.Error = s.ws.T(r, key, args...)
	s.pages.Render(w, r, http.StatusBadRequest, "verify", d)
}

func newVerdictView(v pades.Verdict) verdictView {
	c := verdictClass(v)
	return verdictView{Class: c, Symbol: verdictSymbol(v), Key: "verify.verdict." + c, Explain: "verify.verdict." + c + "_explain"}
}

func signatureViews(rep *pades.Report) []signatureView {
	out := make([]signatureView, len(rep.Signatures))
	for i, sig := range rep.Signatures {
		v := signatureView{
			Number: i + 1, Field: sig.Field, Signer: sig.SignerName, Timestamped: sig.TimestampTime != nil,
			Level: string(sig.Level), DocumentTimestamp: sig.DocumentTimestamp,
			Verdict: newVerdictView(sig.Verdict), RevocationKey: revocationKey(sig.Revocation), Reasons: sig.Reasons,
		}
		if t := signingTime(sig); !t.IsZero() {
			v.Time = t
		}
		out[i] = v
	}
	return out
}

// signingTime is the time-stamp's time when there is one, else the time
// the signer claimed (pades sets SigningTime so already).
func signingTime(sig pades.SignatureReport) time.Time {
	if sig.TimestampTime != nil {
		return *sig.TimestampTime
	}
	return sig.SigningTime
}

// stylesheet serves the verdict colours. Its URL names its hash, so it may
// be cached for good.
func (s *service) stylesheet(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != s.style {
		s.ws.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", strconv.Itoa(len(stylesheet)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(stylesheet)
	}
}

// byteSize writes a limit for people, as the server's own error does:
// "20 MB", "512 KB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
