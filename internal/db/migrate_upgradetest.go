//go:build upgradetest

package db

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

//go:embed testdata/upgrade
var upgradeFS embed.FS

// extraMigrations are the "newer release"'s migrations of the rolling
// upgrade test: expand only.
func extraMigrations(d Dialect) []Migration {
	dir := path.Join("testdata/upgrade", string(d))
	entries, _ := fs.ReadDir(upgradeFS, dir)
	var out []Migration
	for _, e := range entries {
		b, err := fs.ReadFile(upgradeFS, path.Join(dir, e.Name()))
		if err == nil {
			out = append(out, Migration{Version: strings.TrimSuffix(e.Name(), ".sql"), SQL: string(b)})
		}
	}
	return out
}
