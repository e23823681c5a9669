package wallet

import (
	"net/http"
	"strconv"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// documentFile serves GET /wallet/{id}/pdf. The route is GET
// /wallet/{id}/{file}, any other file NotFound: net/http's mux refuses
// GET /wallet/{id}/pdf beside GET /wallet/v/{code} (both would match
// /wallet/v/pdf), but takes the latter as the more specific of the two.
func (h *pages) documentFile(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("file") != "pdf" {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	h.documentPDF(w, r)
}

// documentPDF sends a document as a PDF sealed by its agency, in the
// reader's language beside Vietnamese, as an attachment. It is NotFound
// when PDFs are off, and for a document the account may not see.
func (h *pages) documentPDF(w http.ResponseWriter, r *http.Request) {
	if !h.w.PDFEnabled() {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "walletpdf.error.off"))
		return
	}
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
	d, err := h.w.Document(ctx, p.Holder, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	b, err := h.w.PDF(asActor(ctx, a, p), p.Holder, id, web.LangFrom(ctx))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Disposition", `attachment; filename="`+pdfFilename(d.Type, d.ID)+`"`)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	// The holder's document: never kept by a shared cache, nor by the
	// browser's (a shared computer at a service point).
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
