package privacy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
	"civitas/internal/privacy"
)

// Retention deletes what its rules say and nothing else: expired sessions,
// shares a year past their end with the checks of them, usage history past
// five years. A dry run deletes nothing. The audit chain — which no rule
// may touch — still verifies, with the run recorded in it.
func TestRetention(t *testing.T) {
	p := newProvince(t)
	ctx := context.Background()
	op := kernel.WithActor(ctx, kernel.Actor{Kind: kernel.ActorOperator, ID: "cli:retention"})
	now := p.clock.Now()
	ago := func(d time.Duration) int64 { return kernel.Micros(now.Add(-d)) }
	day := 24 * time.Hour
	exec := func(q string, args ...any) {
		t.Helper()
		err := p.d.Update(ctx, now, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err })
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, exp := range []int64{ago(time.Hour), ago(-time.Hour), ago(400 * day)} {
		exec(`INSERT INTO web_sessions (id_hash, account_id, csrf_token, created_at, expires_at) VALUES (?, 'acc-a', 'x', ?, ?)`,
			fmt.Sprint("s", i), ago(500*day), exp)
	}
	for i, end := range []int64{ago(400 * day), ago(30 * day)} {
		id := fmt.Sprint("share", i)
		exec(`INSERT INTO wallet_shares (id, code_hash, document_id, holder_kind, holder_id, claims, purpose, created_by, created_at, expires_at)
			VALUES (?, ?, 'doc', 'person', ?, '[]', 'p', 'acc-a', ?, ?)`, id, "h"+id, p.a.CitizenID, end, end)
		for j := range 3 {
			exec(`INSERT INTO wallet_share_checks (id, share_id, holder_kind, holder_id, checked_at, verifier, verdict) VALUES (?, ?, 'person', ?, ?, 'public', 'valid')`,
				fmt.Sprint(id, "-c", j), id, p.a.CitizenID, end)
		}
	}
	for i, at := range []int64{ago(6 * 365 * day), ago(4 * 365 * day)} {
		exec(`INSERT INTO account_events (id, account_id, at, kind) VALUES (?, 'acc-a', ?, 'login')`, fmt.Sprint("e", i), at)
	}
	count := func(table string) int {
		var n int
		if err := p.d.QueryRow(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	want := map[string][2]int64{"sessions": {2, 0}, "expired_shares": {1, 3}, "usage_history": {1, 0}, "data_use": {0, 0}, "inbox": {0, 0}}
	check := func(res []privacy.RuleResult) {
		t.Helper()
		for _, r := range res {
			if w := want[r.Rule.Name]; r.Rows != w[0] || r.Children != w[1] {
				t.Errorf("%s: %d rows, %d children; want %v", r.Rule.Name, r.Rows, r.Children, w)
			}
		}
	}
	if _, err := p.s.RunRetention(as("acc-a"), privacy.DefaultRules(), true); kernel.ErrorCode(err) != kernel.Forbidden {
		t.Fatalf("a citizen runs retention: %v", err)
	}
	dry, err := p.s.RunRetention(op, privacy.DefaultRules(), true)
	if err != nil {
		t.Fatal(err)
	}
	check(dry)
	if count("web_sessions") != 3 || count("wallet_share_checks") != 6 {
		t.Fatal("the dry run deleted")
	}
	head, _ := audit.ReadHead(ctx, p.d)
	res, err := p.s.RunRetention(op, privacy.DefaultRules(), false)
	if err != nil {
		t.Fatal(err)
	}
	check(res)
	if count("web_sessions") != 1 || count("wallet_shares") != 1 || count("wallet_share_checks") != 3 || count("account_events") != 1 {
		t.Fatalf("left: sessions %d, shares %d, checks %d, events %d", count("web_sessions"), count("wallet_shares"), count("wallet_share_checks"), count("account_events"))
	}
	rep, err := audit.Verify(ctx, p.d)
	if err != nil || !rep.OK() || rep.Head.Seq != head.Seq+1 {
		t.Fatalf("audit after retention: %+v %v", rep, err)
	}
	again, err := p.s.RunRetention(op, privacy.DefaultRules(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range again {
		if r.Rows != 0 {
			t.Errorf("second run deleted %d from %s", r.Rows, r.Rule.Name)
		}
	}
	// A rule for a table this database lacks does nothing.
	absent := []privacy.Rule{{Name: "exchange_use", Table: "exchange_data_use", Key: "id", Column: "at", Keep: privacy.Duration(day)}}
	if res, err := p.s.RunRetention(op, absent, false); err != nil || res[0].Skipped == "" {
		t.Fatalf("absent table: %+v %v", res, err)
	}
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name, rules string
		ok          bool
	}{
		{"ok/defaults as a file", "", true},
		{"ok/days and years", `[{"name":"a","table":"web_sessions","key":"id_hash","column":"expires_at","keep":"30d"},
			{"name":"b","table":"account_events","key":"id","column":"at","keep":"2y"}]`, true},
		{"fail/the audit log", `[{"name":"a","table":"audit_log","key":"seq","column":"at","keep":"1d"}]`, false},
		{"fail/the audit head as a child", `[{"name":"a","table":"web_sessions","key":"id_hash","column":"expires_at","keep":"1d","children":[{"table":"audit_head","column":"id"}]}]`, false},
		{"fail/keys", `[{"name":"a","table":"pki_keys","key":"label","column":"created_at","keep":"1d"}]`, false},
		{"fail/sql in a name", `[{"name":"a","table":"web_sessions; DROP TABLE persons","key":"id","column":"at","keep":"1d"}]`, false},
		{"fail/negative", `[{"name":"a","table":"web_sessions","key":"id_hash","column":"expires_at","keep":"-1h"}]`, false},
		{"fail/unknown field", `[{"name":"a","table":"web_sessions","key":"id_hash","column":"expires_at","keep":"1d","where":"1=1"}]`, false},
		{"fail/twice", `[{"name":"a","table":"web_sessions","key":"id_hash","column":"expires_at","keep":"1d"},{"name":"a","table":"web_sessions","key":"id_hash","column":"expires_at","keep":"2d"}]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.rules
			if src == "" {
				b, err := jsonRules(privacy.DefaultRules())
				if err != nil {
					t.Fatal(err)
				}
				src = b
			}
			_, err := privacy.ParseRules([]byte(src))
			if (err == nil) != tc.ok {
				t.Fatalf("ParseRules: %v", err)
			}
			if key, _ := kernel.ErrorKey(err); err != nil && !strings.HasPrefix(key, "privacy.error.rule") {
				t.Fatalf("error key %s", key)
			}
		})
	}
}

func FuzzParseRules(f *testing.F) {
	b, _ := jsonRules(privacy.DefaultRules())
	f.Add([]byte(b))
	f.Add([]byte(`[{"name":"a","table":"audit_log","key":"seq","column":"at","keep":"1d"}]`))
	f.Add([]byte(`[{"keep":"99999999999y"}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		rules, err := privacy.ParseRules(in)
		if err != nil {
			return
		}
		for _, r := range rules {
			if r.Check() != nil || strings.HasPrefix(r.Table, "audit_") || r.Keep < 0 {
				t.Fatalf("accepted %+v", r)
			}
			for _, c := range r.Children {
				if strings.HasPrefix(c.Table, "audit_") {
					t.Fatalf("accepted a child %+v", c)
				}
			}
		}
	})
}

func jsonRules(rs []privacy.Rule) (string, error) {
	b, err := json.Marshal(rs)
	return string(b), err
}
