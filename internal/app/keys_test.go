package app

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"civitas/internal/db"
)

// TestEverySealedColumnIsRewrapped keeps sealedColumns complete: every
// file that seals with the key-encryption key is known with how many
// values it seals and where they go, and every column a migration names
// *sealed is rewrapped. A capability that seals something new fails here
// until its column joins sealedColumns (or, for a value that never rests
// in the database, sealSites says so).
func TestEverySealedColumnIsRewrapped(t *testing.T) {
	// Files that seal, how many calls, and where the values rest.
	sealSites := map[string]int{
		"identity/login.go":         2, // totp: accounts.totp_sealed; totp-setup: a form field, never stored
		"oidc/keys.go":              2, // oidc_keys.private_sealed, oidc_settings.value
		"signing/webhooks.go":       1, // signing_webhook_secrets.secret (and .previous, the secret before)
		"oid4vc/verifier.go":        1, // wallet_vp_requests.result_sealed
		"pki/keys.go":               1, // pki_keys.private_sealed
		"wallet/pdf.go":             1, // wallet_renderings.sealed
		"wallet/share.go":           1, // wallet_share_keys.sealed
		"wallet/documents.go":       1, // wallet_documents.sealed
		"wallet/wallet.go":          1, // wallet_holder_keys.private_sealed
		"portal/payment/receipt.go": 1, // payment_receipts.sealed
	}
	seal := regexp.MustCompile(`(?i)box\.Seal\(`)
	found := map[string]int{}
	root := "../../internal"
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "sealed/") {
			return nil // the box itself, and the rewrap
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := len(seal.FindAll(b, -1)); n > 0 {
			found[rel] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f, n := range found {
		if sealSites[f] != n {
			t.Errorf("%s seals %d values with the key-encryption key, sealSites knows %d: add the column to sealedColumns (keys.go) and here", f, n, sealSites[f])
		}
	}
	for f := range sealSites {
		if found[f] == 0 {
			t.Errorf("sealSites names %s, which seals nothing now: update it and sealedColumns", f)
		}
	}

	have := map[string]bool{}
	for _, c := range sealedColumns {
		have[c.Table+"."+c.Value] = true
	}
	ms, err := db.Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	table := regexp.MustCompile(`(?i)CREATE TABLE (\w+)|ALTER TABLE (\w+) ADD COLUMN`)
	column := regexp.MustCompile(`(?m)^\s*(?:ALTER TABLE \w+ ADD COLUMN\s+)?(\w*sealed\w*)\s+TEXT`)
	for _, m := range ms {
		cur := ""
		for _, line := range strings.Split(m.SQL, "\n") {
			if tm := table.FindStringSubmatch(line); tm != nil {
				cur = tm[1] + tm[2]
			}
			if cm := column.FindStringSubmatch(line); cm != nil && !have[cur+"."+cm[1]] {
				t.Errorf("%s: %s.%s looks sealed but is not in sealedColumns", m.Version, cur, cm[1])
			}
		}
	}
	for _, c := range sealedColumns {
		if c.AAD == nil || len(c.Key) == 0 {
			t.Errorf("%s: no key or associated data", c)
		}
	}
}
