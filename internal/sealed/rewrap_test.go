package sealed_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"civitas/internal/db"
	"civitas/internal/db/dbtest"
	"civitas/internal/sealed"
)

// Rewrap moves every value of a column to the new key, leaves empty values
// alone, can be run again (and after a stop half-way) without harm, and
// stops at a value neither key opens, naming the column.
func TestRewrap(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	oldKey, newKey, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	from, _ := sealed.New(oldKey)
	to, _ := sealed.New(newKey)
	both, _ := sealed.New(newKey, oldKey) // what servers run with meanwhile
	col := sealed.Column{Table: "oidc_settings", Key: []string{"name"}, Value: "value",
		AAD: func(k []string) []byte { return []byte("test:" + k[0]) }}
	put := func(box *sealed.Box, name, plain string) {
		v := ""
		if plain != "" {
			v = base64.StdEncoding.EncodeToString(box.Seal([]byte(plain), []byte("test:"+name)))
		}
		err := d.Update(ctx, time.Now(), func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO oidc_settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, v)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1203 {
		put(from, fmt.Sprintf("s%05d", i), fmt.Sprint("secret ", i))
	}
	put(from, "empty", "")
	put(both, "sealed-by-a-server-meanwhile", "new") // under the new key already

	if _, err := sealed.Check(ctx, d, to, []sealed.Column{col}); err == nil {
		t.Fatal("Check passed before the rewrap")
	}
	now := func() time.Time { return time.Now() }
	rep, err := sealed.Rewrap(ctx, d, now, from, to, []sealed.Column{col}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Values != 1204 || rep.Rewrapped != 1203 {
		t.Fatalf("report %+v", rep)
	}
	n, err := sealed.Check(ctx, d, to, []sealed.Column{col})
	if err != nil || n != 1204 {
		t.Fatalf("check: %d %v", n, err)
	}
	var v string
	if err := d.QueryRow(ctx, `SELECT value FROM oidc_settings WHERE name = 's00007'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(v)
	if plain, err := to.Open(raw, []byte("test:s00007")); err != nil || string(plain) != "secret 7" {
		t.Fatalf("rewrapped value: %q %v", plain, err)
	}
	if _, err := from.Open(raw, []byte("test:s00007")); err == nil {
		t.Fatal("the old key still opens a rewrapped value")
	}
	again, err := sealed.Rewrap(ctx, d, now, from, to, []sealed.Column{col}, 100)
	if err != nil || again.Rewrapped != 0 {
		t.Fatalf("second run: %+v %v", again, err)
	}
	otherBox, _ := sealed.New(other)
	put(otherBox, "foreign", "x")
	if _, err := sealed.Rewrap(ctx, d, now, from, to, []sealed.Column{col}, 100); err == nil || !strings.Contains(err.Error(), "oidc_settings.value") {
		t.Fatalf("a value under a third key: %v", err)
	}
}

func TestKeyFileWithOlderKeys(t *testing.T) {
	keys, err := sealed.ParseKeys([]byte("# new\n" + strings.Repeat("ab", 32) + "\n\n" + strings.Repeat("cd", 32) + "\n"))
	if err != nil || len(keys) != 2 || keys[0][0] != 0xab || keys[1][0] != 0xcd {
		t.Fatalf("%x %v", keys, err)
	}
	for _, bad := range []string{"", "# only a comment\n", strings.Repeat("ab", 31), strings.Repeat("ab", 32) + "\nnot hex\n"} {
		if _, err := sealed.ParseKeys([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	oldBox, _ := sealed.New(keys[1])
	ring, _ := sealed.New(keys[0], keys[1])
	v := oldBox.Seal([]byte("x"), []byte("a"))
	if _, err := ring.Open(v, []byte("a")); err != nil {
		t.Fatal("the ring does not open what the older key sealed")
	}
	if ring.OpensUnderKey(v, []byte("a")) {
		t.Fatal("an older key's value counts as the new key's")
	}
	if !oldBox.OpensUnderKey(v, []byte("a")) {
		t.Fatal("OpensUnderKey")
	}
}
