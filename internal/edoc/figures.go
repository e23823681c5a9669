package edoc

import (
	"context"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// Indicators is edoc's figures, for the adoption dashboards' feed.
func (s *Service) Indicators() []tally.Indicator { return Indicators() }

// Recount counts edoc's figures again from its own tables, as the tallies
// were added: a signature on the day the leader approved, with the minutes
// the document waited for it; an envelope sent on the day it went into the
// outbox; one received on the day it arrived.
func (s *Service) Recount(ctx context.Context) ([]tally.Row, error) {
	sum := map[[3]string]int64{}
	var order [][3]string
	add := func(name, unit string, at, n int64) {
		k := [3]string{name, unit, tally.Day(kernel.FromMicros(at))}
		if _, ok := sum[k]; !ok {
			order = append(order, k)
		}
		sum[k] += n
	}
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		if err := eachSignature(ctx, tx, func(unit string, started, ended int64) {
			add(IndicatorSigned, unit, ended, 1)
			add(IndicatorWaitMins, unit, ended, int64(kernel.FromMicros(ended).Sub(kernel.FromMicros(started)).Minutes()))
		}); err != nil {
			return err
		}
		return eachEnvelope(ctx, tx, func(direction, unit string, at int64) {
			if direction == "out" {
				add(IndicatorSent, unit, at, 1)
			} else {
				add(IndicatorReceived, unit, at, 1)
			}
		})
	})
	if err != nil {
		return nil, kernel.Wrap(err, "edoc: recount")
	}
	out := make([]tally.Row, 0, len(order))
	for _, k := range order {
		if sum[k] != 0 {
			out = append(out, tally.Row{Name: k[0], Unit: k[1], Day: k[2], Value: sum[k]})
		}
	}
	return out, nil
}
