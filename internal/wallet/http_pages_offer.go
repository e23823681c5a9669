package wallet

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// Offer is a credential offer of one of the holder's documents to a wallet
// app (OpenID4VCI), as the page shows it.
type Offer struct {
	URI       string // openid-credential-offer://...: the QR code
	TxCode    string // shown beside it, never in the link
	ExpiresAt time.Time
}

// OfferFunc makes a credential offer of the signed-in person's own
// document (the app's offerDocument: the oid4vc issuer, with a
// pre-authorized code of the OpenID Provider).
type OfferFunc func(r *http.Request, id string, txCode bool) (Offer, error)

type offerData struct {
	Style      string
	TypeName   string
	DocumentID string
	URI        template.URL // our own openid-credential-offer: link (html/template refuses unknown schemes)
	QR         template.URL // a data: URL of the PNG
	TxCode     string
	Expires    string
	ExpiresISO string
}

// offer shows a credential offer for a wallet app: its link as a QR code,
// and the transaction code beside it (never in the link), for five
// minutes and one use. Only the holder's own documents: a child's or an
// organisation's stay in civitas.
func (h *pages) offer(w http.ResponseWriter, r *http.Request) {
	a, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	if h.offerDoc == nil {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "wallet.error.no_document"))
		return
	}
	id := r.PathValue("id")
	o, err := h.offerDoc(r, id, true)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	ctx := r.Context()
	doc, err := h.w.Document(ctx, Holder{Kind: HolderPerson, ID: a.CitizenID}, id)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	t, err := h.w.o.Catalogue.Type(doc.Type)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	png, err := QRPNG(o.URI)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	h.pages.Render(w, r, http.StatusOK, "wallet_offer", offerData{Style: h.style, TypeName: t.Name(web.LangFrom(ctx)), DocumentID: id,
		URI: template.URL(o.URI), QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), TxCode: o.TxCode,
		Expires: h.when(web.LangFrom(ctx), o.ExpiresAt), ExpiresISO: o.ExpiresAt.Format(time.RFC3339)})
}
