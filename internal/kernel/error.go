package kernel

import (
	"errors"
	"fmt"
)

// Code classifies an error for callers: the HTTP layer maps it to a status,
// the CLI to an exit message. Users see a message for the code (or the
// error's own message key), never the wrapped cause.
type Code string

// The error codes. Anything unclassified is Internal.
const (
	Invalid         Code = "invalid"
	NotFound        Code = "not_found"
	Conflict        Code = "conflict"
	Forbidden       Code = "forbidden"
	Unauthenticated Code = "unauthenticated"
	TooManyRequests Code = "too_many_requests"
	Unavailable     Code = "unavailable"
	Internal        Code = "internal"
)

// Error is an error with a code and a message that is safe to show.
//
// Key names a message in the i18n catalogue (for example "error.person.not_found");
// Args fill its placeholders. Err is the cause, for logs only.
type Error struct {
	Code Code
	Key  string
	Args []any
	Err  error

	// wrapped marks an Error made by Wrap around a coded cause: Err then
	// holds the context and the cause, whose code and key are already in
	// its text.
	wrapped bool
}

// E builds an Error with a code and a catalogue key.
func E(code Code, key string, args ...any) *Error {
	return &Error{Code: code, Key: key, Args: args}
}

// Wrap adds context for the logs (a package prefix, what was being done)
// to a cause. A cause that already carries an *Error keeps its code, key
// and arguments: the user is told what the cause says (a locked token, a
// person not found), so a caller need not tell coded causes from others
// before wrapping. Any other cause becomes Internal. A nil cause gives nil.
func Wrap(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	cause := fmt.Errorf(format+": %w", append(args, err)...)
	var ke *Error
	if errors.As(err, &ke) {
		return &Error{Code: ke.Code, Key: ke.Key, Args: ke.Args, Err: cause, wrapped: true}
	}
	return &Error{Code: Internal, Key: "error.internal", Err: cause}
}

// Error is the log text: the code, the key and its arguments, then the
// cause. Around a coded cause Wrap's text is its context, then the cause's
// own text, so the code and key are said once.
func (e *Error) Error() string {
	if e.wrapped {
		return e.Err.Error()
	}
	s := string(e.Code)
	if e.Key != "" {
		s += ": " + e.Key
	}
	if len(e.Args) > 0 {
		s += fmt.Sprint(e.Args)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// WithCause returns a copy of e that records err as its cause.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.Err = err
	c.wrapped = false
	return &c
}

// ErrorCode returns the code of the first *Error in err's chain, Internal for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorKey returns the catalogue key and arguments to show for err. Internal
// errors always show the generic message, whatever they carry.
func ErrorKey(err error) (string, []any) {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal && e.Key != "" {
		return e.Key, e.Args
	}
	code := ErrorCode(err)
	if code == "" {
		code = Internal
	}
	return "error." + string(code), nil
}
