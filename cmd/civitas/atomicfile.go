package main

import (
	"os"
	"path/filepath"
)

// writeAtomic writes the file name whole or not at all, for every file a
// command writes: write fills a temporary file beside name (in the same
// directory, so the rename stays on one file system), which is given perm,
// flushed to disk and renamed over name; the directory is flushed too, so
// the rename survives a crash. On any failure the temporary file goes and
// name is left as it was — never a half-written certificate, credential or
// sealed PDF under the name asked.
func writeAtomic(name string, perm os.FileMode, write func(f *os.File) error) (err error) {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, ".civitas-*-"+filepath.Base(name))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil { // CreateTemp makes files 0600
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: some file systems refuse to sync a directory
		d.Close()
	}
	return nil
}

// writeFileAtomic is writeAtomic for bytes in hand.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	return writeAtomic(name, perm, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}
