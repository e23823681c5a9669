//go:build !upgradetest

package db

// extraMigrations are none in a real build; a build with -tags
// upgradetest has one more (migrate_upgradetest.go), to play the next
// release in the rolling-upgrade test.
func extraMigrations(Dialect) []Migration { return nil }
