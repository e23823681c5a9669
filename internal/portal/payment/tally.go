package payment

import (
	"context"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// The figures payments publish per commune.
const (
	FigurePaid      = "payment.paid"         // orders paid, a day
	FigurePaidVND   = "payment.paid_vnd"     // dong paid, a day
	FigureRefunded  = "payment.refunded"     // orders refunded, a day
	FigureRefundVND = "payment.refunded_vnd" // dong refunded, a day
)

// Indicators are the figures payments publish for the dashboards.
func (s *Service) Indicators() []tally.Indicator {
	return []tally.Indicator{
		{Name: FigurePaid, TitleKey: "payment.indicator.paid", Kind: tally.Flow},
		{Name: FigurePaidVND, TitleKey: "payment.indicator.paid_vnd", Kind: tally.Flow},
		{Name: FigureRefunded, TitleKey: "payment.indicator.refunded", Kind: tally.Flow},
		{Name: FigureRefundVND, TitleKey: "payment.indicator.refunded_vnd", Kind: tally.Flow},
	}
}

func tallyPaid(ctx context.Context, tx *db.Tx, o order) {
	tally.Add(ctx, tx, FigurePaid, o.Unit, 1)
	tally.Add(ctx, tx, FigurePaidVND, o.Unit, o.Amount)
}

func tallyRefund(ctx context.Context, tx *db.Tx, o order) {
	tally.Add(ctx, tx, FigureRefunded, o.Unit, 1)
	tally.Add(ctx, tx, FigureRefundVND, o.Unit, o.Amount)
}

// TallyKey names one figure: an indicator, a unit and a day.
type TallyKey struct{ Name, Unit, Day string }

// RecountTallies counts every figure of Indicators again from the orders,
// so that a rebuild can check the figures added as things happened.
func (s *Service) RecountTallies(ctx context.Context) (map[TallyKey]int64, error) {
	out := map[TallyKey]int64{}
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT unit, amount, paid_at, status, closed_at FROM payment_orders WHERE paid_at > 0`)
		if err != nil {
			return kernel.Wrap(err, "payment: recount")
		}
		defer rows.Close()
		for rows.Next() {
			var unit, status string
			var amount, paid, closed int64
			if err := rows.Scan(&unit, &amount, &paid, &status, &closed); err != nil {
				return kernel.Wrap(err, "payment: recount")
			}
			day := tally.Day(kernel.FromMicros(paid))
			out[TallyKey{FigurePaid, unit, day}]++
			out[TallyKey{FigurePaidVND, unit, day}] += amount
			if status == StatusRefunded {
				rday := tally.Day(kernel.FromMicros(closed))
				out[TallyKey{FigureRefunded, unit, rday}]++
				out[TallyKey{FigureRefundVND, unit, rday}] += amount
			}
		}
		return kernel.Wrap(rows.Err(), "payment: recount")
	})
	return out, err
}
