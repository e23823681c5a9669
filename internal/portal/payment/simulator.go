package payment

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/web"
)

// Simulator is the demo's bank: the other side of the Gateway driver,
// so that with --demo the whole path works on one machine. Its page at
// /demo/pay/{order} checks the merchant's signed request as a real
// gateway does and shows the payment; when "the bank" confirms (or
// cancels), it calls the merchant's IPN URL with parameters signed under
// the merchant's secret, exactly as the gateway would, then sends the
// payer to the return URL with the same parameters. /demo/pay/api/refund
// answers refunds, signed. It never touches the database: everything it
// does reaches payments through their HTTP callbacks.
type Simulator struct {
	Merchant string
	Secret   []byte
	IPNURL   string       // the merchant's IPN: PUBLIC/payments/gateway/vnpay/ipn
	HTTP     *http.Client // how the bank reaches the merchant (HandlerClient in the demo)
	Clock    kernel.Clock
	Logger   *slog.Logger
}

type simPages struct {
	sim   *Simulator
	web   *web.Server
	pages *web.Pages
}

// Mount serves the simulator's pages and API.
func (sim *Simulator) Mount(ws *web.Server) error {
	if len(sim.Secret) < MinSecret || sim.Merchant == "" || sim.IPNURL == "" || sim.HTTP == nil || sim.Clock == nil {
		return fmt.Errorf("payment: the simulator needs the merchant, secret, IPN URL, HTTP client and clock")
	}
	if sim.Logger == nil {
		sim.Logger = slog.New(slog.DiscardHandler)
	}
	ps, err := ws.Pages(pageTemplates, "templates/bank_*.html")
	if err != nil {
		return err
	}
	h := &simPages{sim: sim, web: ws, pages: ps}
	ws.HandleFunc("GET /demo/pay/{order}", h.show)
	ws.HandleFunc("POST /demo/pay/{order}", h.decide)
	ws.HandleFunc("POST /demo/pay/api/refund", h.refund)
	ws.ExemptFromCSRF("/demo/pay/api/") // called server to server, signed
	return nil
}

type bankPage struct {
	Reference string
	Amount    string
	Info      string
	Merchant  string
	Query     string
	Error     bool
}

// request checks the merchant's signed request and its expiry.
func (h *simPages) request(q url.Values, order string) (int64, bool) {
	if !VerifyQuery(h.sim.Secret, q) || q.Get("vnp_TmnCode") != h.sim.Merchant || q.Get("vnp_TxnRef") != order || q.Get("vnp_Command") != "pay" {
		return 0, false
	}
	exp, err := time.ParseInLocation(vnpTime, q.Get("vnp_ExpireDate"), kernel.Zone())
	if err != nil || h.sim.Clock.Now().After(exp) {
		return 0, false
	}
	n, err := strconv.ParseInt(q.Get("vnp_Amount"), 10, 64)
	if err != nil || n <= 0 || n%100 != 0 {
		return 0, false
	}
	return n / 100, true
}

func (h *simPages) show(w http.ResponseWriter, r *http.Request) {
	order := r.PathValue("order")
	amount, ok := h.request(r.URL.Query(), order)
	if !ok {
		h.pages.Render(w, r, http.StatusBadRequest, "bank_pay", bankPage{Error: true})
		return
	}
	q := r.URL.Query()
	h.pages.Render(w, r, http.StatusOK, "bank_pay", bankPage{Reference: order, Amount: formatVND(amount), Info: q.Get("vnp_OrderInfo"),
		Merchant: q.Get("vnp_TmnCode"), Query: r.URL.RawQuery})
}

func (h *simPages) decide(w http.ResponseWriter, r *http.Request) {
	order := r.PathValue("order")
	q, err := url.ParseQuery(r.PostFormValue("q"))
	amount, ok := h.request(q, order)
	if err != nil || !ok {
		h.pages.Render(w, r, http.StatusBadRequest, "bank_pay", bankPage{Error: true})
		return
	}
	code := "24" // the customer cancelled
	if r.PostFormValue("action") == "pay" {
		code = "00"
	}
	n, _ := rand.Int(rand.Reader, big.NewInt(90_000_000))
	result := url.Values{
		"vnp_TmnCode":           {h.sim.Merchant},
		"vnp_Amount":            {strconv.FormatInt(amount*100, 10)},
		"vnp_BankCode":          {"NCB"},
		"vnp_BankTranNo":        {"VNP" + strconv.FormatInt(n.Int64()+10_000_000, 10)},
		"vnp_CardType":          {"ATM"},
		"vnp_OrderInfo":         {q.Get("vnp_OrderInfo")},
		"vnp_PayDate":           {h.sim.Clock.Now().In(kernel.Zone()).Format(vnpTime)},
		"vnp_ResponseCode":      {code},
		"vnp_TransactionNo":     {strconv.FormatInt(n.Int64()+10_000_000, 10)},
		"vnp_TransactionStatus": {code},
		"vnp_TxnRef":            {order},
	}
	result.Set("vnp_SecureHash", SignQuery(h.sim.Secret, result))
	h.sim.callIPN(r.Context(), result)
	back := q.Get("vnp_ReturnUrl")
	if back == "" {
		back = "/"
	}
	http.Redirect(w, r, back+"?"+result.Encode(), http.StatusSeeOther)
}

// callIPN tells the merchant, as the gateway does; the answer is logged.
func (sim *Simulator) callIPN(ctx context.Context, result url.Values) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, sim.IPNURL+"?"+result.Encode(), nil)
	if err != nil {
		sim.Logger.Warn("demo bank: IPN", slog.Any("error", err))
		return
	}
	resp, err := sim.HTTP.Do(req)
	if err != nil {
		sim.Logger.Warn("demo bank: IPN", slog.Any("error", err))
		return
	}
	defer resp.Body.Close()
	var ans struct{ RspCode string }
	_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&ans)
	sim.Logger.Info("demo bank: IPN answered", slog.String("code", ans.RspCode))
}

func (h *simPages) refund(w http.ResponseWriter, r *http.Request) {
	var req map[string]string
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		h.web.JSON(w, r, http.StatusBadRequest, map[string]string{"vnp_ResponseCode": "03", "vnp_Message": "Invalid data format"})
		return
	}
	ans := map[string]string{"vnp_ResponseId": kernel.NewID()[:20], "vnp_Command": "refund", "vnp_TmnCode": h.sim.Merchant,
		"vnp_TxnRef": req["vnp_TxnRef"], "vnp_Amount": req["vnp_Amount"], "vnp_BankCode": "NCB",
		"vnp_PayDate": h.sim.Clock.Now().In(kernel.Zone()).Format(vnpTime), "vnp_TransactionNo": req["vnp_TransactionNo"],
		"vnp_TransactionType": req["vnp_TransactionType"], "vnp_TransactionStatus": "05", "vnp_OrderInfo": req["vnp_OrderInfo"]}
	switch {
	case !verifyFields(h.sim.Secret, req, refundFields) || req["vnp_TmnCode"] != h.sim.Merchant:
		ans["vnp_ResponseCode"], ans["vnp_Message"] = "97", "Invalid checksum"
	case req["vnp_TransactionNo"] == "":
		ans["vnp_ResponseCode"], ans["vnp_Message"] = "91", "Transaction not found"
	default:
		ans["vnp_ResponseCode"], ans["vnp_Message"] = "00", "Refund success"
	}
	ans["vnp_SecureHash"] = SignFields(h.sim.Secret, ans, refundAnswerFields)
	h.web.JSON(w, r, http.StatusOK, ans)
}

// HandlerClient is an HTTP client whose requests h serves in the same
// process, through the whole middleware: the demo's bank reaches the
// merchant's callback and the merchant the bank's API without a network,
// even when the public URL is not reachable from the server itself.
func HandlerClient(h func() http.Handler) *http.Client {
	return &http.Client{Transport: handlerTransport{h}, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type handlerTransport struct{ h func() http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:1"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h().ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = req
	if resp.Body == nil {
		resp.Body = io.NopCloser(bytes.NewReader(nil))
	}
	return resp, nil
}
