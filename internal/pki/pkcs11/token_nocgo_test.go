//go:build !cgo

package pkcs11

import (
	"errors"
	"testing"
)

func TestOpenWithoutCgo(t *testing.T) {
	if _, err := Open(Config{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "x", PIN: "x"}); !errors.Is(err, ErrNoCgo) {
		t.Fatalf("err = %v, want ErrNoCgo", err)
	}
}
