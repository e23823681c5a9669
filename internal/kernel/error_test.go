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

// Wrap keeps a coded cause's code, key and arguments, so the user is told
// what the cause says; a plain cause becomes Internal. The log text reads
// the context, then the cause, with the code and key said once.
func TestWrap(t *testing.T) {
	locked := E(Unavailable, "pki.error.locked", "token-1").WithCause(errors.New("CKR_PIN_LOCKED"))
	internal := Wrap(errors.New("disk on fire"), "db: write")
	tests := []struct {
		name     string
		cause    error
		wantCode Code
		wantKey  string
		wantArgs []any
		wantText string
	}{
		{"ok/plain cause becomes internal", errors.New("connection reset"), Internal, "error.internal", nil,
			"internal: error.internal: cms: sign: connection reset"},
		{"ok/not found stays not found", E(NotFound, "error.person.not_found"), NotFound, "error.person.not_found", nil,
			"cms: sign: not_found: error.person.not_found"},
		{"ok/coded cause keeps its arguments and cause", locked, Unavailable, "pki.error.locked", []any{"token-1"},
			"cms: sign: unavailable: pki.error.locked[token-1]: CKR_PIN_LOCKED"},
		{"ok/coded cause under fmt wrapping", fmt.Errorf("pkcs11: sign: %w", locked), Unavailable, "pki.error.locked", []any{"token-1"},
			"cms: sign: pkcs11: sign: unavailable: pki.error.locked[token-1]: CKR_PIN_LOCKED"},
		{"ok/wrapped twice", Wrap(E(Conflict, "error.dup"), "store: insert"), Conflict, "error.dup", nil,
			"cms: sign: store: insert: conflict: error.dup"},
		{"ok/internal cause stays internal", internal, Internal, "error.internal", nil,
			"cms: sign: internal: error.internal: db: write: disk on fire"},
		{"fail/a plain cause is never shown", errors.New("SELECT secret FROM t"), Internal, "error.internal", nil,
			"internal: error.internal: cms: sign: SELECT secret FROM t"},
		{"fail/an internal cause's own key is never shown", E(Internal, "error.db.secret"), Internal, "error.internal", nil,
			"cms: sign: internal: error.db.secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Wrap(tt.cause, "cms: %s", "sign")
			if got := ErrorCode(err); got != tt.wantCode {
				t.Errorf("code = %q, want %q", got, tt.wantCode)
			}
			key, args := ErrorKey(err)
			if key != tt.wantKey || fmt.Sprint(args) != fmt.Sprint(tt.wantArgs) {
				t.Errorf("key = %q %v, want %q %v", key, args, tt.wantKey, tt.wantArgs)
			}
			if got := err.Error(); got != tt.wantText {
				t.Errorf("text = %q, want %q", got, tt.wantText)
			}
			if !errors.Is(err, tt.cause) {
				t.Error("the cause is lost")
			}
		})
	}
	if Wrap(nil, "x") != nil {
		t.Error("Wrap(nil) must be nil")
	}
	// A wrapper given another cause is an ordinary coded error again.
	var ke *Error
	if !errors.As(Wrap(locked, "cms: sign"), &ke) {
		t.Fatal("Wrap did not make an *Error")
	}
	if got := ke.WithCause(errors.New("other")).Error(); got != "unavailable: pki.error.locked[token-1]: other" {
		t.Errorf("WithCause on a wrapper: %q", got)
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
