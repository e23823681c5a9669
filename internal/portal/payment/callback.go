package payment

import (
	"context"
	"errors"
	"log/slog"
	"net/url"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Callback handles a gateway's callback (IPN): the signature is checked
// in constant time before anything is read; the order must exist, and the
// amount and currency be the order's; the gateway's transaction number
// makes a replay change nothing (answered "already confirmed", as the
// gateway expects); a pending order becomes paid or failed, audited, and
// the listener is told. A bad signature writes nothing, not even to the
// audit log, which strangers must not be able to fill; it is logged
// without the parameters. It returns the answer the gateway expects.
func (s *Service) Callback(ctx context.Context, provider string, q url.Values) (int, string, []byte, error) {
	p := s.o.Provider
	if p == nil || p.Name() != provider {
		return 0, "", nil, kernel.E(kernel.NotFound, "error.not_found")
	}
	ctx = kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorClient, ID: "gateway:" + provider})
	n, err := p.Verify(q)
	if errors.Is(err, ErrSignature) {
		s.o.Logger.Warn("payment: a callback with a bad signature was refused", slog.String("provider", provider))
		st, ct, b := p.Answer(OutcomeSignature)
		return st, ct, b, nil
	}
	if err != nil {
		s.o.Logger.Warn("payment: a signed callback could not be read", slog.String("provider", provider), slog.Any("error", err))
		st, ct, b := p.Answer(OutcomeError)
		return st, ct, b, nil
	}
	outcome, err := s.Notify(ctx, provider, n)
	if err != nil {
		s.o.Logger.Error("payment: callback", slog.String("provider", provider), slog.Any("error", err))
		outcome = OutcomeError
	}
	st, ct, b := p.Answer(outcome)
	return st, ct, b, nil
}

// Notify applies a verified notification from provider: see Callback.
func (s *Service) Notify(ctx context.Context, provider string, n Notification) (Outcome, error) {
	var outcome Outcome
	var changed order
	err := s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		outcome, changed = "", order{}
		o, err := findOrderByReference(ctx, tx, n.Reference)
		if kernel.ErrorCode(err) == kernel.NotFound {
			outcome = OutcomeNotFound
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := findCallback(ctx, tx, provider, n.TxnID); err == nil {
			outcome = OutcomeAlready // a replay: nothing changes
			return nil
		} else if kernel.ErrorCode(err) != kernel.NotFound {
			return err
		}
		if n.Amount != o.Amount || n.Currency != "" && n.Currency != "VND" {
			// Signed by the gateway, so worth keeping: audited, the order
			// untouched.
			outcome = OutcomeAmount
			return s.audit(ctx, tx, "payment.callback.rejected", o, map[string]any{"provider": provider, "txn": n.TxnID,
				"amount": n.Amount, "currency": n.Currency, "expected": o.Amount})
		}
		cb := callback{Provider: provider, TxnID: n.TxnID, OrderID: o.ID, Amount: n.Amount, Success: n.Success, At: tx.Now}
		if o.Status != StatusPending {
			// Settled before (paid by another transaction, failed,
			// expired): a payment now is money to give back, which
			// reconciliation lists.
			outcome, cb.Outcome = OutcomeAlready, "late"
			if err := insertCallback(ctx, tx, cb); err != nil {
				return err
			}
			return s.audit(ctx, tx, "payment.callback.late", o, map[string]any{"provider": provider, "txn": n.TxnID, "success": n.Success, "status": o.Status})
		}
		to, action := StatusFailed, "payment.order.failed"
		change := orderChange{closed: tx.Now}
		if n.Success {
			to, action = StatusPaid, "payment.order.paid"
			change = orderChange{paid: tx.Now, method: MethodGateway, provider: provider, txn: n.TxnID}
		}
		cb.Outcome = to
		if err := insertCallback(ctx, tx, cb); err != nil {
			return err
		}
		if err := setStatus(ctx, tx, o.ID, StatusPending, to, change); err != nil {
			return err
		}
		o.Status = to
		if n.Success {
			o.PaidAt, o.Method, o.Provider, o.ProviderTxn = tx.Now, MethodGateway, provider, n.TxnID
			tallyPaid(ctx, tx, o)
		}
		changed, outcome = o, OutcomeConfirmed
		return s.audit(ctx, tx, action, o, map[string]any{"provider": provider, "txn": n.TxnID, "amount": n.Amount, "code": n.Code})
	})
	if kernel.ErrorCode(err) == kernel.Conflict {
		// Another copy of the callback won the race: this one is a replay.
		return OutcomeAlready, nil
	}
	if err != nil {
		return OutcomeError, kernel.Wrap(err, "payment: notify")
	}
	if changed.ID != "" {
		s.tell(ctx, changed)
	}
	return outcome, nil
}
