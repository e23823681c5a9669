//go:build !linux

package backup

import "os"

// openDirect creates path for writing; only Linux bypasses the page cache.
func openDirect(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	return f, false, err
}

func setDirect(*os.File, bool) error { return nil }

func isInvalid(error) bool { return false }
