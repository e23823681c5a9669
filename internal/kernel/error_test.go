package kernel

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestErrorCodeAndKey(t *testing.T) {
	nf := E(NotFound, "error.person.not_found")
	wrapped := fmt.Errorf("registry: lookup: %w", nf)
	internal := Wrap(errors.New("disk on fire: /var/secret"), "db: open %s", "x")
	tests := []struct {
		name     string
		err      error
		wantCode Code
		wantKey  string
	}{
		{"ok/nil", nil, "", "error.internal"},
		{"ok/coded", nf, NotFound, "error.person.not_found"},
		{"ok/wrapped", wrapped, NotFound, "error.person.not_found"},
		{"ok/plain error is internal", errors.New("boom"), Internal, "error.internal"},
		{"ok/internal hides its cause", internal, Internal, "error.internal"},
		{"ok/coded without key", &Error{Code: Forbidden}, Forbidden, "error.forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("code = %q, want %q", got, tt.wantCode)
			}
			if got, _ := ErrorKey(tt.err); got != tt.wantKey {
				t.Errorf("key = %q, want %q", got, tt.wantKey)
			}
		})
	}
	if Wrap(nil, "x") != nil {
		t.Error("Wrap(nil) must be nil")
	}
	if !errors.Is(internal, internal) || errors.Unwrap(internal) == nil {
		t.Error("internal error lost its cause")
	}
}

func TestNewIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != 26 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	if len(NewToken()) != 52 {
		t.Fatal("token length")
	}
}

// Ordered IDs sort by their time to the millisecond, and are still unique.
func TestNewOrderedID(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	prev := ""
	seen := map[string]bool{}
	for i := range 2000 {
		id := NewOrderedID(t0.Add(time.Duration(i/2) * time.Millisecond))
		if len(id) != 26 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		if i%2 == 0 && id <= prev {
			t.Fatalf("%q does not sort after %q", id, prev)
		}
		seen[id], prev = true, id
	}
}
