package payment

import (
	"context"
	"net/url"
	"time"
)

// PaymentProvider is a card and e-wallet gateway, in the shape Vietnamese
// gateways share: the payer is sent to the gateway's page with a signed
// request, the gateway tells the merchant of the outcome by a signed
// server-to-server callback (IPN) and sends the payer back with the same
// signed parameters, and refunds go through the gateway's signed API.
// Gateway (VNPay-shaped) is the driver; the demo's bank simulator is a
// gateway on the other side of the same driver.
type PaymentProvider interface {
	// Name names the provider in URLs and records: "vnpay".
	Name() string
	// PayURL is where the payer pays the order: the gateway's page with
	// the signed request.
	PayURL(ctx context.Context, r PayRequest) (string, error)
	// Verify checks the signature of a callback's (or a return's)
	// parameters in constant time and reads them. A bad or missing
	// signature is ErrSignature.
	Verify(q url.Values) (Notification, error)
	// Answer is what the gateway expects back for an outcome of its
	// callback: status, content type and body.
	Answer(o Outcome) (status int, contentType string, body []byte)
	// Refund gives a paid order's amount back through the gateway.
	Refund(ctx context.Context, r RefundRequest) error
}

// PayRequest asks the gateway to take a payment.
type PayRequest struct {
	Reference   string // the order's reference, unique
	Amount      int64  // VND
	Description string // what the payer reads, without diacritics
	ReturnURL   string // where the gateway sends the payer back
	ClientIP    string // the payer's address, which gateways ask for
	Lang        string // vi or en
	Created     time.Time
	Expires     time.Time
}

// Notification is a gateway's word on a payment, read from a callback
// whose signature verified.
type Notification struct {
	Reference string // the order's
	TxnID     string // the gateway's transaction number: the idempotency key
	Amount    int64  // VND
	Currency  string // "VND", or "" when the gateway does not say
	Success   bool
	Code      string // the gateway's response code
	PaidAt    time.Time
}

// Outcome is what became of a callback, answered in the gateway's terms.
type Outcome string

// The outcomes of a callback.
const (
	OutcomeConfirmed Outcome = "confirmed" // recorded now
	OutcomeAlready   Outcome = "already"   // a replay, or the order was settled before: nothing changed
	OutcomeNotFound  Outcome = "not_found" // no such order
	OutcomeAmount    Outcome = "amount"    // amount or currency differ from the order's
	OutcomeSignature Outcome = "signature" // the signature did not verify
	OutcomeError     Outcome = "error"     // our failure: the gateway retries
)

// RefundRequest asks the gateway to give a payment back.
type RefundRequest struct {
	Reference string
	TxnID     string // the gateway's transaction being refunded
	Amount    int64
	PaidAt    time.Time
	Reason    string
	By        string // who asks, as the gateway records it
	At        time.Time
}
