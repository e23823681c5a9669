package verify

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/pades"
	"civitas/internal/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/verify.css
var stylesheet []byte

// DefaultMaxFile is the largest file checked when Options.MaxFile is zero.
const DefaultMaxFile = 20 << 20

const (
	// maxConcurrent is how many validations run at once; the rest are
	// refused at once rather than queued, so a flood of uploads cannot hold
	// every worker and the memory behind them.
	maxConcurrent = 4
	// retryAfter is the Retry-After of that refusal, in seconds.
	retryAfter = "30"
	// checkTimeout bounds one validation, online revocation look-ups
	// included.
	checkTimeout = time.Minute
)

// Options configure the pages and the API.
type Options struct {
	// Trust gives the anchors of the moment: this province's roots plus
	// imported anchors. It is called for every validation, so a new anchor
	// counts at once.
	Trust func(ctx context.Context) (pades.Trust, error)
	// Online fetches revocation evidence the file does not carry; nil
	// checks only what the file carries.
	Online pades.Revocation
	// MaxFile is the largest file accepted (default DefaultMaxFile).
	MaxFile int64

	sem chan struct{} // tests bring their own, to hold its slots
}

// service answers the pages and the API.
type service struct {
	ws      *web.Server
	pages   *web.Pages
	trust   func(context.Context) (pades.Trust, error)
	online  pades.Revocation
	maxFile int64
	limit   int64  // what the page promises: min(maxFile, the body limit)
	style   string // the stylesheet's URL, named by its hash
	sem     chan struct{}
}

// Mount serves GET and POST /verify (the public page) and POST
// /api/verify/v1 (the JSON API, exempt from CSRF: it uses no session).
func Mount(ws *web.Server, o Options) error {
	if o.Trust == nil {
		return errors.New("verify: Options.Trust is required")
	}
	for _, key := range dynamicKeys() {
		if !ws.Catalog().Has(key) {
			return fmt.Errorf("verify: message key %q is not in the catalogue", key)
		}
	}
	ps, err := ws.Pages(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	s := &service{ws: ws, pages: ps, trust: o.Trust, online: o.Online, maxFile: o.MaxFile, sem: o.sem}
	if s.maxFile <= 0 {
		s.maxFile = DefaultMaxFile
	}
	// The upload paths take files up to MaxFile (both files of a .p7s
	// together), with room for the form around them.
	ws.AllowUpload("/verify", s.maxFile+64<<10)
	ws.AllowUpload("/api/verify/v1", s.maxFile+64<<10)
	s.limit = s.maxFile
	if s.sem == nil {
		s.sem = make(chan struct{}, maxConcurrent)
	}
	sum := sha256.Sum256(stylesheet)
	s.style = "/verify/verify-" + hex.EncodeToString(sum[:6]) + ".css"

	ws.HandleFunc("GET /verify", s.form)
	ws.HandleFunc("POST /verify", s.verifyPage)
	ws.HandleFunc("GET /verify/{file}", s.stylesheet)
	ws.ExemptFromCSRF("/api/verify/")
	ws.HandleFunc("POST /api/verify/v1", s.verifyAPI)
	return nil
}

// dynamicKeys are the message keys the templates and the API build at run
// time, which the template check at start-up cannot see.
func dynamicKeys() []string {
	keys := []string{"verify.revocation.unknown"}
	for _, v := range []pades.Verdict{pades.Passed, pades.Failed, pades.Indeterminate} {
		c := verdictClass(v)
		keys = append(keys, "verify.verdict."+c, "verify.verdict."+c+"_explain")
	}
	for _, st := range []string{"good", "revoked", "unknown", "not_checked"} {
		keys = append(keys, revocationKey(st))
	}
	return keys
}

// acquire takes a validation slot, or answers 503 with Retry-After.
func (s *service) acquire(w http.ResponseWriter, r *http.Request) bool {
	select {
	case s.sem <- struct{}{}:
		return true
	default:
		w.Header().Set("Retry-After", retryAfter)
		s.ws.Error(w, r, kernel.E(kernel.Unavailable, "verify.error.busy"))
		return false
	}
}

func (s *service) release() { <-s.sem }

// check validates an upload: a PDF alone, or a .p7s with the file it
// signs. Bad input is an Invalid error; a bad signature is a report.
func (s *service) check(ctx context.Context, u *upload) (*pades.Report, error) {
	if u.file == nil {
		return nil, kernel.E(kernel.Invalid, "verify.error.no_file")
	}
	isPDF := looksLikePDF(u.file.head)
	switch {
	case u.content != nil && isPDF:
		return nil, kernel.E(kernel.Invalid, "verify.error.pdf_with_content")
	case u.content == nil && !isPDF && looksLikeCMS(u.file.head):
		return nil, kernel.E(kernel.Invalid, "verify.error.need_content")
	case u.content == nil && !isPDF:
		return nil, kernel.E(kernel.Invalid, "verify.error.not_pdf")
	}
	var p7s []byte
	if u.content != nil {
		var err error
		if p7s, err = u.file.signature(); err != nil {
			return nil, err
		}
	}
	trust, err := s.trust(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: trust anchors: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	var rep *pades.Report
	if u.content != nil {
		if _, err := u.content.f.Seek(0, 0); err != nil {
			return nil, kernel.Wrap(err, "verify: rewind the signed file")
		}
		rep, err = pades.ValidateCMS(ctx, p7s, u.content.f, trust, s.online)
	} else {
		rep, err = pades.Validate(ctx, u.file.f, u.file.size, trust, s.online)
	}
	if err != nil {
		return nil, inputError(ctx, err)
	}
	return rep, nil
}

// inputError says what went wrong with a file pades could not read. The
// file is a stranger's: what is not a timeout is the file's fault, never
// a server error.
func inputError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return kernel.E(kernel.Unavailable, "verify.error.timeout").WithCause(err)
	}
	var ke *kernel.Error
	if errors.As(err, &ke) && ke.Code == kernel.Invalid {
		if ke.Key == "pdf.error.encrypted" { // its message speaks of signing
			return kernel.E(kernel.Invalid, "verify.error.encrypted").WithCause(err)
		}
		return err
	}
	return kernel.E(kernel.Invalid, "verify.error.unreadable").WithCause(err)
}

// verdictClass names a verdict in CSS classes and message keys.
func verdictClass(v pades.Verdict) string {
	switch v {
	case pades.Passed:
		return "passed"
	case pades.Failed:
		return "failed"
	}
	return "indeterminate" // what is not proven either way is never shown as valid
}

// verdictSymbol goes with the words, for readers who skim.
func verdictSymbol(v pades.Verdict) string {
	switch v {
	case pades.Passed:
		return "✓"
	case pades.Failed:
		return "✗"
	}
	return "?"
}

func revocationKey(status string) string {
	switch status {
	case "good", "revoked", "not_checked":
		return "verify.revocation." + status
	}
	return "verify.revocation.unknown"
}
