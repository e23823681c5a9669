package notify_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"civitas/internal/notify"
)

func (e *env) notice(account string) {
	e.t.Helper()
	if err := e.s.Send(e.ctx, notify.Message{Kind: notify.KindNotice, AccountID: account, Template: "notify.test", Args: []string{"N"}}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) state() (state string, attempts int, nextAt int64, body string) {
	e.t.Helper()
	if err := e.d.QueryRow(e.ctx, `SELECT state, attempts, next_at, body FROM notify_outbox`).Scan(&state, &attempts, &nextAt, &body); err != nil {
		e.t.Fatal(err)
	}
	return
}

func TestOutboxDelivers(t *testing.T) {
	e := newEnv(t)
	e.notice("acct-1")
	n, err := e.s.Deliver(e.ctx)
	if err != nil || n != 1 {
		t.Fatalf("delivered %d: %v", n, err)
	}
	got := e.sms.all()
	if len(got) != 1 || got[0].to != "84912345678" {
		t.Fatalf("sent %+v", got)
	}
	state, attempts, _, body := e.state()
	if state != "sent" || attempts != 1 || body != "" {
		t.Fatalf("row %s after %d attempts, body %q: a sent row forgets its text", state, attempts, body)
	}
	// Nothing is sent twice.
	if n, _ := e.s.Deliver(e.ctx); n != 0 || len(e.sms.all()) != 1 {
		t.Fatalf("a second pass sent %d", n)
	}
}

// A failing channel is retried after 30 s, 2 min, 10 min, 1 h and 6 h, then
// given up and recorded in the audit log.
func TestOutboxBacksOffThenGivesUp(t *testing.T) {
	e := newEnv(t)
	e.notice("acct-1")
	e.sms.setFail(errBusy)
	waits := []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}
	for i, wait := range waits {
		if n, err := e.s.Deliver(e.ctx); err != nil || n != 1 {
			t.Fatalf("try %d: %d, %v", i+1, n, err)
		}
		state, attempts, next, _ := e.state()
		if state != "pending" || attempts != i+1 || next != e.clock.Now().Add(wait).UnixMicro() {
			t.Fatalf("after try %d: %s, %d attempts, next at %d", i+1, state, attempts, next)
		}
		// Not due before its time.
		e.clock.Advance(wait - time.Second)
		if n, _ := e.s.Deliver(e.ctx); n != 0 {
			t.Fatalf("tried again %s early", time.Second)
		}
		e.clock.Advance(time.Second)
	}
	if n, _ := e.s.Deliver(e.ctx); n != 1 {
		t.Fatal("the last try did not happen")
	}
	state, attempts, _, body := e.state()
	if state != "failed" || attempts != notify.Attempts || body != "" {
		t.Fatalf("after the last try: %s, %d attempts, body %q", state, attempts, body)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'notify.give_up' AND subject_id = 'acct-1'`); n != 1 {
		t.Fatalf("%d audit records of giving up", n)
	}
	e.clock.Advance(24 * time.Hour)
	if n, _ := e.s.Deliver(e.ctx); n != 0 {
		t.Fatal("a given-up notice was tried again")
	}
}

func TestOutboxGivesUpAtOnceOnAPermanentError(t *testing.T) {
	e := newEnv(t)
	e.notice("acct-1")
	e.sms.setFail(permanentErr{})
	if n, _ := e.s.Deliver(e.ctx); n != 1 {
		t.Fatal("not tried")
	}
	if state, attempts, _, _ := e.state(); state != "failed" || attempts != 1 {
		t.Fatalf("%s after %d attempts", state, attempts)
	}
	if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'notify.give_up'`); n != 1 {
		t.Fatalf("%d audit records", n)
	}
}

// slowSMS is a driver that counts the texts it sends and takes its time,
// so that two instances' passes overlap.
type slowSMS struct{ n atomic.Int32 }

func (s *slowSMS) SendSMS(context.Context, string, string) error {
	s.n.Add(1)
	time.Sleep(5 * time.Millisecond)
	return nil
}

// Two instances on one database send each notice once.
func TestOutboxOncePerNoticeAcrossInstances(t *testing.T) {
	e := newEnv(t)
	drivers := []*slowSMS{{}, {}, {}}
	var instances []*notify.Service
	for _, d := range drivers {
		instances = append(instances, e.service(d))
	}
	for range 20 {
		e.notice("acct-1")
	}
	var wg sync.WaitGroup
	for _, s := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := s.Deliver(e.ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, d := range drivers {
		total += int(d.n.Load())
	}
	if total != 20 || e.count(`SELECT COUNT(*) FROM notify_outbox WHERE state = 'sent'`) != 20 {
		t.Fatalf("%d texts sent for 20 notices", total)
	}
}

// Run sends at once what this instance queued, and stops with its context.
func TestRunIsWokenBySend(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.s.Run(ctx, time.Hour) }()
	e.notice("acct-1")
	deadline := time.Now().Add(10 * time.Second)
	for len(e.sms.all()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the worker never sent the notice")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestCleanup(t *testing.T) {
	e := newEnv(t)
	e.notice("acct-1")
	if _, err := e.s.Deliver(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.s.MarkAllRead(e.as("acct-1")); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(8 * 24 * time.Hour)
	if n, err := e.s.Cleanup(e.ctx); err != nil || n != 1 {
		t.Fatalf("cleanup after a week: %d, %v (the outbox row goes, the inbox stays)", n, err)
	}
	e.clock.Advance(365 * 24 * time.Hour)
	if n, err := e.s.Cleanup(e.ctx); err != nil || n != 1 {
		t.Fatalf("cleanup after a year: %d, %v (the read message goes)", n, err)
	}
}
