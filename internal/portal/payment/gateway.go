package payment

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"civitas/internal/kernel"
)

// Gateway is a driver for a VNPay-shaped gateway (API version 2.1.0):
// the payment URL's query is signed with HMAC-SHA512 under the merchant's
// secret over its vnp_ parameters sorted by name and form-encoded; the IPN
// callback and the return carry vnp_ parameters signed the same way and
// are answered with {"RspCode": ..., "Message": ...}; a refund is a JSON
// request signed over its fields joined by "|".
type Gateway struct {
	o GatewayOptions
}

// GatewayOptions configure a Gateway.
type GatewayOptions struct {
	Name     string // in URLs and records; default "vnpay"
	PayURL   string // the gateway's payment page; "{order}" in it is replaced by the order's reference
	APIURL   string // the gateway's API (refunds)
	Merchant string // the merchant's terminal code (vnp_TmnCode)
	Secret   []byte // the merchant's hash secret: from a file, never a flag
	HTTP     *http.Client
}

var _ PaymentProvider = (*Gateway)(nil)

// ErrSignature is a callback or an answer whose signature does not verify.
var ErrSignature = errors.New("payment: the gateway's signature does not verify")

// MinSecret is the shortest gateway secret accepted (VNPay's are 32
// characters).
const MinSecret = 32

// NewGateway checks o and makes the driver.
func NewGateway(o GatewayOptions) (*Gateway, error) {
	if o.Name == "" {
		o.Name = "vnpay"
	}
	if o.PayURL == "" || o.Merchant == "" {
		return nil, errors.New("payment: a gateway needs its payment URL and the merchant's code")
	}
	if len(o.Secret) < MinSecret {
		return nil, fmt.Errorf("payment: the gateway secret must have at least %d characters", MinSecret)
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	return &Gateway{o: o}, nil
}

// Name names the gateway.
func (g *Gateway) Name() string { return g.o.Name }

// vnpTime is how VNPay writes times: GMT+7, yyyyMMddHHmmss.
const vnpTime = "20060102150405"

// PayURL signs the payment request.
func (g *Gateway) PayURL(_ context.Context, r PayRequest) (string, error) {
	locale := "vn"
	if r.Lang == "en" {
		locale = "en"
	}
	q := url.Values{
		"vnp_Version":    {"2.1.0"},
		"vnp_Command":    {"pay"},
		"vnp_TmnCode":    {g.o.Merchant},
		"vnp_Amount":     {strconv.FormatInt(r.Amount*100, 10)}, // in hundredths, as VNPay counts
		"vnp_CurrCode":   {"VND"},
		"vnp_TxnRef":     {r.Reference},
		"vnp_OrderInfo":  {ASCIIText(r.Description, 255)},
		"vnp_OrderType":  {"billpayment"},
		"vnp_Locale":     {locale},
		"vnp_ReturnUrl":  {r.ReturnURL},
		"vnp_IpAddr":     {cmpOr(r.ClientIP, "127.0.0.1")},
		"vnp_CreateDate": {r.Created.In(kernel.Zone()).Format(vnpTime)},
		"vnp_ExpireDate": {r.Expires.In(kernel.Zone()).Format(vnpTime)},
	}
	q.Set("vnp_SecureHash", SignQuery(g.o.Secret, q))
	base := strings.ReplaceAll(g.o.PayURL, "{order}", url.PathEscape(r.Reference))
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + q.Encode(), nil
}

// SignQuery is the VNPay signature of a query: HMAC-SHA512 under secret
// of its vnp_ parameters with a value, but the hash itself, sorted by name
// and form-encoded (url.Values.Encode writes exactly that), in hex.
func SignQuery(secret []byte, q url.Values) string {
	m := hmac.New(sha512.New, secret)
	m.Write([]byte(hashData(q)))
	return hex.EncodeToString(m.Sum(nil))
}

func hashData(q url.Values) string {
	signed := url.Values{}
	for k, vs := range q {
		if !strings.HasPrefix(k, "vnp_") || k == "vnp_SecureHash" || k == "vnp_SecureHashType" || len(vs) == 0 || vs[0] == "" {
			continue
		}
		signed[k] = vs[:1]
	}
	return signed.Encode()
}

// VerifyQuery checks q's vnp_SecureHash in constant time.
func VerifyQuery(secret []byte, q url.Values) bool {
	got, err := hex.DecodeString(q.Get("vnp_SecureHash"))
	if err != nil || len(got) != sha512.Size {
		return false
	}
	m := hmac.New(sha512.New, secret)
	m.Write([]byte(hashData(q)))
	return hmac.Equal(got, m.Sum(nil))
}

// Verify checks the signature, then reads the callback. Every parameter
// read is signed; one that repeats is refused, as its first value alone
// would be what was signed.
func (g *Gateway) Verify(q url.Values) (Notification, error) {
	for k, vs := range q {
		if len(vs) > 1 {
			return Notification{}, fmt.Errorf("payment: parameter %s repeats: %w", k, ErrSignature)
		}
	}
	if !VerifyQuery(g.o.Secret, q) {
		return Notification{}, ErrSignature
	}
	if q.Get("vnp_TmnCode") != g.o.Merchant {
		return Notification{}, fmt.Errorf("payment: the callback is for merchant %q: %w", q.Get("vnp_TmnCode"), ErrSignature)
	}
	n := Notification{Reference: q.Get("vnp_TxnRef"), TxnID: q.Get("vnp_TransactionNo"), Code: q.Get("vnp_ResponseCode"),
		Currency: q.Get("vnp_CurrCode")}
	raw := q.Get("vnp_Amount")
	hundredths, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || !isDigits(raw) || hundredths%100 != 0 {
		return Notification{}, fmt.Errorf("payment: amount %q is not whole dong in hundredths", raw)
	}
	n.Amount = hundredths / 100
	if n.Reference == "" || n.TxnID == "" {
		return Notification{}, errors.New("payment: the callback names no order or no transaction")
	}
	n.Success = n.Code == "00" && q.Get("vnp_TransactionStatus") == "00"
	if t, err := time.ParseInLocation(vnpTime, q.Get("vnp_PayDate"), kernel.Zone()); err == nil {
		n.PaidAt = t.UTC()
	}
	return n, nil
}

// Answer writes the IPN answer VNPay expects: always 200, the outcome in
// RspCode (00 recorded, 01 order not found, 02 already confirmed, 04
// invalid amount, 97 invalid signature, 99 unknown error).
func (g *Gateway) Answer(o Outcome) (int, string, []byte) {
	code, msg := "99", "Unknown error"
	switch o {
	case OutcomeConfirmed:
		code, msg = "00", "Confirm Success"
	case OutcomeNotFound:
		code, msg = "01", "Order not found"
	case OutcomeAlready:
		code, msg = "02", "Order already confirmed"
	case OutcomeAmount:
		code, msg = "04", "Invalid amount"
	case OutcomeSignature:
		code, msg = "97", "Invalid signature"
	}
	b, _ := json.Marshal(map[string]string{"RspCode": code, "Message": msg})
	return http.StatusOK, "application/json", b
}

// refundFields are the refund request's fields in the order they are
// signed; refundAnswerFields the answer's.
var (
	refundFields = []string{"vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TransactionType", "vnp_TxnRef",
		"vnp_Amount", "vnp_TransactionNo", "vnp_TransactionDate", "vnp_CreateBy", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo"}
	refundAnswerFields = []string{"vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode", "vnp_TxnRef",
		"vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo", "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo"}
)

// SignFields is the signature of a JSON request or answer: HMAC-SHA512 of
// the named fields' values joined by "|".
func SignFields(secret []byte, m map[string]string, fields []string) string {
	vals := make([]string, len(fields))
	for i, f := range fields {
		vals[i] = m[f]
	}
	h := hmac.New(sha512.New, secret)
	h.Write([]byte(strings.Join(vals, "|")))
	return hex.EncodeToString(h.Sum(nil))
}

func verifyFields(secret []byte, m map[string]string, fields []string) bool {
	got, err := hex.DecodeString(m["vnp_SecureHash"])
	if err != nil {
		return false
	}
	want, _ := hex.DecodeString(SignFields(secret, m, fields))
	return hmac.Equal(got, want)
}

// Refund asks the gateway's API for a full refund and checks its signed
// answer.
func (g *Gateway) Refund(ctx context.Context, r RefundRequest) error {
	if g.o.APIURL == "" {
		return errors.New("payment: the gateway has no API URL for refunds")
	}
	req := map[string]string{
		"vnp_RequestId":       kernel.NewID()[:20],
		"vnp_Version":         "2.1.0",
		"vnp_Command":         "refund",
		"vnp_TmnCode":         g.o.Merchant,
		"vnp_TransactionType": "02", // the whole amount
		"vnp_TxnRef":          r.Reference,
		"vnp_Amount":          strconv.FormatInt(r.Amount*100, 10),
		"vnp_TransactionNo":   r.TxnID,
		"vnp_TransactionDate": r.PaidAt.In(kernel.Zone()).Format(vnpTime),
		"vnp_CreateBy":        ASCIIText(r.By, 50),
		"vnp_CreateDate":      r.At.In(kernel.Zone()).Format(vnpTime),
		"vnp_IpAddr":          "127.0.0.1",
		"vnp_OrderInfo":       ASCIIText("Hoan phi "+r.Reference+" "+r.Reason, 255),
	}
	req["vnp_SecureHash"] = SignFields(g.o.Secret, req, refundFields)
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, g.o.APIURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("payment: refund: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := g.o.HTTP.Do(hr)
	if err != nil {
		return fmt.Errorf("payment: refund: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("payment: refund: %w", err)
	}
	var ans map[string]string
	if err := json.Unmarshal(b, &ans); err != nil {
		return fmt.Errorf("payment: refund: status %d, answer not JSON: %w", resp.StatusCode, err)
	}
	if !verifyFields(g.o.Secret, ans, refundAnswerFields) {
		return fmt.Errorf("payment: refund: %w", ErrSignature)
	}
	if ans["vnp_ResponseCode"] != "00" || ans["vnp_TxnRef"] != r.Reference {
		return fmt.Errorf("payment: refund refused: code %s", ans["vnp_ResponseCode"])
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
