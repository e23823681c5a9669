package payment

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"strings"
	"time"

	"civitas/internal/db"
	"civitas/internal/i18n"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
	"civitas/internal/sealed"
)

// Order statuses: pending until the gateway or a statement says it is
// paid; failed (the gateway refused it) or expired (nobody paid in time)
// end it; a paid order may be refunded (refunding while the gateway is
// asked).
const (
	StatusPending   = "pending"
	StatusPaid      = "paid"
	StatusFailed    = "failed"
	StatusExpired   = "expired"
	StatusRefunding = "refunding"
	StatusRefunded  = "refunded"
)

// How an order was paid.
const (
	MethodGateway  = "gateway"  // through the card and wallet gateway
	MethodTransfer = "transfer" // a bank transfer (VietQR) found on a statement
)

// Order asks for a payment of a fee. An order refers to the application
// it pays for by ID only.
type Order struct {
	ApplicationID string
	Procedure     string // the procedure's code, for the receipt
	Agency        string // the agency the fee is paid to (registry code)
	Unit          string // the commune the application belongs to, for the figures
	Amount        int64  // VND
	Description   string // what the payer reads: "Lệ phí đăng ký khai sinh"
	PayerCitizen  string
	ReturnURL     string // where the payer goes back to when done (the application)
}

// Checkout is an order as the payer and the portal see it: its state and,
// while it is pending, how to pay — a VietQR payload to scan (and its
// image at QRImageURL) and the gateway's page at PayURL.
type Checkout struct {
	OrderID       string
	Reference     string // in the transfer's purpose and on the statement
	ApplicationID string
	Agency        string
	Amount        int64
	Description   string
	Status        string
	Method        string
	QRPayload     string // "" once no longer pending
	QRImageURL    string
	PayURL        string // "" without a gateway, or once no longer pending
	PageURL       string // the order's page for the payer
	ReceiptURL    string // once paid, when receipts are made
	CreatedAt     time.Time
	ExpiresAt     time.Time
	PaidAt        time.Time
}

// Listener is told when an order's status changed, after the change
// committed: the portal records the payment of the application.
type Listener interface {
	PaymentChanged(ctx context.Context, c Checkout) error
}

// Directory is what payment reads about people and agencies: an agency's
// name, the agencies an official holds a post at, and a payer's name for
// the receipt.
type Directory interface {
	AgencyName(ctx context.Context, code string) (string, error)
	Posts(ctx context.Context, accountID string) ([]string, error)
	PersonName(ctx context.Context, citizenID string) (string, error)
}

// UseLog records a read of a person's data by someone else (an official
// downloading a payer's receipt).
type UseLog interface {
	Record(ctx context.Context, tx *db.Tx, u kernel.DataUse) error
}

// Sealer seals a PDF with an agency's seal.
type Sealer interface {
	SealPDF(ctx context.Context, agency string, in []byte) ([]byte, error)
}

// Options configure the service.
type Options struct {
	DB        *db.DB
	Clock     kernel.Clock
	Accounts  Accounts        // where each agency's fees are paid
	Provider  PaymentProvider // the card and wallet gateway; nil: VietQR transfers only
	PublicURL string
	Directory Directory
	UseLog    UseLog
	Listener  Listener // nil: nobody is told
	// Font, Sealer and Messages make receipts; without any no receipt is
	// made.
	Font     *pdf.Font
	Sealer   Sealer
	Messages *i18n.Catalog
	// Box seals receipts at rest: they name the payer.
	Box *sealed.Box
	// OrderTTL is how long an order waits to be paid; default 24 hours
	// (a transfer from a VietQR code may take a while). The gateway's
	// own page expires after GatewayTTL, default 15 minutes.
	OrderTTL   time.Duration
	GatewayTTL time.Duration
	Logger     *slog.Logger
}

// Service is payments.
type Service struct {
	o Options
}

// New checks o and makes the service.
func New(o Options) (*Service, error) {
	if o.DB == nil || o.Clock == nil || o.Directory == nil || o.UseLog == nil {
		return nil, errors.New("payment: DB, Clock, Directory and UseLog are required")
	}
	if o.Accounts.Default.Number != "" || len(o.Accounts.Agencies) > 0 {
		// Without accounts orders cannot be made, but statements can be
		// reconciled (an operator's command).
		if err := o.Accounts.Validate(); err != nil {
			return nil, err
		}
	}
	if o.OrderTTL <= 0 {
		o.OrderTTL = 24 * time.Hour
	}
	if o.GatewayTTL <= 0 {
		o.GatewayTTL = 15 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	return &Service{o: o}, nil
}

// now is the service's clock, truncated to what the database keeps.
func (s *Service) now() time.Time { return s.o.Clock.Now().Truncate(time.Microsecond) }

// ReceiptsEnabled says whether paid orders have receipts.
func (s *Service) ReceiptsEnabled() bool {
	return s.o.Font != nil && s.o.Sealer != nil && s.o.Box != nil
}

// Provider returns the gateway, or nil.
func (s *Service) Provider() PaymentProvider { return s.o.Provider }

// referenceAlphabet is Crockford's base 32: no I, L, O or U, which people
// misread when they type a reference into a transfer by hand.
const referenceAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// referencePrefix starts every reference, so that one is found in the
// free text of a bank statement.
const referencePrefix = "CV"

// referenceLen is a reference's length: "CV" and ten characters, 50 bits.
const referenceLen = 12

func newReference() string {
	var b [referenceLen - len(referencePrefix)]byte
	_, _ = rand.Read(b[:])
	out := []byte(referencePrefix)
	for _, c := range b {
		out = append(out, referenceAlphabet[c&31])
	}
	return string(out)
}

// Start makes an order for a fee and returns how to pay it. A pending
// order of the same application, agency and amount is returned instead of
// a second one (a payer who clicks twice pays once).
func (s *Service) Start(ctx context.Context, o Order) (Checkout, error) {
	switch {
	case o.ApplicationID == "" || len(o.ApplicationID) > 64:
		return Checkout{}, kernel.E(kernel.Invalid, "payment.error.application")
	case o.Amount <= 0 || o.Amount > 1_000_000_000_000:
		return Checkout{}, kernel.E(kernel.Invalid, "payment.error.amount")
	case o.Agency == "":
		return Checkout{}, kernel.E(kernel.Invalid, "payment.error.agency")
	}
	if _, ok := s.o.Accounts.Of(o.Agency); !ok {
		return Checkout{}, kernel.E(kernel.Unavailable, "payment.error.no_account")
	}
	if len(o.ReturnURL) > 2000 || o.ReturnURL != "" && !strings.HasPrefix(o.ReturnURL, s.o.PublicURL+"/") {
		// The payer is sent back only to this site.
		return Checkout{}, kernel.E(kernel.Invalid, "payment.error.return_url")
	}
	actor := kernel.ActorFrom(ctx)
	var out order
	err := s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		if cur, err := findPendingOrder(ctx, tx, o.ApplicationID, o.Agency, o.Amount, tx.Now); err == nil {
			out = cur
			return nil
		} else if kernel.ErrorCode(err) != kernel.NotFound {
			return err
		}
		out = order{ID: kernel.NewID(), Reference: newReference(), Order: o, Status: StatusPending,
			CreatedAt: tx.Now, ExpiresAt: tx.Now.Add(s.o.OrderTTL)}
		if actor.Kind == kernel.ActorCitizen {
			out.PayerAccount = actor.ID
		}
		if err := insertOrder(ctx, tx, &out); err != nil {
			return err
		}
		return s.audit(ctx, tx, "payment.order.start", out, map[string]any{"application": o.ApplicationID, "agency": o.Agency, "amount": o.Amount})
	})
	if err != nil {
		return Checkout{}, kernel.Wrap(err, "payment: start")
	}
	return s.checkout(out), nil
}

// Status returns an order as it stands.
func (s *Service) Status(ctx context.Context, id string) (Checkout, error) {
	var o order
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		o, err = findOrder(ctx, tx, id)
		return err
	})
	if err != nil {
		return Checkout{}, err
	}
	return s.checkout(o), nil
}

// checkout is what an order shows.
func (s *Service) checkout(o order) Checkout {
	c := Checkout{OrderID: o.ID, Reference: o.Reference, ApplicationID: o.ApplicationID, Agency: o.Agency, Amount: o.Amount,
		Description: o.Description, Status: o.Status, Method: o.Method, PageURL: s.o.PublicURL + "/payments/" + o.ID,
		CreatedAt: o.CreatedAt, ExpiresAt: o.ExpiresAt, PaidAt: o.PaidAt}
	if o.Status == StatusPending {
		if p, err := s.vietQR(o); err == nil {
			c.QRPayload = p
			c.QRImageURL = s.o.PublicURL + "/payments/" + o.ID + "/qr.png"
		}
		if s.o.Provider != nil {
			c.PayURL = s.o.PublicURL + "/payments/" + o.ID + "/pay"
		}
	}
	if o.Status == StatusPaid && s.ReceiptsEnabled() {
		c.ReceiptURL = s.o.PublicURL + "/payments/" + o.ID + "/receipt.pdf"
	}
	return c
}

// vietQR is the order's transfer code: one payment of the amount to the
// agency's account, the reference as bill number and in the purpose.
func (s *Service) vietQR(o order) (string, error) {
	acc, ok := s.o.Accounts.Of(o.Agency)
	if !ok {
		return "", kernel.E(kernel.Unavailable, "payment.error.no_account")
	}
	purpose := ASCIIText(o.Reference+" "+o.Description, 25)
	return VietQR{BIN: acc.BIN, Account: acc.Number, Service: cmpOr(acc.Service, ServiceToAccount), Amount: o.Amount,
		MerchantName: ASCIIText(acc.Name, 25), BillNumber: o.Reference, Purpose: purpose}.Payload()
}

// PayURL signs a fresh request to the gateway for a pending order (the
// gateway's page expires in minutes, the order in hours).
func (s *Service) PayURL(ctx context.Context, id, clientIP, lang string) (string, error) {
	if s.o.Provider == nil {
		return "", kernel.E(kernel.Unavailable, "payment.error.no_gateway")
	}
	c, err := s.Status(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Status != StatusPending {
		return "", kernel.E(kernel.Conflict, "payment.error.not_pending")
	}
	var o order
	if err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		o, err = findOrder(ctx, tx, id)
		return err
	}); err != nil {
		return "", err
	}
	now := s.now()
	exp := now.Add(s.o.GatewayTTL)
	if o.ExpiresAt.Before(exp) {
		exp = o.ExpiresAt
	}
	u, err := s.o.Provider.PayURL(ctx, PayRequest{Reference: o.Reference, Amount: o.Amount, Description: o.Description,
		ReturnURL: s.o.PublicURL + "/payments/gateway/" + s.o.Provider.Name() + "/return", ClientIP: clientIP, Lang: lang,
		Created: now, Expires: exp})
	return u, kernel.Wrap(err, "payment: pay url")
}

// Refund gives a paid order's amount back: through the gateway when it
// was paid there (the order is marked refunding while the gateway is
// asked, so two refunds never both ask), or recorded as owed by the
// agency's account when it came by transfer. Refunding a refunded order
// does nothing.
func (s *Service) Refund(ctx context.Context, id, reason string) error {
	reason = strings.TrimSpace(reason)
	if len(reason) > 500 {
		reason = reason[:500]
	}
	var o order
	err := s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		var err error
		if o, err = findOrder(ctx, tx, id); err != nil {
			return err
		}
		switch o.Status {
		case StatusRefunded:
			return nil
		case StatusPaid:
		default:
			return kernel.E(kernel.Conflict, "payment.error.not_paid")
		}
		if o.Method != MethodGateway {
			return nil // no gateway to ask: recorded below in one step
		}
		if err := setStatus(ctx, tx, o.ID, StatusPaid, StatusRefunding, orderChange{}); err != nil {
			return err
		}
		return s.audit(ctx, tx, "payment.order.refunding", o, map[string]any{"reason": reason})
	})
	if err != nil || o.Status == StatusRefunded {
		return kernel.Wrap(err, "payment: refund")
	}
	if o.Method == MethodGateway {
		if s.o.Provider == nil {
			err = errors.New("no gateway configured")
		} else {
			err = s.o.Provider.Refund(ctx, RefundRequest{Reference: o.Reference, TxnID: o.ProviderTxn, Amount: o.Amount, PaidAt: o.PaidAt,
				Reason: reason, By: actorName(ctx), At: s.now()})
		}
		if err != nil {
			// Back to paid: the refund can be asked again.
			back := s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
				if err := setStatus(ctx, tx, o.ID, StatusRefunding, StatusPaid, orderChange{}); err != nil {
					return err
				}
				return s.audit(ctx, tx, "payment.order.refund_failed", o, nil)
			})
			s.o.Logger.Warn("payment: the gateway refused a refund", slog.String("order", o.ID), slog.Any("error", err))
			return errors.Join(kernel.E(kernel.Unavailable, "payment.error.refund_failed").WithCause(err), back)
		}
	}
	from := StatusPaid
	if o.Method == MethodGateway {
		from = StatusRefunding
	}
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		if err := setStatus(ctx, tx, o.ID, from, StatusRefunded, orderChange{closed: tx.Now, reason: reason}); err != nil {
			return err
		}
		tallyRefund(ctx, tx, o)
		return s.audit(ctx, tx, "payment.order.refunded", o, map[string]any{"reason": reason, "method": o.Method, "amount": o.Amount})
	})
	if err != nil {
		return kernel.Wrap(err, "payment: refund")
	}
	o.Status = StatusRefunded
	s.tell(ctx, o)
	return nil
}

// ExpireOrders ends pending orders nobody paid in time, at most limit of
// them, and tells the listener of each.
func (s *Service) ExpireOrders(ctx context.Context, limit int) (int, error) {
	var done []order
	err := s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		due, err := findExpiredOrders(ctx, tx, tx.Now, limit)
		if err != nil {
			return err
		}
		for _, o := range due {
			if err := setStatus(ctx, tx, o.ID, StatusPending, StatusExpired, orderChange{closed: tx.Now}); err != nil {
				if kernel.ErrorCode(err) == kernel.Conflict {
					continue
				}
				return err
			}
			o.Status = StatusExpired
			done = append(done, o)
		}
		if len(done) == 0 {
			return nil
		}
		return s.audit(ctx, tx, "payment.orders.expired", order{ID: "batch"}, map[string]any{"count": len(done)})
	})
	if err != nil {
		return 0, kernel.Wrap(err, "payment: expire")
	}
	for _, o := range done {
		s.tell(ctx, o)
	}
	return len(done), nil
}

// tell tells the listener of an order's new status; a failure is logged,
// and the portal asks again when the application is next shown.
func (s *Service) tell(ctx context.Context, o order) {
	if s.o.Listener == nil {
		return
	}
	if err := s.o.Listener.PaymentChanged(ctx, s.checkout(o)); err != nil {
		s.o.Logger.Warn("payment: telling the portal failed", slog.String("order", o.ID), slog.Any("error", err))
	}
}

func actorName(ctx context.Context) string {
	a := kernel.ActorFrom(ctx)
	return string(a.Kind) + ":" + a.ID
}

// byReference returns the order of a reference, unchecked: for the
// gateway's return, whose signature was checked.
func (s *Service) byReference(ctx context.Context, ref string) (Checkout, error) {
	var o order
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		o, err = findOrderByReference(ctx, tx, ref)
		return err
	})
	if err != nil {
		return Checkout{}, err
	}
	return s.checkout(o), nil
}

// returnURL is where the payer goes back to once an order is done: the
// application's page, or "".
func (s *Service) returnURL(ctx context.Context, id string) string {
	var o order
	_ = s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		o, err = findOrder(ctx, tx, id)
		return err
	})
	return o.ReturnURL
}
