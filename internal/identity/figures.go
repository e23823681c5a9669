package identity

import (
	"context"
	"strings"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// The figures the e-ID publishes per commune (the account's unit) for the
// adoption dashboards: accounts of each level in any status (issued) and
// those active (activated). All are stocks.
const (
	IndicatorLevel1Issued    = "eid.level1_issued"
	IndicatorLevel1Activated = "eid.level1_activated"
	IndicatorLevel2Issued    = "eid.level2_issued"
	IndicatorLevel2Activated = "eid.level2_activated"
)

// Indicators describes the figures the e-ID adds to as accounts change.
func (s *Service) Indicators() []tally.Indicator {
	return []tally.Indicator{
		{Name: IndicatorLevel1Issued, TitleKey: "identity.indicator.level1_issued", Kind: tally.Stock},
		{Name: IndicatorLevel1Activated, TitleKey: "identity.indicator.level1_activated", Kind: tally.Stock},
		{Name: IndicatorLevel2Issued, TitleKey: "identity.indicator.level2_issued", Kind: tally.Stock},
		{Name: IndicatorLevel2Activated, TitleKey: "identity.indicator.level2_activated", Kind: tally.Stock},
	}
}

// accountFigures is what one account adds to the figures in a state.
func accountFigures(level int, status string) (issued, activated string) {
	issued, activated = IndicatorLevel1Issued, IndicatorLevel1Activated
	if level == 2 {
		issued, activated = IndicatorLevel2Issued, IndicatorLevel2Activated
	}
	if status != StatusActive {
		activated = ""
	}
	return issued, activated
}

// tallyAccount moves the figures of an account going from one state to
// another (level 0 for none) in tx.
func tallyAccount(ctx context.Context, tx *db.Tx, unit string, fromLevel int, fromStatus string, toLevel int, toStatus string) {
	if fromLevel != 0 {
		i, a := accountFigures(fromLevel, fromStatus)
		tally.Add(ctx, tx, i, unit, -1)
		if a != "" {
			tally.Add(ctx, tx, a, unit, -1)
		}
	}
	if toLevel != 0 {
		i, a := accountFigures(toLevel, toStatus)
		tally.Add(ctx, tx, i, unit, 1)
		if a != "" {
			tally.Add(ctx, tx, a, unit, 1)
		}
	}
}

// accountState reads what tallyAccount needs of an account before a change.
func accountState(ctx context.Context, tx *db.Tx, accountID string) (unit string, level int, status string, err error) {
	err = tx.QueryRow(ctx, `SELECT unit_code, level, status FROM accounts WHERE id = ?`, accountID).Scan(&unit, &level, &status)
	return unit, level, status, err
}

// Recount counts the figures of Indicators again from the accounts as they
// are now: each account on the day it was created (and activated). A
// stock's history is not kept in the accounts, so a rebuild compares the
// totals to date.
func (s *Service) Recount(ctx context.Context) ([]tally.Row, error) {
	sum := map[[3]string]int64{}
	var order [][3]string
	add := func(name, unit string, at int64) {
		k := [3]string{name, unit, tally.Day(kernel.FromMicros(at))}
		if _, ok := sum[k]; !ok {
			order = append(order, k)
		}
		sum[k]++
	}
	err := s.db.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT unit_code, level, status, created_at, activated_at FROM accounts`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var unit, status string
			var level int
			var created, activated int64
			if err := rows.Scan(&unit, &level, &status, &created, &activated); err != nil {
				return err
			}
			i, a := accountFigures(level, status)
			add(i, unit, created)
			if a != "" {
				add(a, unit, max(activated, created))
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, kernel.Wrap(err, "identity: recount")
	}
	out := make([]tally.Row, 0, len(order))
	for _, k := range order {
		out = append(out, tally.Row{Name: k[0], Unit: k[1], Day: k[2], Value: sum[k]})
	}
	return out, nil
}

// AccountState is where a citizen's account stands, for the worklists.
type AccountState struct {
	AccountID string
	Level     int
	Status    string
}

// States gives the accounts of the citizens named, by citizen ID; a
// citizen without an account is absent.
func (s *Service) States(ctx context.Context, citizenIDs []string) (map[string]AccountState, error) {
	out := make(map[string]AccountState, len(citizenIDs))
	for len(citizenIDs) > 0 {
		n := min(len(citizenIDs), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = citizenIDs[i]
		}
		rows, err := s.db.Query(ctx, `SELECT citizen_id, id, level, status FROM accounts WHERE citizen_id IN (?`+strings.Repeat(",?", n-1)+`)`, args...)
		if err != nil {
			return nil, kernel.Wrap(err, "identity: states")
		}
		for rows.Next() {
			var c string
			var a AccountState
			if err := rows.Scan(&c, &a.AccountID, &a.Level, &a.Status); err != nil {
				rows.Close()
				return nil, kernel.Wrap(err, "identity: states")
			}
			out[c] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, kernel.Wrap(err, "identity: states")
		}
		citizenIDs = citizenIDs[n:]
	}
	return out, nil
}
