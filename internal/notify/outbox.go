package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// backoff is the wait after each failed try; after the last try (one more
// than the waits) a notice is given up.
var backoff = [...]time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}

// Attempts is how many times a notice is tried on a channel before it is
// given up.
const Attempts = len(backoff) + 1

const (
	claimFor    = 2 * time.Minute // a claimed row is another instance's again after this
	sendTimeout = 30 * time.Second
	batch       = 32
	parallel    = 4
	keptDone    = 7 * 24 * time.Hour   // finished outbox rows and demo texts, for inquiries
	keptRead    = 365 * 24 * time.Hour // read inbox messages
)

// Wake tells this instance's worker that a notice was queued by Queue in
// a transaction that has now committed. (Send wakes it itself.)
func (s *Service) Wake() { s.wake() }

// Run is the outbox worker: it sends what is due, at once when this
// instance queued something and at least every poll. Instances sharing the
// database share the work: each sends only the rows it claimed. It returns
// when ctx ends; a notice being sent then is sent again later.
func (s *Service) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	ctx = kernel.WithActor(ctx, kernel.System("notify.outbox"))
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.WarnContext(ctx, "notify: outbox pass failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.nudge:
		}
	}
}

// Deliver makes one pass of the worker: it claims the rows due (up to a
// batch), sends them a few at a time, and records each outcome. It returns
// how many it tried.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	now := s.o.Clock.Now()
	var due, claimed []outboxRow
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		due, err = findDue(ctx, tx, now, batch)
		return err
	})
	if err != nil || len(due) == 0 {
		return 0, kernel.Wrap(err, "notify: outbox")
	}
	err = s.o.DB.Update(ctx, now, func(tx *db.Tx) error {
		claimed = claimed[:0]
		for _, r := range due {
			ok, err := claim(ctx, tx, r.id, tx.Now.Add(claimFor))
			if err != nil {
				return err
			}
			if ok {
				claimed = append(claimed, r)
			}
		}
		return nil
	})
	if err != nil {
		return 0, kernel.Wrap(err, "notify: outbox")
	}
	var wg sync.WaitGroup
	limit := make(chan struct{}, parallel)
	for _, r := range claimed {
		wg.Add(1)
		limit <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-limit }()
			s.attempt(ctx, r)
		}()
	}
	wg.Wait()
	return len(claimed), nil
}

// permanent says whether a driver's error will fail again.
func permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// attempt sends one row and records the outcome: sent; or tried again
// later; or given up after the last try or an error that will not pass.
func (s *Service) attempt(ctx context.Context, r outboxRow) {
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	start := time.Now()
	var sendErr error
	switch r.channel {
	case channelSMS:
		sendErr = s.o.SMS.SendSMS(sctx, r.address, r.body)
	case channelEmail:
		if s.o.Mail == nil {
			sendErr = errors.New("notify: e-mail is not configured")
		} else {
			sendErr = s.o.Mail.SendMail(sctx, r.address, r.subject, r.body)
		}
	default:
		sendErr = errors.New("notify: unknown channel " + r.channel)
	}
	cancel()
	took := time.Since(start)
	if ctx.Err() != nil {
		return // shutting down: the claim lapses and the row is tried again
	}
	attempts := r.attempts + 1
	perm := permanent(sendErr)
	state, next := statePending, time.Duration(0)
	switch {
	case sendErr == nil:
		state = stateSent
	case attempts >= Attempts || perm:
		state = stateFailed
	default:
		next = backoff[attempts-1]
	}
	// Identifiers and outcome only: never the address or the text.
	attrs := []slog.Attr{slog.String("notice", r.id), slog.String("channel", r.channel), slog.String("template", r.template),
		slog.Int("attempt", attempts), slog.Duration("took", took), slog.String("outcome", state)}
	if r.channel == channelSMS {
		attrs = append(attrs, slog.String("to", PhoneTail(r.address)))
	}
	level, lastError := slog.LevelInfo, ""
	if sendErr != nil {
		level, lastError = slog.LevelWarn, sendErr.Error()
		attrs = append(attrs, slog.String("error", lastError))
	}
	s.o.Logger.LogAttrs(ctx, level, "notify: notice", attrs...)
	if len(lastError) > 500 {
		lastError = lastError[:500]
	}
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		if err := recordAttempt(ctx, tx, r.id, state, attempts, tx.Now.Add(next), lastError); err != nil {
			return err
		}
		if state != stateFailed {
			return nil
		}
		subject, id := "notice", r.id
		if r.accountID != "" {
			subject, id = "account", r.accountID
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "notify.give_up", SubjectType: subject, SubjectID: id,
			Details: map[string]any{"notice": r.id, "channel": r.channel, "template": r.template, "attempts": attempts, "permanent": perm}})
		return err
	})
	if err != nil && ctx.Err() == nil {
		s.o.Logger.ErrorContext(ctx, "notify: recording an attempt failed", slog.String("notice", r.id), slog.Any("err", err))
	}
}

// Cleanup deletes finished outbox rows and demo texts after a week, and
// read inbox messages after a year. It returns how many rows went.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	var n int64
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var err error
		n, err = deleteOld(ctx, tx, tx.Now.Add(-keptDone), tx.Now.Add(-keptRead))
		return err
	})
	return n, kernel.Wrap(err, "notify: cleanup")
}
