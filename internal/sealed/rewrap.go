package sealed

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"civitas/internal/db"
)

// Column is a column of sealed values, base64-encoded as every capability
// stores them: its table, the primary key columns that find a row, and
// the associated data each value was sealed with, made from that row's key
// (the capability's own rule, such as "oidc-key:" + kid).
type Column struct {
	Table string
	Key   []string
	Value string
	AAD   func(key []string) []byte
}

func (c Column) String() string { return c.Table + "." + c.Value }

// RewrapReport counts what Rewrap did.
type RewrapReport struct {
	Values    int64 // sealed values found (empty ones are not values)
	Rewrapped int64 // of them sealed again under the new key
}

// Rewrap seals every value of cols again under to, reading it with from
// (whose older keys open too), in transactions of batch rows: resumable,
// since a value that already opens under to is left as it is, and safe
// beside running servers, since a row is only written if its value is
// still the one read. A value that opens under neither key stops it,
// naming the row's table and column (never the value).
func Rewrap(ctx context.Context, d *db.DB, now func() time.Time, from, to *Box, cols []Column, batch int) (RewrapReport, error) {
	var rep RewrapReport
	if batch <= 0 {
		batch = 500
	}
	for _, c := range cols {
		err := scan(ctx, d, c, batch, func(tx *db.Tx, key []any, value string) error {
			rep.Values++
			raw, err := base64.StdEncoding.DecodeString(value)
			if err != nil {
				return fmt.Errorf("sealed: %s: a value is not base64", c)
			}
			aad := c.AAD(keyStrings(key))
			if to.OpensUnderKey(raw, aad) {
				return nil
			}
			plain, err := from.Open(raw, aad)
			if err != nil {
				return fmt.Errorf("sealed: %s: a value opens under neither key", c)
			}
			fresh := base64.StdEncoding.EncodeToString(to.Seal(plain, aad))
			clear(plain)
			where, args := keyWhere(c, key)
			res, err := tx.Exec(ctx, "UPDATE "+c.Table+" SET "+c.Value+" = ? WHERE "+where+" AND "+c.Value+" = ?",
				append(append([]any{fresh}, args...), value)...)
			if err != nil {
				return fmt.Errorf("sealed: %s: %w", c, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				rep.Rewrapped++
			}
			return nil
		}, now)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// Check opens every value of cols with box's own key alone: after a
// rewrap, the proof that the old key can go. It returns the values checked
// and the first column holding a value that does not open.
func Check(ctx context.Context, d *db.DB, box *Box, cols []Column) (int64, error) {
	var n int64
	for _, c := range cols {
		err := scan(ctx, d, c, 1000, func(_ *db.Tx, key []any, value string) error {
			n++
			raw, err := base64.StdEncoding.DecodeString(value)
			if err != nil || !box.OpensUnderKey(raw, c.AAD(keyStrings(key))) {
				return fmt.Errorf("sealed: %s holds a value the key does not open", c)
			}
			return nil
		}, nil)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// scan walks the non-empty values of c in primary-key order, batch rows a
// transaction (a write transaction when now is given), calling fn for each.
func scan(ctx context.Context, d *db.DB, c Column, batch int, fn func(tx *db.Tx, key []any, value string) error, now func() time.Time) error {
	cols := strings.Join(c.Key, ", ")
	var after []any
	for {
		q := "SELECT " + cols + ", " + c.Value + " FROM " + c.Table + " WHERE " + c.Value + " <> ''"
		args := []any{}
		if after != nil {
			q += " AND (" + cols + ") > (" + strings.TrimSuffix(strings.Repeat("?, ", len(c.Key)), ", ") + ")"
			args = append(args, after...)
		}
		q += " ORDER BY " + cols + " LIMIT ?"
		args = append(args, batch)
		rows := 0
		run := func(tx *db.Tx) error {
			rs, err := tx.Query(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("sealed: read %s: %w", c, err)
			}
			type row struct {
				key   []any
				value string
			}
			var got []row
			for rs.Next() {
				key := make([]any, len(c.Key))
				dest := make([]any, len(c.Key)+1)
				for i := range key {
					dest[i] = &key[i]
				}
				var v string
				dest[len(key)] = &v
				if err := rs.Scan(dest...); err != nil {
					rs.Close()
					return fmt.Errorf("sealed: read %s: %w", c, err)
				}
				for i, k := range key { // drivers may hand text back as bytes
					if b, ok := k.([]byte); ok {
						key[i] = string(b)
					}
				}
				got = append(got, row{key, v})
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return fmt.Errorf("sealed: read %s: %w", c, err)
			}
			for _, r := range got {
				if err := fn(tx, r.key, r.value); err != nil {
					return err
				}
			}
			rows = len(got)
			if rows > 0 {
				after = got[rows-1].key
			}
			return nil
		}
		var err error
		if now != nil {
			err = d.Update(ctx, now(), run)
		} else {
			err = d.View(ctx, run)
		}
		if err != nil {
			return err
		}
		if rows < batch {
			return nil
		}
	}
}

func keyStrings(key []any) []string {
	out := make([]string, len(key))
	for i, k := range key {
		out[i] = fmt.Sprint(k)
	}
	return out
}

func keyWhere(c Column, key []any) (string, []any) {
	parts := make([]string, len(c.Key))
	for i, k := range c.Key {
		parts[i] = k + " = ?"
	}
	return strings.Join(parts, " AND "), key
}
