package signing

import (
	"context"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/tally"
)

// The figures signing publishes per commune (the holder's unit) for the
// adoption dashboards.
const (
	IndicatorCredentials = "signing.credentials" // credentials certified, any status (stock)
	IndicatorHolders     = "signing.holders"     // holders of at least one credential (stock)
	IndicatorActivated   = "signing.activated"   // holders of at least one active credential (stock)
	IndicatorSignatures  = "signing.signatures"  // signatures made (flow)
)

// Indicators describes the figures signing adds to as it works.
func (s *Service) Indicators() []tally.Indicator {
	return []tally.Indicator{
		{Name: IndicatorCredentials, TitleKey: "signing.indicator.credentials", Kind: tally.Stock},
		{Name: IndicatorHolders, TitleKey: "signing.indicator.holders", Kind: tally.Stock},
		{Name: IndicatorActivated, TitleKey: "signing.indicator.activated", Kind: tally.Stock},
		{Name: IndicatorSignatures, TitleKey: "signing.indicator.signatures", Kind: tally.Flow},
	}
}

// tallyEnrol counts a credential about to be recorded for accountID.
func tallyEnrol(ctx context.Context, tx *db.Tx, accountID, unit string) error {
	n, err := countCredentialsOf(ctx, tx, accountID)
	if err != nil {
		return err
	}
	tally.Add(ctx, tx, IndicatorCredentials, unit, 1)
	if n == 0 {
		tally.Add(ctx, tx, IndicatorHolders, unit, 1)
	}
	return nil
}

// tallyActivate counts a credential just activated: its holder is counted
// once, with their first active credential.
func tallyActivate(ctx context.Context, tx *db.Tx, accountID, credentialID string) error {
	unit, others, err := findActivation(ctx, tx, accountID, credentialID)
	if err != nil {
		return err
	}
	if others == 0 {
		tally.Add(ctx, tx, IndicatorActivated, unit, 1)
	}
	return nil
}

// Recount counts the figures of Indicators again from signing's tables:
// credentials and holders on the day of their first credential, activated
// holders on the day of their first activation, signatures on the day they
// were made.
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
		holders, active := map[string]bool{}, map[string]int64{}
		activeUnit := map[string]string{}
		if err := eachCredentialHistory(ctx, tx, func(account, unit, status string, created, activated int64) {
			add(IndicatorCredentials, unit, created, 1)
			if !holders[account] {
				holders[account] = true
				add(IndicatorHolders, unit, created, 1)
			}
			if status == CredentialActive && (active[account] == 0 || activated < active[account]) {
				active[account], activeUnit[account] = activated, unit
			}
		}); err != nil {
			return err
		}
		for account, at := range active {
			add(IndicatorActivated, activeUnit[account], at, 1)
		}
		return eachSignature(ctx, tx, func(unit string, at int64) { add(IndicatorSignatures, unit, at, 1) })
	})
	if err != nil {
		return nil, kernel.Wrap(err, "signing: recount")
	}
	out := make([]tally.Row, 0, len(order))
	for _, k := range order {
		out = append(out, tally.Row{Name: k[0], Unit: k[1], Day: k[2], Value: sum[k]})
	}
	return out, nil
}

// ActiveHolders counts per commune the holders who signed at least once
// in [from, to): the dashboards' "used in the last 30 days".
func (s *Service) ActiveHolders(ctx context.Context, from, to time.Time) (map[string]int64, error) {
	out, err := countSignersPerUnit(ctx, s.o.DB, kernel.Micros(from), kernel.Micros(to))
	if err != nil {
		return nil, kernel.Wrap(err, "signing: active holders")
	}
	return out, nil
}

// HolderStates gives, per account named that holds a credential, the best
// state of its credentials: "active" if one is active, else "issued".
func (s *Service) HolderStates(ctx context.Context, accountIDs []string) (map[string]string, error) {
	out := map[string]string{}
	for len(accountIDs) > 0 {
		n := min(len(accountIDs), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = accountIDs[i]
		}
		if err := eachCredentialStatus(ctx, s.o.DB, args, func(a, st string) {
			if out[a] != CredentialActive {
				out[a] = st
			}
		}); err != nil {
			return nil, kernel.Wrap(err, "signing: holder states")
		}
		accountIDs = accountIDs[n:]
	}
	return out, nil
}
