package payment

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

func TestStartGivesAVietQRForTheOrder(t *testing.T) {
	e := newSite(t)
	c := e.start("acct1", "app-1", 50000)
	if c.Status != StatusPending || c.Amount != 50000 || len(c.Reference) != referenceLen || !strings.HasPrefix(c.Reference, "CV") {
		t.Fatalf("%+v", c)
	}
	q, err := ParseVietQR(c.QRPayload)
	if err != nil {
		t.Fatal(err)
	}
	if q.Amount != 50000 || q.BIN != "970415" || q.Account != "0011001932418" || q.BillNumber != c.Reference ||
		!strings.HasPrefix(q.Purpose, c.Reference) || q.Static {
		t.Fatalf("QR %+v for %+v", q, c)
	}
	if c.PayURL != e.public+"/payments/"+c.OrderID+"/pay" || c.QRImageURL == "" {
		t.Fatalf("links %+v", c)
	}
	// A second click pays the same order; another amount is another order.
	if again := e.start("acct1", "app-1", 50000); again.OrderID != c.OrderID {
		t.Fatalf("second start made %s, not %s", again.OrderID, c.OrderID)
	}
	if other := e.start("acct1", "app-1", 60000); other.OrderID == c.OrderID {
		t.Fatal("another amount gave the same order")
	}
	// The agency's own account when it has one.
	ca, err := e.s.Start(citizen("acct1"), Order{ApplicationID: "app-2", Agency: "T99.CA", Amount: 30000, Description: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := ParseVietQR(ca.QRPayload); q.BIN != "970436" {
		t.Fatalf("agency's account not used: %+v", q)
	}
	for name, o := range map[string]Order{
		"fail/no application":      {Agency: "A", Amount: 1},
		"fail/zero amount":         {ApplicationID: "a", Agency: "A"},
		"fail/no agency":           {ApplicationID: "a", Amount: 1},
		"fail/return to elsewhere": {ApplicationID: "a", Agency: "A", Amount: 1, ReturnURL: "https://evil.example/"},
	} {
		if _, err := e.s.Start(citizen("acct1"), o); kernel.ErrorCode(err) != kernel.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestCallbacksThatChangeNothing: a callback with a bad signature, a
// replay, an amount or a currency other than the order's, another
// merchant's, a repeated parameter and an unknown order change nothing —
// the order, the callbacks kept, the audit log (except the one record
// of a signed amount mismatch) — and are answered as VNPay's IPN expects.
func TestCallbacksThatChangeNothing(t *testing.T) {
	e := newSite(t)
	c := e.start("acct1", "app-1", 50000)
	signed := func(edit func(url.Values)) url.Values {
		q := paid(c, "14831393")
		edit(q)
		q.Set("vnp_SecureHash", SignQuery(testSecret, q))
		return q
	}
	for _, tc := range []struct {
		name     string
		q        url.Values
		want     string
		audited  int
		tamperer func(url.Values)
	}{
		{name: "fail/no signature", q: paid(c, "1"), want: "97"},
		{name: "fail/signed with another secret", q: func() url.Values {
			q := paid(c, "1")
			q.Set("vnp_SecureHash", SignQuery([]byte("ANOTHER-SECRET-0123456789ABCDEFG"), q))
			return q
		}(), want: "97"},
		{name: "fail/amount changed after signing", q: func() url.Values {
			q := signed(func(url.Values) {})
			q.Set("vnp_Amount", "100")
			return q
		}(), want: "97"},
		{name: "fail/a parameter repeated", q: func() url.Values {
			q := signed(func(url.Values) {})
			q.Add("vnp_Amount", "100")
			return q
		}(), want: "97"},
		{name: "fail/another merchant", q: signed(func(q url.Values) { q.Set("vnp_TmnCode", "OTHER123") }), want: "97"},
		{name: "fail/signed amount differs", q: signed(func(q url.Values) { q.Set("vnp_Amount", "4000000") }), want: "04", audited: 1},
		{name: "fail/signed currency differs", q: signed(func(q url.Values) { q.Set("vnp_CurrCode", "USD") }), want: "04", audited: 1},
		{name: "fail/unknown order", q: signed(func(q url.Values) { q.Set("vnp_TxnRef", "CV0000000000") }), want: "01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a0, c0 := e.counts()
			if got := e.ipn(tc.q, false); got != tc.want {
				t.Fatalf("RspCode %s, want %s", got, tc.want)
			}
			a1, c1 := e.counts()
			if a1 != a0+tc.audited || c1 != c0 {
				t.Fatalf("audit %d -> %d, callbacks %d -> %d", a0, a1, c0, c1)
			}
			if st, _ := e.s.Status(e.ctx, c.OrderID); st.Status != StatusPending {
				t.Fatalf("order is %s", st.Status)
			}
		})
	}
	if e.told.count() != 0 {
		t.Fatal("the portal was told of a change that did not happen")
	}

	// The real one: confirmed, paid, audited, the portal told once.
	if got := e.ipn(paid(c, "14831393"), true); got != "00" {
		t.Fatalf("RspCode %s", got)
	}
	st, _ := e.s.Status(e.ctx, c.OrderID)
	if st.Status != StatusPaid || st.Method != MethodGateway || st.QRPayload != "" || st.PayURL != "" {
		t.Fatalf("%+v", st)
	}
	a0, c0 := e.counts()
	// Its replay: "already confirmed", nothing written.
	if got := e.ipn(paid(c, "14831393"), true); got != "02" {
		t.Fatalf("replay answered %s", got)
	}
	if a1, c1 := e.counts(); a1 != a0 || c1 != c0 {
		t.Fatalf("the replay wrote: audit %d -> %d, callbacks %d -> %d", a0, a1, c0, c1)
	}
	if e.told.count() != 1 {
		t.Fatalf("the portal was told %d times", e.told.count())
	}
	// A later failure callback of another transaction cannot unpay it.
	fail := paid(c, "999")
	fail.Set("vnp_ResponseCode", "24")
	fail.Set("vnp_TransactionStatus", "02")
	if got := e.ipn(fail, true); got != "02" {
		t.Fatalf("late failure answered %s", got)
	}
	if st, _ := e.s.Status(e.ctx, c.OrderID); st.Status != StatusPaid {
		t.Fatalf("order is %s", st.Status)
	}
}

func TestFailedPaymentEndsTheOrder(t *testing.T) {
	e := newSite(t)
	c := e.start("acct1", "app-1", 50000)
	q := paid(c, "777")
	q.Set("vnp_ResponseCode", "24")
	q.Set("vnp_TransactionStatus", "02")
	if got := e.ipn(q, true); got != "00" {
		t.Fatalf("RspCode %s", got)
	}
	if st, _ := e.s.Status(e.ctx, c.OrderID); st.Status != StatusFailed {
		t.Fatalf("order is %s", st.Status)
	}
	// A new order for the application, since the failed one is closed.
	if again := e.start("acct1", "app-1", 50000); again.OrderID == c.OrderID {
		t.Fatal("a failed order was given again")
	}
}

// TestCallbackReplayUnderRace: the same callback sent many times at once
// pays the order once: one confirmed, the others "already", one figure.
func TestCallbackReplayUnderRace(t *testing.T) {
	e := newSite(t)
	c := e.start("acct1", "app-1", 50000)
	q := paid(c, "555")
	q.Set("vnp_SecureHash", SignQuery(testSecret, q))
	const n = 12
	codes := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(e.public + "/payments/gateway/vnpay/ipn?" + q.Encode())
			if err != nil {
				codes <- "err"
				return
			}
			defer resp.Body.Close()
			var b strings.Builder
			buf := make([]byte, 256)
			k, _ := resp.Body.Read(buf)
			b.Write(buf[:k])
			codes <- b.String()
		}()
	}
	wg.Wait()
	close(codes)
	confirmed := 0
	for s := range codes {
		switch {
		case strings.Contains(s, `"RspCode":"00"`):
			confirmed++
		case strings.Contains(s, `"RspCode":"02"`):
		default:
			t.Errorf("answer %s", s)
		}
	}
	if confirmed != 1 {
		t.Fatalf("%d callbacks confirmed", confirmed)
	}
	var figure int64
	if err := e.d.View(e.ctx, func(tx *db.Tx) error {
		rows, err := tally.Rows(e.ctx, tx, []string{FigurePaid}, "", "")
		for _, r := range rows {
			figure += r.Value
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if figure != 1 || e.told.count() != 1 {
		t.Fatalf("paid figure %d, portal told %d times", figure, e.told.count())
	}
}

// TestDemoPathOverHTTP: the payer opens the order, follows the gateway
// link to the demo bank, confirms; the bank calls the IPN signed, the
// order is paid, the payer lands on the result page and the portal was
// told. A stranger sees none of it.
func TestDemoPathOverHTTP(t *testing.T) {
	e := newSite(t)
	c := e.start("acct1", "app-1", 50000)
	payer, stranger, anon := e.browser("acct1", true), e.browser("acct2", false), e.browser("", false)
	st, page, _ := payer.get("/payments/" + c.OrderID)
	if st != http.StatusOK || !strings.Contains(page, c.Reference) || !strings.Contains(page, "/payments/"+c.OrderID+"/qr.png") ||
		!strings.Contains(page, "50.000 đ") || !strings.Contains(page, "Năm mươi nghìn đồng") {
		t.Fatalf("order page %d:\n%s", st, page)
	}
	if st, img, h := payer.get("/payments/" + c.OrderID + "/qr.png"); st != http.StatusOK || h.Get("Content-Type") != "image/png" || len(img) < 500 {
		t.Fatalf("qr %d %s", st, h.Get("Content-Type"))
	}
	for _, p := range []string{"/payments/" + c.OrderID, "/payments/" + c.OrderID + "/qr.png", "/payments/" + c.OrderID + "/pay"} {
		if st, _, _ := stranger.get(p); st != http.StatusNotFound {
			t.Errorf("a stranger gets %s: %d", p, st)
		}
		if st, _, h := anon.get(p); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
			t.Errorf("anonymous gets %s: %d", p, st)
		}
	}
	st, _, h := payer.get("/payments/" + c.OrderID + "/pay")
	bankURL := h.Get("Location")
	if st != http.StatusSeeOther || !strings.HasPrefix(bankURL, e.public+"/demo/pay/"+c.Reference+"?") || !strings.Contains(bankURL, "vnp_SecureHash=") {
		t.Fatalf("pay: %d %s", st, bankURL)
	}
	// The bank refuses a request whose amount was changed.
	if st, _, _ := payer.get(strings.Replace(bankURL, "vnp_Amount=5000000", "vnp_Amount=100", 1)); st != http.StatusBadRequest {
		t.Fatalf("tampered request: %d", st)
	}
	st, bank, _ := payer.get(bankURL)
	if st != http.StatusOK || !strings.Contains(bank, "50.000 đ") {
		t.Fatalf("bank page %d:\n%s", st, bank)
	}
	q := strings.SplitN(bankURL, "?", 2)[1]
	st, _, h = payer.post("/demo/pay/"+c.Reference, url.Values{"q": {q}, "action": {"pay"}}, bank)
	back := h.Get("Location")
	if st != http.StatusSeeOther || !strings.HasPrefix(back, e.public+"/payments/gateway/vnpay/return?") {
		t.Fatalf("bank answered %d %s", st, back)
	}
	if got, _ := e.s.Status(e.ctx, c.OrderID); got.Status != StatusPaid {
		t.Fatalf("after the bank: %s", got.Status)
	}
	st, result, _ := payer.get(back)
	if st != http.StatusOK || !strings.Contains(result, `id="payment-ok"`) || !strings.Contains(result, "/portal/applications/app-1") {
		t.Fatalf("result %d:\n%s", st, result)
	}
	// The return changes nothing and, tampered, says so.
	if st, _, _ := payer.get(strings.Replace(back, "vnp_ResponseCode=00", "vnp_ResponseCode=01", 1)); st != http.StatusBadRequest {
		t.Fatalf("tampered return: %d", st)
	}
	if e.told.count() != 1 || e.told.told[0].Status != StatusPaid || e.told.told[0].ApplicationID != "app-1" {
		t.Fatalf("portal told %+v", e.told.told)
	}
	// Paid: no more QR, no more paying.
	if st, _, _ := payer.get("/payments/" + c.OrderID + "/pay"); st != http.StatusConflict {
		t.Fatalf("pay again: %d", st)
	}
}

func TestRefundThroughTheGateway(t *testing.T) {
	e := newSite(t)
	c := e.start("acct1", "app-1", 50000)
	if err := e.s.Refund(e.ctx, c.OrderID, "refused"); kernel.ErrorCode(err) != kernel.Conflict {
		t.Fatalf("refund of a pending order: %v", err)
	}
	if e.ipn(paid(c, "4242"), true) != "00" {
		t.Fatal("not paid")
	}
	if err := e.s.Refund(e.ctx, c.OrderID, "the application was refused"); err != nil {
		t.Fatal(err)
	}
	st, _ := e.s.Status(e.ctx, c.OrderID)
	if st.Status != StatusRefunded {
		t.Fatalf("%s", st.Status)
	}
	a0, _ := e.counts()
	if err := e.s.Refund(e.ctx, c.OrderID, "again"); err != nil {
		t.Fatal(err)
	}
	if a1, _ := e.counts(); a1 != a0 {
		t.Fatal("a second refund wrote")
	}
	if e.told.count() != 2 || e.told.told[1].Status != StatusRefunded {
		t.Fatalf("portal told %+v", e.told.told)
	}
	recount, err := e.s.RecountTallies(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	day := tally.Day(e.clock.Now())
	if recount[TallyKey{FigureRefunded, "T99001", day}] != 1 || recount[TallyKey{FigurePaidVND, "T99001", day}] != 50000 {
		t.Fatalf("recount %v", recount)
	}
	// The recount agrees with the figures added as things happened.
	stored := map[TallyKey]int64{}
	if err := e.d.View(e.ctx, func(tx *db.Tx) error {
		var names []string
		for _, in := range e.s.Indicators() {
			names = append(names, in.Name)
		}
		rows, err := tally.Rows(e.ctx, tx, names, "", "")
		for _, r := range rows {
			stored[TallyKey{r.Name, r.Unit, r.Day}] = r.Value
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for k, v := range recount {
		if stored[k] != v {
			t.Errorf("%v: stored %d, recounted %d", k, stored[k], v)
		}
	}
}

func TestRefundRefusedByTheGatewayStaysPaid(t *testing.T) {
	e := newSite(t)
	o := e.testOpts
	bad, err := NewGateway(GatewayOptions{PayURL: e.public + "/demo/pay/{order}", APIURL: e.public + "/demo/pay/api/refund",
		Merchant: "CIVITAS1", Secret: []byte("ANOTHER-SECRET-0123456789ABCDEFG"), HTTP: HandlerClient(e.ws.Handler)})
	if err != nil {
		t.Fatal(err)
	}
	c := e.start("acct1", "app-1", 50000)
	if e.ipn(paid(c, "4243"), true) != "00" {
		t.Fatal("not paid")
	}
	// A service whose refunds are signed with the wrong secret: the bank
	// answers 97, signed with its own, which this service cannot verify.
	o.Provider = bad
	s2, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Refund(e.ctx, c.OrderID, "x"); kernel.ErrorCode(err) != kernel.Unavailable {
		t.Fatalf("refund: %v", err)
	}
	if st, _ := e.s.Status(e.ctx, c.OrderID); st.Status != StatusPaid {
		t.Fatalf("after a refused refund: %s", st.Status)
	}
}

func TestExpireOrders(t *testing.T) {
	e := newSite(t)
	c := e.start("acct1", "app-1", 50000)
	e.clock.Advance(23 * time.Hour)
	if n, err := e.s.ExpireOrders(e.ctx, 100); err != nil || n != 0 {
		t.Fatalf("%d %v", n, err)
	}
	e.clock.Advance(2 * time.Hour)
	if n, err := e.s.ExpireOrders(e.ctx, 100); err != nil || n != 1 {
		t.Fatalf("%d %v", n, err)
	}
	if st, _ := e.s.Status(e.ctx, c.OrderID); st.Status != StatusExpired || st.QRPayload != "" {
		t.Fatalf("%+v", st)
	}
	// The gateway's payment for it now is late: answered 02, listed by
	// reconciliation, the order untouched.
	if got := e.ipn(paid(c, "8888"), true); got != "02" {
		t.Fatalf("late: %s", got)
	}
	rep, err := e.s.Reconcile(e.ctx, tally.Day(e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Mismatches) != 1 || rep.Mismatches[0].Kind != MismatchLate || rep.Mismatches[0].OrderID != c.OrderID {
		t.Fatalf("%+v", rep.Mismatches)
	}
}

// BenchmarkCallbackOverHTTP is a gateway's callback through the whole
// router: signature, order, idempotency key, status change, audit.
func BenchmarkCallbackOverHTTP(b *testing.B) {
	e := newSite(b)
	client := &http.Client{}
	var orders []Checkout
	for i := range b.N {
		orders = append(orders, e.start("acct1", "app-"+itoa(int64(i)), 50000))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		q := paid(orders[i], itoa(int64(1_000_000+i)))
		q.Set("vnp_SecureHash", SignQuery(testSecret, q))
		resp, err := client.Get(e.public + "/payments/gateway/vnpay/ipn?" + q.Encode())
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 64)
		n, _ := resp.Body.Read(buf)
		resp.Body.Close()
		if !strings.Contains(string(buf[:n]), `"00"`) {
			b.Fatalf("answer %s", buf[:n])
		}
	}
}
