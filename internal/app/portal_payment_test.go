package app

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"civitas/internal/kernel"
	"civitas/internal/portal"
	"civitas/internal/portal/payment"
)

// TestPortalFeePaidByTransfer: an applicant starts paying a fee by VietQR,
// the agency's bank statement shows the transfer, and the application is
// paid at once — the payments capability tells the portal (no poll by the
// applicant) — for exactly the fee.
func TestPortalFeePaidByTransfer(t *testing.T) {
	s := newPortalSite(t)
	if s.a.payments == nil {
		t.Fatal("--demo has no payments")
	}
	me := s.signIn(0, "openid portal")
	code, m := s.api(me, "POST", "/api/portal/v1/applications", map[string]any{"procedure": "birth_certificate_copy"})
	if code != http.StatusCreated {
		t.Fatalf("start: %d %v", code, m)
	}
	id := m["id"].(string)
	ctx := context.Background()
	acc, err := s.a.identity.AccountByCitizen(ctx, me.id)
	if err != nil {
		t.Fatal(err)
	}
	actx := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorCitizen, ID: acc.ID})
	pay, err := s.a.portal.Pay(actx, id)
	if err != nil {
		t.Fatal(err)
	}
	qr, err := payment.ParseVietQR(pay.QRPayload)
	if err != nil || pay.Amount != 8000 || pay.Status != portal.PaymentPending {
		t.Fatalf("payment %+v, QR %+v, %v", pay, qr, err)
	}
	order, err := s.a.payments.Status(ctx, pay.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := s.a.portal.Application(actx, id); err != nil || a.PaymentState == portal.PayPaid {
		t.Fatalf("paid before any money came: %+v %v", a, err)
	}

	day := time.Now().In(kernel.Zone())
	statement := fmt.Sprintf("Ngày giao dịch,Số tham chiếu,Số tiền ghi có,Số tiền ghi nợ,Nội dung\n%s,FT0001,\"8.000\",,\"CHUYEN TIEN %s LEPHI\"\n",
		day.Format("02/01/2006"), order.Reference)
	if _, reps, err := s.a.payments.ReconcileStatement(kernel.WithActor(ctx, kernel.System("test")), "statement.csv", []byte(statement),
		order.Agency, day.Format(time.DateOnly)); err != nil || len(reps) != 1 || reps[0].Settled != 1 {
		t.Fatalf("reconcile: %+v %v", reps, err)
	}
	a, err := s.a.portal.Application(actx, id)
	if err != nil || a.PaymentState != portal.PayPaid {
		t.Fatalf("after the statement: %+v %v", a, err)
	}
}
