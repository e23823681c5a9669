package pades_test

import (
	"bytes"
	"context"
	"testing"

	"civitas/internal/pades"
)

// FuzzValidate: Validate reads files strangers send; whatever the bytes,
// it returns a report or an error, never panics or hangs.
func FuzzValidate(f *testing.F) {
	e := newEnv(f)
	in := testPDF(1, 0)
	f.Add(in)
	f.Add(signMem(f, e, in, e.Signer, pades.LevelBB))
	f.Add(signMem(f, e, in, e.seal, pades.LevelBLTA))
	f.Add(appendPageChange(f, signMem(f, e, in, e.Signer, pades.LevelBT)))
	f.Add([]byte("%PDF-1.7\ngarbage\nstartxref\n9\n%%EOF\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := pades.Validate(context.Background(), bytes.NewReader(b), int64(len(b)), e.trust, nil)
		if err == nil && (rep == nil || len(rep.Signatures) == 0) {
			t.Fatal("no error and no report")
		}
	})
}
