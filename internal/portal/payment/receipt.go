package payment

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/pdf"
)

// Receipt returns a paid order's receipt: an e-invoice-like page in
// Vietnamese and English — the agency that collected, the payer, what for,
// the amount in figures and in words, how and when it was paid, the
// reference — sealed by the agency (PAdES, by the Sealer). It is made on
// the first download and kept sealed at rest, so every later download is
// the same file. The payer reads their own; an official of the collecting
// agency reads it too, which is written to the data-use log; anyone else
// gets NotFound.
func (s *Service) Receipt(ctx context.Context, id string) ([]byte, error) {
	if !s.ReceiptsEnabled() {
		return nil, kernel.E(kernel.Unavailable, "payment.error.no_receipts")
	}
	var o order
	var stored string
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		if o, err = findOrder(ctx, tx, id); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT sealed FROM payment_receipts WHERE order_id = ?`, id).Scan(&stored)
		if err != nil && !isNoRows(err) {
			return kernel.Wrap(err, "payment: receipt")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	official, err := s.mayRead(ctx, o)
	if err != nil {
		return nil, err
	}
	if o.Status != StatusPaid && o.Status != StatusRefunding && o.Status != StatusRefunded {
		return nil, kernel.E(kernel.Conflict, "payment.error.not_paid")
	}
	if official {
		if err := s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
			return s.o.UseLog.Record(ctx, tx, kernel.DataUse{Subject: o.PayerCitizen, Agency: o.Agency, Channel: "payment.receipt",
				Service: "payment_receipt", Fields: []string{"full_name", "citizen_id", "amount"}, Purpose: "fee_collection", CaseRef: o.ApplicationID})
		}); err != nil {
			return nil, err
		}
	}
	if stored != "" {
		return s.openReceipt(o.ID, stored)
	}
	page, err := s.renderReceipt(ctx, o)
	if err != nil {
		return nil, err
	}
	signed, err := s.o.Sealer.SealPDF(ctx, o.Agency, page)
	if err != nil {
		return nil, kernel.Wrap(err, "payment: seal receipt")
	}
	box := base64.StdEncoding.EncodeToString(s.o.Box.Seal(signed, []byte("payment-receipt:"+o.ID)))
	err = s.o.DB.Update(ctx, s.now(), func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `INSERT INTO payment_receipts (order_id, sealed, created_at) VALUES (?, ?, ?) ON CONFLICT (order_id) DO NOTHING`,
			o.ID, box, kernel.Micros(tx.Now))
		if err != nil {
			return kernel.Wrap(err, "payment: receipt")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return s.audit(ctx, tx, "payment.receipt.issue", o, nil)
		}
		// Made at the same moment by another download: that one is kept.
		return tx.QueryRow(ctx, `SELECT sealed FROM payment_receipts WHERE order_id = ?`, o.ID).Scan(&stored)
	})
	if err != nil {
		return nil, err
	}
	if stored != "" {
		return s.openReceipt(o.ID, stored)
	}
	return signed, nil
}

func (s *Service) openReceipt(id, stored string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(stored)
	if err == nil {
		b, err = s.o.Box.Open(b, []byte("payment-receipt:"+id))
	}
	return b, kernel.Wrap(err, "payment: open receipt")
}

// mayRead says whether the actor may read the order and whether they read
// it as an official (someone other than the payer). Whoever may not gets
// NotFound: an order's existence is not told to strangers.
func (s *Service) mayRead(ctx context.Context, o order) (bool, error) {
	a := kernel.ActorFrom(ctx)
	switch a.Kind {
	case kernel.ActorSystem, kernel.ActorOperator:
		return false, nil
	case kernel.ActorCitizen:
		if a.ID != "" && a.ID == o.PayerAccount {
			return false, nil
		}
	case kernel.ActorOfficial:
		posts, err := s.o.Directory.Posts(ctx, a.ID)
		if err != nil {
			return false, err
		}
		if contains(posts, o.Agency) {
			return true, nil
		}
	}
	return false, kernel.E(kernel.NotFound, "payment.error.not_found")
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// The receipt's geometry in points.
const (
	rcptMargin = 56.0
	rcptLabelW = 170.0
)

var (
	rcptInk   = pdf.Color{0.08, 0.1, 0.18}
	rcptTitle = pdf.Color{0.05, 0.17, 0.42}
	rcptLabel = pdf.Color{0.33, 0.36, 0.42}
	rcptRule  = pdf.Color{0.8, 0.82, 0.87}
)

// renderReceipt lays the receipt out on one A4 page.
func (s *Service) renderReceipt(ctx context.Context, o order) ([]byte, error) {
	f := s.o.Font
	w := func(lang, key string, args ...any) string { return s.o.Messages.T(lang, "paymentpdf."+key, args...) }
	agency, err := s.o.Directory.AgencyName(ctx, o.Agency)
	if err != nil {
		agency = o.Agency
	}
	payer := ""
	if o.PayerCitizen != "" {
		if payer, err = s.o.Directory.PersonName(ctx, o.PayerCitizen); err != nil {
			payer = ""
		}
		payer = strings.TrimSpace(payer + " (" + o.PayerCitizen + ")")
	}
	method := w("vi", "method_"+o.Method)
	var texts []pdf.PageText
	var rules []pdf.PageRule
	text := func(s string, x, y, size float64, align pdf.Align, ink pdf.Color) {
		texts = append(texts, pdf.PageText{Text: s, X: x, Y: y, Size: size, Align: align, Color: ink})
	}
	width := pdf.A4Width - 2*rcptMargin
	y := pdf.A4Height - rcptMargin
	for _, l := range wrapText(f, strings.ToUpper(agency), 10, width, 2) {
		y -= 13
		text(l, rcptMargin, y, 10, pdf.AlignLeft, rcptLabel)
	}
	y -= 30
	text(w("vi", "title"), pdf.A4Width/2, y, 18, pdf.AlignCenter, rcptTitle)
	y -= 18
	text(w("en", "title"), pdf.A4Width/2, y, 11, pdf.AlignCenter, rcptLabel)
	y -= 18
	text(w("vi", "number", o.Reference)+" – "+o.PaidAt.In(kernel.Zone()).Format("02/01/2006"), pdf.A4Width/2, y, 10, pdf.AlignCenter, rcptInk)
	y -= 14
	rules = append(rules, pdf.PageRule{X1: rcptMargin, Y1: y, X2: pdf.A4Width - rcptMargin, Y2: y, Width: 0.8, Color: rcptTitle})
	y -= 8
	rows := []struct{ key, value string }{
		{"agency", agency},
		{"payer", payer},
		{"purpose", o.Description},
		{"application", o.ApplicationID},
		{"amount", formatVND(o.Amount)},
		{"in_words", AmountInWords(o.Amount)},
		{"method", method},
		{"transaction", o.ProviderTxn},
		{"paid_at", o.PaidAt.In(kernel.Zone()).Format("15:04 02/01/2006")},
		{"reference", o.Reference},
	}
	valueX := rcptMargin + rcptLabelW
	for _, r := range rows {
		if r.value == "" {
			continue
		}
		top := y
		text(w("vi", r.key), rcptMargin, y-11, 9.5, pdf.AlignLeft, rcptLabel)
		text(w("en", r.key), rcptMargin, y-22, 8, pdf.AlignLeft, rcptLabel)
		vy := y
		for _, l := range wrapText(f, r.value, 11, pdf.A4Width-rcptMargin-valueX, 3) {
			vy -= 14
			text(l, valueX, vy+2, 11, pdf.AlignLeft, rcptInk)
		}
		y = min(top-26, vy-6)
		rules = append(rules, pdf.PageRule{X1: rcptMargin, Y1: y, X2: pdf.A4Width - rcptMargin, Y2: y, Width: 0.4, Color: rcptRule})
		y -= 4
	}
	foot := rcptMargin + 40
	rules = append(rules, pdf.PageRule{X1: rcptMargin, Y1: foot + 14, X2: pdf.A4Width - rcptMargin, Y2: foot + 14, Width: 0.6, Color: rcptTitle})
	fy := foot
	for _, l := range wrapText(f, w("vi", "sealed", agency, s.o.PublicURL+"/verify"), 8.5, width, 2) {
		text(l, rcptMargin, fy, 8.5, pdf.AlignLeft, rcptInk)
		fy -= 11
	}
	for _, l := range wrapText(f, w("en", "sealed", agency, s.o.PublicURL+"/verify"), 8, width, 2) {
		text(l, rcptMargin, fy, 8, pdf.AlignLeft, rcptLabel)
		fy -= 10
	}
	return pdf.WritePage(pdf.Page{Font: f, Texts: texts, Rules: rules, Lang: "vi", Title: w("vi", "title") + " " + o.Reference,
		Created: o.PaidAt})
}

// wrapText breaks s into at most maxLines lines width wide at size, at
// spaces; a word wider than a line stays whole and the last line kept ends
// with "…" when more was cut.
func wrapText(f *pdf.Font, s string, size, width float64, maxLines int) []string {
	var lines []string
	cur := ""
	for _, word := range strings.Fields(s) {
		try := strings.TrimSpace(cur + " " + word)
		if cur != "" && f.TextWidth(try, size) > width {
			lines = append(lines, cur)
			cur = word
			continue
		}
		cur = try
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] += " …"
	}
	return lines
}

// formatVND writes an amount as Vietnam does: 1.250.000 đ.
func formatVND(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	out := b.String() + " đ"
	if neg {
		out = "-" + out
	}
	return out
}

// FormatVND writes an amount as Vietnam does: 1.250.000 đ.
func FormatVND(n int64) string { return formatVND(n) }
