package app

import (
	"context"

	"civitas/internal/kernel"
	"civitas/internal/portal"
	"civitas/internal/portal/payment"
	"civitas/internal/registry"
)

// portalPayments lets the portal take fees through payments: an order per
// application, its status as the portal counts it, and refunds.
type portalPayments struct {
	p   *payment.Service
	reg *registry.Service
}

var _ portal.Payments = portalPayments{}

func (pp portalPayments) Start(ctx context.Context, r portal.PaymentRequest) (portal.Payment, error) {
	unit := ""
	if per, err := pp.reg.Person(ctx, r.PayerCitizen); err == nil {
		unit = per.UnitCode
	} else if kernel.ErrorCode(err) != kernel.NotFound {
		return portal.Payment{}, err
	}
	c, err := pp.p.Start(ctx, payment.Order{ApplicationID: r.ApplicationID, Procedure: r.Procedure, Agency: r.Agency, Unit: unit,
		Amount: r.Amount, Description: r.Description, PayerCitizen: r.PayerCitizen, ReturnURL: r.ReturnURL})
	if err != nil {
		return portal.Payment{}, err
	}
	return toPortalPayment(c), nil
}

func (pp portalPayments) Status(ctx context.Context, id string) (portal.Payment, error) {
	c, err := pp.p.Status(ctx, id)
	if err != nil {
		return portal.Payment{}, err
	}
	return toPortalPayment(c), nil
}

func (pp portalPayments) Refund(ctx context.Context, id, reason string) error {
	return pp.p.Refund(ctx, id, reason)
}

// toPortalPayment is an order as the portal counts it: a refund under way
// is still money received; an expired order is a failed payment.
func toPortalPayment(c payment.Checkout) portal.Payment {
	st := c.Status
	switch st {
	case payment.StatusRefunding:
		st = portal.PaymentPaid
	case payment.StatusExpired:
		st = portal.PaymentFailed
	}
	url := c.PayURL
	if url == "" {
		url = c.PageURL
	}
	return portal.Payment{ID: c.OrderID, Status: st, Amount: c.Amount, QRPayload: c.QRPayload, URL: url}
}

// paymentListener tells the portal of a payment the moment it changes (a
// gateway's callback, a statement line), so the application moves on without
// waiting for the applicant to look. Payments are built before the portal:
// it reads the portal when called.
type paymentListener struct{ a *App }

var _ payment.Listener = paymentListener{}

func (l paymentListener) PaymentChanged(ctx context.Context, c payment.Checkout) error {
	if l.a.portal == nil || c.ApplicationID == "" {
		return nil
	}
	_, err := l.a.portal.PaymentChanged(kernel.WithActor(ctx, kernel.System("payment")), c.ApplicationID, toPortalPayment(c))
	return err
}
