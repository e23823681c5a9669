package db_test

import (
	"context"
	"fmt"
	"testing"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
)

// copyTables makes two tables, the second referring to the first, for CopyRows.
func copyTables(t testing.TB, d *db.DB) {
	t.Helper()
	for _, q := range []string{
		"CREATE TABLE copy_homes (id TEXT PRIMARY KEY, address TEXT NOT NULL)",
		"CREATE TABLE copy_people (id BIGINT PRIMARY KEY, home TEXT NOT NULL REFERENCES copy_homes (id), name TEXT NOT NULL, born BIGINT NOT NULL)",
	} {
		if _, err := d.WritePool().ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

func homes(n int) db.Rows {
	return db.Rows{Table: "copy_homes", Columns: []string{"id", "address"}, N: n, Row: func(i int, a []any) []any {
		return append(a, fmt.Sprintf("h%05d", i), fmt.Sprintf("%d Lê Lợi", i))
	}}
}

func people(n, first int) db.Rows {
	return db.Rows{Table: "copy_people", Columns: []string{"id", "home", "name", "born"}, N: n, Row: func(i int, a []any) []any {
		return append(a, int64(first+i), fmt.Sprintf("h%05d", i%3), fmt.Sprintf("Người %d", first+i), int64(1_700_000_000_000_000+i))
	}}
}

// CopyRows writes every row of every table, in order (the second table's
// rows refer to the first's), whatever the count against the statement
// size; a failure writes nothing of the call.
func TestCopyRows(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		tables func() []db.Rows
		want   int // persons written
		fail   bool
	}{
		{"ok/none", func() []db.Rows { return []db.Rows{homes(3), people(0, 0)} }, 0, false},
		{"ok/one", func() []db.Rows { return []db.Rows{homes(3), people(1, 0)} }, 1, false},
		{"ok/one statement", func() []db.Rows { return []db.Rows{homes(3), people(16, 0)} }, 16, false},
		{"ok/statements and a remainder", func() []db.Rows { return []db.Rows{homes(3), people(16*40+7, 0)} }, 16*40 + 7, false},
		{"fail/unknown reference", func() []db.Rows { return []db.Rows{homes(2), people(20, 0)} }, 0, true},
		{"fail/duplicate key", func() []db.Rows { return []db.Rows{homes(3), people(20, 0), people(1, 5)} }, 0, true},
		{"fail/row of the wrong width", func() []db.Rows {
			bad := people(20, 0)
			bad.Row = func(i int, a []any) []any { return append(a, int64(i)) }
			return []db.Rows{homes(3), bad}
		}, 0, true},
		{"fail/no table", func() []db.Rows { return []db.Rows{{Columns: []string{"id"}, N: 1}} }, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := dbtest.Open(t)
			copyTables(t, d)
			err := d.CopyRows(ctx, tc.tables()...)
			if (err != nil) != tc.fail {
				t.Fatalf("CopyRows: %v, want failure %v", err, tc.fail)
			}
			var n, h int
			if err := d.QueryRow(ctx, "SELECT (SELECT COUNT(*) FROM copy_people), (SELECT COUNT(*) FROM copy_homes)").Scan(&n, &h); err != nil {
				t.Fatal(err)
			}
			if n != tc.want || (tc.fail && h != 0) {
				t.Fatalf("%d persons and %d homes written, want %d persons", n, h, tc.want)
			}
			if tc.want == 0 {
				return
			}
			var name string
			var born int64
			last := tc.want - 1
			if err := d.QueryRow(ctx, "SELECT name, born FROM copy_people WHERE id = ?", last).Scan(&name, &born); err != nil {
				t.Fatal(err)
			}
			if name != fmt.Sprintf("Người %d", last) || born != int64(1_700_000_000_000_000+last) {
				t.Fatalf("row %d: %q %d", last, name, born)
			}
		})
	}
}

// BenchmarkCopyRows is the bulk path the demo loader takes, without the
// registry's checks and index handling.
func BenchmarkCopyRows(b *testing.B) {
	ctx := context.Background()
	d := dbtest.Open(b)
	copyTables(b, d)
	if err := d.CopyRows(ctx, homes(3)); err != nil {
		b.Fatal(err)
	}
	const batch = 5000
	first := 0
	for b.Loop() {
		if err := d.CopyRows(ctx, people(batch, first)); err != nil {
			b.Fatal(err)
		}
		first += batch
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}
