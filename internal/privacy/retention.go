package privacy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"civitas/internal/audit"
	"civitas/internal/db"
	"civitas/internal/kernel"
)

// Rule is a retention rule: rows of Table whose Column (a Unix-microsecond
// time) lies more than Keep in the past are deleted, with the rows of
// Children that reference them. Rules are data: the built-in ones
// (DefaultRules) or an operator's file (ParseRules).
type Rule struct {
	Name     string   `json:"name"`
	Table    string   `json:"table"`
	Key      string   `json:"key"`    // the primary key column: deletes go in batches by it
	Column   string   `json:"column"` // the time the period runs from
	Keep     Duration `json:"keep"`
	Children []Child  `json:"children,omitempty"`
	Why      string   `json:"why,omitempty"` // the reason for the period, for the operator
}

// Child is a table whose Column references a rule's Key.
type Child struct {
	Table  string `json:"table"`
	Column string `json:"column"`
}

// Duration is a period as a rule file writes it: a Go duration ("720h"),
// or days ("90d") or years of 365 days ("5y").
type Duration time.Duration

// UnmarshalJSON reads "90d", "5y" or a Go duration.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes whole days as "Nd".
func (d Duration) MarshalJSON() ([]byte, error) {
	if day := 24 * time.Hour; time.Duration(d)%day == 0 {
		return json.Marshal(strconv.FormatInt(int64(time.Duration(d)/day), 10) + "d")
	}
	return json.Marshal(time.Duration(d).String())
}

// ParseDuration reads "90d", "5y" or a Go duration; never negative.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "y"):
		unit = 365 * 24 * time.Hour
	}
	if unit != 0 {
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSuffix(s, "d"), "y"), 10, 32)
		if err != nil || n < 0 || n > 200*365 {
			return 0, fmt.Errorf("privacy: bad period %q", s)
		}
		return time.Duration(n) * unit, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("privacy: bad period %q", s)
	}
	return v, nil
}

// DefaultRules are civitas's retention periods. An operator whose legal
// advice says otherwise runs `civitas retention run --rules FILE` with
// their own (the same JSON, see `civitas retention rules`).
func DefaultRules() []Rule {
	day := 24 * time.Hour
	return []Rule{
		{Name: "sessions", Table: "web_sessions", Key: "id_hash", Column: "expires_at", Keep: 0,
			Why: "an expired sign-in session serves no one"},
		{Name: "expired_shares", Table: "wallet_shares", Key: "id", Column: "expires_at", Keep: Duration(365 * day),
			Children: []Child{{Table: "wallet_share_checks", Column: "share_id"}},
			Why:      "a share and who checked it stay in the holder's history for a year after it ended"},
		{Name: "usage_history", Table: "account_events", Key: "id", Column: "at", Keep: Duration(5 * 365 * day),
			Why: "the account's usage history is kept five years"},
		{Name: "data_use", Table: "wallet_queries", Key: "id", Column: "asked_at", Keep: Duration(5 * 365 * day),
			Why: "reads of a person's documents by other services stay visible to them five years"},
		{Name: "inbox", Table: "notify_inbox", Key: "id", Column: "created_at", Keep: Duration(2 * 365 * day),
			Why: "notices in the web inbox are kept two years"},
	}
}

var identifier = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// protected are tables no retention rule may touch: the audit chain and
// its checkpoints (deleting there breaks the proof), keys and certificates,
// the schema, and the breach records the law keeps.
var protected = []string{"audit_", "pki_", "schema_migrations", "oidc_keys", "oidc_settings", "leases", "privacy_breaches", "tallies"}

// Check refuses a rule that is not well formed or names a protected table.
func (r Rule) Check() error {
	names := []string{r.Table, r.Key, r.Column}
	for _, c := range r.Children {
		names = append(names, c.Table, c.Column)
	}
	if r.Name == "" || !identifier.MatchString(r.Name) {
		return kernel.E(kernel.Invalid, "privacy.error.rule", r.Name, "name")
	}
	for _, n := range names {
		if !identifier.MatchString(n) {
			return kernel.E(kernel.Invalid, "privacy.error.rule", r.Name, fmt.Sprintf("%q is not a table or column name", n))
		}
	}
	for _, t := range append([]string{r.Table}, childTables(r)...) {
		for _, p := range protected {
			if t == p || strings.HasPrefix(t, p) && strings.HasSuffix(p, "_") {
				return kernel.E(kernel.Invalid, "privacy.error.rule", r.Name, "table "+t+" is protected")
			}
		}
	}
	if r.Keep < 0 {
		return kernel.E(kernel.Invalid, "privacy.error.rule", r.Name, "negative period")
	}
	return nil
}

func childTables(r Rule) []string {
	out := make([]string, len(r.Children))
	for i, c := range r.Children {
		out[i] = c.Table
	}
	return out
}

// ParseRules reads a rules file: a JSON array of rules, each checked.
func ParseRules(b []byte) ([]Rule, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rules []Rule
	if err := dec.Decode(&rules); err != nil {
		return nil, kernel.E(kernel.Invalid, "privacy.error.rules", err.Error())
	}
	if dec.More() {
		return nil, kernel.E(kernel.Invalid, "privacy.error.rules", "data after the rules")
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if err := r.Check(); err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, kernel.E(kernel.Invalid, "privacy.error.rule", r.Name, "named twice")
		}
		seen[r.Name] = true
	}
	return rules, nil
}

// RuleResult is what one rule did (or, in a dry run, would do).
type RuleResult struct {
	Rule     Rule
	Before   time.Time // rows older than this
	Rows     int64
	Children int64
	Skipped  string // why the rule did nothing: its table does not exist here
}

// retentionBatch is how many rows one transaction deletes.
const retentionBatch = 1000

// RunRetention applies the rules: in a dry run it counts what each would
// delete; otherwise it deletes in batches and records the run, rule by
// rule, in the audit log (which no rule may touch: its records name people
// by identifier only, so it stays verifiable after their data is gone).
func (s *Service) RunRetention(ctx context.Context, rules []Rule, dryRun bool) ([]RuleResult, error) {
	if err := mayOperate(ctx); err != nil {
		return nil, err
	}
	for _, r := range rules {
		if err := r.Check(); err != nil {
			return nil, err
		}
	}
	now := s.o.Clock.Now()
	var out []RuleResult
	for _, r := range rules {
		res := RuleResult{Rule: r, Before: now.Add(-time.Duration(r.Keep))}
		cutoff := kernel.Micros(res.Before)
		if !s.tableExists(ctx, r.Table) {
			res.Skipped = "no table " + r.Table
			out = append(out, res)
			continue
		}
		if dryRun {
			err := s.o.DB.View(ctx, func(tx *db.Tx) error {
				if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+r.Table+" WHERE "+r.Column+" < ?", cutoff).Scan(&res.Rows); err != nil {
					return err
				}
				for _, c := range r.Children {
					var n int64
					if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM "+c.Table+" WHERE "+c.Column+" IN (SELECT "+r.Key+" FROM "+r.Table+
						" WHERE "+r.Column+" < ?)", cutoff).Scan(&n); err != nil {
						return err
					}
					res.Children += n
				}
				return nil
			})
			if err != nil {
				return out, kernel.Wrap(err, "privacy: retention %s", r.Name)
			}
			out = append(out, res)
			continue
		}
		for {
			n, kids, err := s.deleteBatch(ctx, r, cutoff)
			if err != nil {
				return out, kernel.Wrap(err, "privacy: retention %s", r.Name)
			}
			res.Rows, res.Children = res.Rows+n, res.Children+kids
			if n < retentionBatch {
				break
			}
		}
		out = append(out, res)
	}
	if dryRun {
		return out, nil
	}
	err := s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		details := map[string]any{}
		for _, res := range out {
			details[res.Rule.Name] = map[string]any{"rows": res.Rows, "children": res.Children, "before": res.Before.Format(time.RFC3339),
				"skipped": res.Skipped}
		}
		_, err := audit.Append(ctx, tx, audit.Entry{Action: "privacy.retention.run", SubjectType: "retention", SubjectID: now.UTC().Format(time.RFC3339),
			Details: details})
		return err
	})
	return out, err
}

// deleteBatch deletes up to retentionBatch rows of r older than cutoff,
// their children first, in one transaction.
func (s *Service) deleteBatch(ctx context.Context, r Rule, cutoff int64) (rows, children int64, err error) {
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		rs, err := tx.Query(ctx, "SELECT "+r.Key+" FROM "+r.Table+" WHERE "+r.Column+" < ? LIMIT ?", cutoff, retentionBatch)
		if err != nil {
			return err
		}
		var keys []any
		for rs.Next() {
			var k any
			if err := rs.Scan(&k); err != nil {
				rs.Close()
				return err
			}
			if b, ok := k.([]byte); ok {
				k = string(b)
			}
			keys = append(keys, k)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		if len(keys) == 0 {
			return nil
		}
		in := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ") + ")"
		for _, c := range r.Children {
			res, err := tx.Exec(ctx, "DELETE FROM "+c.Table+" WHERE "+c.Column+" IN "+in, keys...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			children += n
		}
		res, err := tx.Exec(ctx, "DELETE FROM "+r.Table+" WHERE "+r.Key+" IN "+in, keys...)
		if err != nil {
			return err
		}
		rows, _ = res.RowsAffected()
		return nil
	})
	return rows, children, err
}

// tableExists reports whether a table is in this database: a rule for a
// capability not deployed here does nothing.
func (s *Service) tableExists(ctx context.Context, table string) bool {
	rows, err := s.o.DB.Query(ctx, "SELECT 1 FROM "+table+" WHERE 1 = 0")
	if err != nil {
		return false
	}
	rows.Close()
	return true
}
