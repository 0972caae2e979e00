package config

import (
	"errors"
	"fmt"
)

// Sentinels wrapped by every FieldError, for callers that branch with errors.Is.
var (
	// ErrNotSet is wrapped when a required setting has no value: DATABASE_URL,
	// or neither ELECTRIC_SECRET nor ELECTRIC_INSECURE=true.
	ErrNotSet = errors.New("config: not set")
	// ErrInvalid is wrapped when a value does not parse: not a number, not a
	// duration, a malformed connection string, an identifier with bad
	// characters.
	ErrInvalid = errors.New("config: invalid value")
	// ErrOutOfRange is wrapped when a value parses but lies outside the
	// allowed range (a port above 65535, a zero timeout, a pool of one).
	ErrOutOfRange = errors.New("config: value out of range")
	// ErrConflict is wrapped when settings contradict each other
	// (ELECTRIC_SECRET together with ELECTRIC_INSECURE=true).
	ErrConflict = errors.New("config: conflicting settings")
	// ErrUnsupported is wrapped when an Electric setting, or one of its
	// values, is not implemented by Galvani (see Unsupported), including
	// sslmode=verify-ca and verify-full.
	ErrUnsupported = errors.New("config: not supported by this version of Galvani")
)

// redacted stands in for a secret or password in FieldError.Value, as in
// net/url's URL.Redacted.
const redacted = "xxxxx"

// FieldError is returned, alone or joined with others, for a bad setting.
type FieldError struct {
	// Name is the environment variable the setting is read from (the older
	// name when that is the one that was set), such as "ELECTRIC_PORT".
	Name string
	// Value is the offending value as given, with the secret and any
	// database password replaced by "xxxxx"; empty when the setting was unset
	// or the value cannot be shown safely.
	Value string
	// Err says what is wrong and how to fix it. It wraps one of ErrNotSet,
	// ErrInvalid, ErrOutOfRange, ErrConflict or ErrUnsupported.
	Err error
}

// Error returns "<Name>: <message>", on one line.
func (e *FieldError) Error() string {
	if e.Err == nil {
		return e.Name + ": invalid value"
	}
	return e.Name + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *FieldError) Unwrap() error { return e.Err }

// reasonError is a message written for the user, which wraps the sentinel
// that classifies it without repeating the sentinel's text.
type reasonError struct {
	kind error
	msg  string
}

func (e *reasonError) Error() string { return e.msg }

func (e *reasonError) Unwrap() error { return e.kind }

// reason returns an error reading fmt.Sprintf(format, args...) that wraps kind.
func reason(kind error, format string, args ...any) error {
	return &reasonError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// joinFieldErrors joins errs with errors.Join, or returns nil when there are none.
func joinFieldErrors(errs []*FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}
