package exchange_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"civitas/internal/db"
	"civitas/internal/exchange"
	"civitas/internal/kernel"
	"civitas/internal/registry"
	"civitas/internal/tally"
)

// queries makes n answered queries about persons and returns them.
func (e *env) queries(n int) []registry.Person {
	e.t.Helper()
	ps := e.persons(func(registry.Person) bool { return true })[:n]
	tok := e.client("log-sys", e.agency(registry.ServiceCentre, true).Code)
	e.grant("log-sys", "population.person", "full_name", "birth_date")
	for i, p := range ps {
		if a := e.query(tok, body("population.person", p.CitizenID, "administrative_procedure", fmt.Sprint("HS-", i))); a.status != 200 {
			e.t.Fatalf("%d %s", a.status, a.body)
		}
	}
	return ps
}

// TestLogTamperingIsFound: every edit of the log — a changed row, a
// removed one, a rewritten chain under a time-stamped checkpoint — is
// found by VerifyLog.
func TestLogTamperingIsFound(t *testing.T) {
	e := newEnv(t)
	if err := e.ca.StartOnline(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.queries(6)
	tsa, err := e.ca.CA("tsa")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.x.Checkpoint(e.ctx, e.ca.Stamper()); err != nil || !ok {
		t.Fatalf("checkpoint: %v %v", ok, err)
	}
	if ok, err := e.x.Checkpoint(e.ctx, e.ca.Stamper()); err != nil || ok {
		t.Fatalf("a second checkpoint of the same head: %v %v", ok, err)
	}
	rep, err := exchange.VerifyLog(e.ctx, e.d, tsa.Cert)
	if err != nil || !rep.OK() || rep.Entries != 6 || rep.Checkpoints != 1 {
		t.Fatalf("intact: %+v %v", rep, err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error { _, err := tx.Exec(e.ctx, q, args...); return err }); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		tamper  func()
		restore func()
		bad     int64
	}{
		{"fail/a changed purpose", func() { exec("UPDATE exchange_log SET purpose = 'tax' WHERE seq = 3") },
			func() { exec("UPDATE exchange_log SET purpose = 'administrative_procedure' WHERE seq = 3") }, 3},
		{"fail/a removed read", func() { exec("UPDATE exchange_log SET seq = seq + 100 WHERE seq = 2") },
			func() { exec("UPDATE exchange_log SET seq = 2 WHERE seq = 102") }, 2},
		{"fail/a dropped tail", func() { exec("UPDATE exchange_log SET seq = seq + 100 WHERE seq = 6") },
			func() { exec("UPDATE exchange_log SET seq = 6 WHERE seq = 106") }, 6},
		{"fail/a receipt's header changed where it is kept", func() { exec("UPDATE exchange_receipt_headers SET header = header || 'AA'") },
			func() { exec("UPDATE exchange_receipt_headers SET header = substr(header, 1, length(header) - 2)") }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.tamper()
			defer tc.restore()
			rep, err := exchange.VerifyLog(e.ctx, e.d, tsa.Cert)
			if err != nil || rep.OK() || rep.FirstBad != tc.bad {
				t.Fatalf("%+v %v", rep, err)
			}
		})
	}
	// An attacker who rewrites an entry and every hash after it, and the
	// head, is still found: the time-stamped checkpoint names the old head.
	es := e.uses(e.persons(func(registry.Person) bool { return true })[0].CitizenID)
	if len(es) != 1 {
		t.Fatalf("%+v", es)
	}
	rewriteFrom(t, e, 1, "UPDATE exchange_log SET case_ref = 'forged' WHERE seq = 1")
	rep, err = exchange.VerifyLog(e.ctx, e.d, tsa.Cert)
	if err != nil || rep.OK() || !strings.Contains(rep.Problem, "checkpoint") {
		t.Fatalf("a rewritten chain: %+v %v", rep, err)
	}
}

// rewriteFrom edits the log with q and recomputes every hash from seq on,
// and the head, as someone with write access to the database could.
func rewriteFrom(t *testing.T, e *env, seq int64, q string) {
	t.Helper()
	err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
		if _, err := tx.Exec(e.ctx, q); err != nil {
			return err
		}
		return exchange.RechainForTest(e.ctx, tx, seq)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRecordFromOtherCapabilities: a read another capability records is
// in the person's log once, with the reader's agency named.
func TestRecordFromOtherCapabilities(t *testing.T) {
	e := newEnv(t)
	p := e.persons(func(registry.Person) bool { return true })[0]
	bhxh := e.agency(registry.SocialInsurance, true)
	reader := kernel.Actor{Kind: kernel.ActorClient, ID: "bhxh-wallet", OnBehalfOf: "agency:" + bhxh.Code}
	err := e.d.Batch(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
		return e.x.Record(e.ctx, tx, kernel.DataUse{Subject: p.CitizenID, Reader: reader, Agency: bhxh.Code, Channel: "wallet.query",
			Service: "health_insurance_card", Fields: []string{"holds", "valid_to"}, Purpose: "kiểm tra thẻ"})
	})
	if err != nil {
		t.Fatal(err)
	}
	uses := e.uses(p.CitizenID)
	if len(uses) != 1 || uses[0].ReaderName != bhxh.Name || uses[0].Channel != "wallet.query" || uses[0].Consumer != "bhxh-wallet" {
		t.Fatalf("%+v", uses)
	}
	// A failing transaction records nothing.
	_ = e.d.Batch(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
		if err := e.x.Record(e.ctx, tx, kernel.DataUse{Subject: p.CitizenID, Reader: reader, Channel: "x", Service: "y"}); err != nil {
			return err
		}
		return kernel.E(kernel.Conflict, "error.conflict")
	})
	if uses := e.uses(p.CitizenID); len(uses) != 1 {
		t.Fatalf("a rolled-back read is logged: %+v", uses)
	}
	for name, u := range map[string]kernel.DataUse{
		"fail/no subject":  {Channel: "x", Service: "y"},
		"fail/no channel":  {Subject: p.CitizenID, Service: "y"},
		"fail/bad subject": {Subject: "12", Channel: "x", Service: "y"},
	} {
		t.Run(name, func(t *testing.T) {
			err := e.d.Batch(e.ctx, e.clock.Now(), func(tx *db.Tx) error { return e.x.Record(e.ctx, tx, u) })
			if kernel.ErrorCode(err) != kernel.Invalid {
				t.Fatalf("%v", err)
			}
		})
	}
	if rep, err := exchange.VerifyLog(e.ctx, e.d, nil); err != nil || !rep.OK() || rep.Entries != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestDataUsePage: the person sees each read of their data once, with who,
// when, which fields, why and the receipt; their guardian sees a child's;
// nobody else sees anything.
func TestDataUsePage(t *testing.T) {
	e := newEnv(t)
	ps := e.queries(3)
	me, child, stranger := ps[0], ps[1], ps[2]
	e.accounts.citizens["acct-me"] = me.CitizenID
	e.accounts.citizens["acct-stranger"] = stranger.CitizenID
	e.accounts.children["acct-me"] = []exchange.Dependent{{CitizenID: child.CitizenID, Name: child.FullName}}
	tok := e.client("log-sys", e.agency(registry.ServiceCentre, true).Code)
	for i := range 2 {
		if a := e.query(tok, body("population.person", me.CitizenID, "tax", fmt.Sprint("THUE-", i))); a.status != 200 {
			t.Fatal(a.body)
		}
	}
	mine := e.browser("acct-me", false)
	st, page := mine.get("/account/data-use")
	if st != 200 {
		t.Fatalf("%d %.500s", st, page)
	}
	for _, want := range []string{"HS-0", "THUE-0", "THUE-1", "full_name, birth_date", e.agency(registry.ServiceCentre, true).Name, "<time datetime=", "eyJ"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="use"`); n != 3 {
		t.Errorf("%d reads shown, want 3", n)
	}
	if strings.Contains(page, "HS-1") {
		t.Error("the child's read is on the guardian's own list")
	}
	// Filters.
	if _, page := mine.get("/account/data-use?purpose=tax"); strings.Count(page, `class="use"`) != 2 {
		t.Errorf("filtered by purpose: %d", strings.Count(page, `class="use"`))
	}
	if _, page := mine.get("/account/data-use?service=insurance.card"); !strings.Contains(page, `id="no-uses"`) {
		t.Error("a filter matching nothing")
	}
	if st, _ := mine.get("/account/data-use?from=yesterday"); st != 400 {
		t.Errorf("a bad date: %d", st)
	}
	// The guardian sees the child's.
	if st, page := mine.get("/account/data-use?" + url.Values{"who": {child.CitizenID}}.Encode()); st != 200 || !strings.Contains(page, "HS-1") || strings.Contains(page, "THUE-0") {
		t.Fatalf("the child's page: %d", st)
	}
	// CSV.
	st, csv := mine.get("/account/data-use.csv")
	if st != 200 || strings.Count(csv, "\n") != 4 || !strings.HasPrefix(csv, "time,reader") || !strings.Contains(csv, "THUE-1") {
		t.Fatalf("csv: %d %s", st, csv)
	}
	// Nobody else.
	other := e.browser("acct-stranger", false)
	if st, _ := other.get("/account/data-use?" + url.Values{"who": {me.CitizenID}}.Encode()); st != 403 {
		t.Errorf("a stranger: %d", st)
	}
	if st, _ := other.get("/account/data-use.csv?" + url.Values{"who": {me.CitizenID}}.Encode()); st != 403 {
		t.Errorf("a stranger's CSV: %d", st)
	}
	if st, loc := e.browser("", false).get("/account/data-use"); st != 303 || !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("anonymous: %d %s", st, loc)
	}
	// The stranger's own page shows their one read only.
	if _, page := other.get("/account/data-use"); strings.Count(page, `class="use"`) != 1 || !strings.Contains(page, "HS-2") {
		t.Error("the stranger's own page")
	}
}

// TestDataUsePaging: pages of 50, newest first, each read on exactly one page.
func TestDataUsePaging(t *testing.T) {
	e := newEnv(t)
	p := e.persons(func(registry.Person) bool { return true })[0]
	e.accounts.citizens["acct"] = p.CitizenID
	reader := kernel.Actor{Kind: kernel.ActorClient, ID: "bulk"}
	err := e.d.Update(e.ctx, e.clock.Now(), func(tx *db.Tx) error {
		for i := range 120 {
			if err := e.x.Record(e.ctx, tx, kernel.DataUse{Subject: p.CitizenID, Reader: reader, Channel: "exchange", Service: "population.person",
				Fields: []string{"full_name"}, Purpose: "tax", CaseRef: fmt.Sprintf("C-%03d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser("acct", false)
	seen := map[string]int{}
	next := "/account/data-use"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		st, page := b.get(next)
		if st != 200 {
			t.Fatalf("%d", st)
		}
		for i := range 120 {
			if strings.Contains(page, fmt.Sprintf(">C-%03d<", i)) {
				seen[fmt.Sprintf("C-%03d", i)]++
			}
		}
		next = ""
		if i := strings.Index(page, `<a href="/account/data-use?`); i >= 0 && strings.Contains(page, `id="next-page"`) {
			j := strings.Index(page, `id="next-page"`)
			k := strings.LastIndex(page[:j], `href="`)
			next = strings.ReplaceAll(page[k+6:strings.Index(page[k+6:], `"`)+k+6], "&amp;", "&")
		}
	}
	if len(seen) != 120 {
		t.Fatalf("%d reads seen", len(seen))
	}
	for c, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", c, n)
		}
	}
}

// TestTalliesRecount: the queries counted as they were answered are the
// queries counted again from the log.
func TestTalliesRecount(t *testing.T) {
	e := newEnv(t)
	e.queries(5)
	err := e.d.Batch(e.ctx, e.clock.Now(), func(tx *db.Tx) error { // a read recorded by another capability is no query
		return e.x.Record(e.ctx, tx, kernel.DataUse{Subject: e.persons(func(registry.Person) bool { return true })[0].CitizenID,
			Reader: kernel.Actor{Kind: kernel.ActorClient, ID: "x"}, Channel: "wallet.query", Service: "t"})
	})
	if err != nil {
		t.Fatal(err)
	}
	var stored []tally.Row
	if err := e.d.View(e.ctx, func(tx *db.Tx) error {
		var err error
		stored, err = tally.Rows(e.ctx, tx, []string{"exchange.queries"}, "", "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	again, err := e.x.RecountTallies(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range again {
		sum += r.Value
	}
	if sum != 5 || !slices.Equal(stored, again) {
		t.Fatalf("stored %+v, recounted %+v", stored, again)
	}
}
