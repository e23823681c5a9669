package payment

import (
	"context"
	"embed"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/web"
)

//go:embed templates/*.html
var pageTemplates embed.FS

type pages struct {
	s     *Service
	web   *web.Server
	pages *web.Pages
}

// Mount serves the payer's pages (/payments/{id}: the order with its
// VietQR code and the gateway's link, the receipt), the gateway's callback
// and return (/payments/gateway/{provider}/ipn and /return) and the
// officials' reconciliation pages (/officer/payments), reached from the
// officials' hub.
func (s *Service) Mount(ws *web.Server) error {
	for _, key := range pageKeys() {
		if !ws.Catalog().Has(key) {
			return fmt.Errorf("payment: message key %q is not in the catalogue", key)
		}
	}
	ps, err := ws.Pages(pageTemplates, "templates/payment_*.html")
	if err != nil {
		return err
	}
	h := &pages{s: s, web: ws, pages: ps}
	ws.HandleFunc("GET /payments/{id}", h.order)
	ws.HandleFunc("GET /payments/{id}/qr.png", h.qr)
	ws.HandleFunc("GET /payments/{id}/pay", h.pay)
	ws.HandleFunc("GET /payments/{id}/receipt.pdf", h.receipt)
	ws.HandleFunc("GET /payments/gateway/{provider}/ipn", h.ipn)
	ws.HandleFunc("GET /payments/gateway/{provider}/return", h.back)
	ws.HandleFunc("GET /officer/payments", h.runs)
	ws.HandleFunc("GET /officer/payments/runs/{id}", h.run)
	ws.HandleFunc("GET /officer/payments/orders/{id}/receipt.pdf", h.officialReceipt)
	return nil
}

// pageKeys are the message keys the pages build at run time.
func pageKeys() []string {
	keys := []string{"paymentpdf.method_gateway", "paymentpdf.method_transfer"}
	for _, st := range []string{StatusPending, StatusPaid, StatusFailed, StatusExpired, StatusRefunding, StatusRefunded} {
		keys = append(keys, "paymentpages.status."+st)
	}
	for _, k := range []string{MismatchMissing, MismatchUnknown, MismatchAmount, MismatchDuplicate, MismatchLate} {
		keys = append(keys, "paymentpages.kind."+k)
	}
	return keys
}

// payer signs the reader in as the payer, or sends them to log in.
func (h *pages) payer(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return nil, false
	}
	if err != nil || sess.AccountID == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return nil, false
	}
	// The order's payer is the signed-in account itself, never whom it
	// acts for.
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorCitizen, ID: sess.AccountID})
	return r.WithContext(ctx), true
}

type orderPage struct {
	C          Checkout
	Agency     string
	Amount     string
	AmountText string
	Account    Account
	Created    time.Time
	Expires    time.Time
	Paid       time.Time
	Status     string
	Notice     string
}

func (h *pages) order(w http.ResponseWriter, r *http.Request) {
	r, ok := h.payer(w, r)
	if !ok {
		return
	}
	c, err := h.s.Order(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	name, err := h.s.o.Directory.AgencyName(r.Context(), c.Agency)
	if err != nil {
		name = c.Agency
	}
	acc, _ := h.s.o.Accounts.Of(c.Agency)
	d := orderPage{C: c, Agency: name, Amount: formatVND(c.Amount), AmountText: AmountInWords(c.Amount), Account: acc,
		Created: c.CreatedAt, Expires: c.ExpiresAt, Paid: c.PaidAt, Status: "paymentpages.status." + c.Status}
	h.pages.Render(w, r, http.StatusOK, "payment_order", d)
}

func (h *pages) qr(w http.ResponseWriter, r *http.Request) {
	r, ok := h.payer(w, r)
	if !ok {
		return
	}
	c, err := h.s.Order(r.Context(), r.PathValue("id"))
	if err == nil && c.QRPayload == "" {
		err = kernel.E(kernel.NotFound, "payment.error.not_pending")
	}
	var img []byte
	if err == nil {
		img, err = QRImage(c.QRPayload)
	}
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	_, _ = w.Write(img)
}

func (h *pages) pay(w http.ResponseWriter, r *http.Request) {
	r, ok := h.payer(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := h.s.Order(r.Context(), id); err != nil {
		h.web.Error(w, r, err)
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	lang := "vi"
	if web.LangFrom(r.Context()) == "en" {
		lang = "en"
	}
	u, err := h.s.PayURL(r.Context(), id, host, lang)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func (h *pages) receipt(w http.ResponseWriter, r *http.Request) {
	r, ok := h.payer(w, r)
	if !ok {
		return
	}
	h.sendReceipt(w, r)
}

func (h *pages) sendReceipt(w http.ResponseWriter, r *http.Request) {
	b, err := h.s.Receipt(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	c, err := h.s.Status(r.Context(), r.PathValue("id"))
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/pdf")
	hd.Set("Content-Disposition", `attachment; filename="bien-lai-`+c.Reference+`.pdf"`)
	hd.Set("Cache-Control", "private, no-store")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// ipn is the gateway's callback: answered in the gateway's terms.
func (h *pages) ipn(w http.ResponseWriter, r *http.Request) {
	st, ct, body, err := h.s.Callback(r.Context(), r.PathValue("provider"), r.URL.Query())
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_, _ = w.Write(body)
}

type returnPage struct {
	OK      bool // the gateway said paid
	Bad     bool // the signature did not verify
	C       Checkout
	Amount  string
	BackURL string
}

// back is where the gateway sends the payer: it shows what the signed
// parameters say and how the order stands, and changes nothing (the
// callback does).
func (h *pages) back(w http.ResponseWriter, r *http.Request) {
	p := h.s.o.Provider
	if p == nil || p.Name() != r.PathValue("provider") {
		h.web.Error(w, r, kernel.E(kernel.NotFound, "error.not_found"))
		return
	}
	d := returnPage{}
	n, err := p.Verify(r.URL.Query())
	if err != nil {
		d.Bad = true
		h.pages.Render(w, r, http.StatusBadRequest, "payment_return", d)
		return
	}
	c, err := h.s.byReference(r.Context(), n.Reference)
	if err != nil {
		d.Bad = true
		h.pages.Render(w, r, http.StatusBadRequest, "payment_return", d)
		return
	}
	d.OK, d.C, d.Amount = n.Success, c, formatVND(c.Amount)
	d.BackURL = c.PageURL
	if ret := h.s.returnURL(r.Context(), c.OrderID); ret != "" {
		d.BackURL = ret
	}
	h.pages.Render(w, r, http.StatusOK, "payment_return", d)
}

// official checks a level-2 official's session and returns their
// agencies, with the request acting as the official.
func (h *pages) official(w http.ResponseWriter, r *http.Request) (*http.Request, []string, bool) {
	sess, err := h.web.Session(r)
	if err != nil && kernel.ErrorCode(err) != kernel.Unauthenticated {
		h.web.Error(w, r, err)
		return nil, nil, false
	}
	if err != nil || sess.AccountID == "" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return nil, nil, false
	}
	if sess.ActingFor != "" {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "payment.error.not_official"))
		return nil, nil, false
	}
	if !kernel.AtLeastLevel2(sess.ACR) {
		if r.Method == http.MethodGet {
			http.Redirect(w, r, "/login?acr=level2&next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil, nil, false
		}
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "payment.error.level2_session"))
		return nil, nil, false
	}
	posts, err := h.s.o.Directory.Posts(r.Context(), sess.AccountID)
	if err != nil {
		h.web.Error(w, r, err)
		return nil, nil, false
	}
	if len(posts) == 0 {
		h.web.Error(w, r, kernel.E(kernel.Forbidden, "payment.error.not_official"))
		return nil, nil, false
	}
	ctx := kernel.WithActor(r.Context(), kernel.Actor{Kind: kernel.ActorOfficial, ID: sess.AccountID})
	return r.WithContext(ctx), posts, true
}

type runRow struct {
	Run
	At time.Time
}

type runsPage struct {
	Runs []runRow
	Next string
}

func (h *pages) runs(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.official(w, r)
	if !ok {
		return
	}
	runs, err := h.s.Runs(r.Context(), kernel.Page{After: r.URL.Query().Get("after"), Limit: 30})
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := runsPage{}
	for _, run := range runs {
		d.Runs = append(d.Runs, runRow{Run: run, At: run.RunAt})
	}
	if len(runs) == 30 {
		d.Next = runs[len(runs)-1].ID
	}
	h.pages.Render(w, r, http.StatusOK, "payment_officer", d)
}

type itemRow struct {
	Mismatch
	KindKey  string
	Expected string
	Got      string
}

type runPage struct {
	Run   runRow
	Items []itemRow
}

func (h *pages) run(w http.ResponseWriter, r *http.Request) {
	r, agencies, ok := h.official(w, r)
	if !ok {
		return
	}
	run, items, err := h.s.RunItems(r.Context(), r.PathValue("id"), agencies)
	if err != nil {
		h.web.Error(w, r, err)
		return
	}
	d := runPage{Run: runRow{Run: run, At: run.RunAt}}
	for _, m := range items {
		row := itemRow{Mismatch: m, KindKey: "paymentpages.kind." + m.Kind}
		if m.Expected != 0 {
			row.Expected = formatVND(m.Expected)
		}
		if m.Got != 0 {
			row.Got = formatVND(m.Got)
		}
		d.Items = append(d.Items, row)
	}
	h.pages.Render(w, r, http.StatusOK, "payment_officer_run", d)
}

func (h *pages) officialReceipt(w http.ResponseWriter, r *http.Request) {
	r, _, ok := h.official(w, r)
	if !ok {
		return
	}
	h.sendReceipt(w, r)
}

// Order returns an order for whoever may read it (the payer, an official
// of the agency, the system); anyone else gets NotFound.
func (s *Service) Order(ctx context.Context, id string) (Checkout, error) {
	var o order
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		o, err = findOrder(ctx, tx, id)
		return err
	})
	if err != nil {
		return Checkout{}, err
	}
	if _, err := s.mayRead(ctx, o); err != nil {
		return Checkout{}, err
	}
	return s.checkout(o), nil
}
