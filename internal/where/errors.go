package where

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Error is a validation problem with a where clause or its parameters,
// reported to the client as a 400 (protocol §2.2). Field is "where" or
// "params"; Message is the protocol's text, such as
// "At location 7: unknown reference foo".
type Error struct {
	Field   string
	Message string

	evaluation bool
}

func (e *Error) Error() string { return e.Field + ": " + e.Message }

// Evaluation reports whether the error was raised evaluating a constant
// part of the clause while compiling it (division by zero, a bad literal
// of a cast, …): Postgres raises the same error when it plans or runs
// the query.
func (e *Error) Evaluation() bool { return e.evaluation }

// EvalError is an error Postgres would raise while evaluating the clause
// on a row (division by zero, overflow, a bad cast). Message is
// Postgres' own message text. An EvalError wrapping ErrUnknownEnumLabel
// is Galvani's own: the clause is out of date, Postgres raises nothing.
type EvalError struct {
	Message string

	cause error
}

func (e *EvalError) Error() string { return e.Message }

// Unwrap returns the sentinel the error wraps (ErrUnknownEnumLabel), or nil.
func (e *EvalError) Unwrap() error { return e.cause }

func evalErrorf(format string, args ...any) *EvalError {
	return &EvalError{Message: fmt.Sprintf(format, args...)}
}

// compileError is an error found while compiling, positioned at a byte
// offset of the parsed query ("SELECT 1 WHERE " + where), or at no
// location when loc < 0.
type compileError struct {
	loc        int
	msg        string
	evaluation bool // raised evaluating constants
}

func (e *compileError) Error() string { return e.msg }

func errAt(loc int, format string, args ...any) *compileError {
	return &compileError{loc: loc, msg: fmt.Sprintf(format, args...)}
}

// queryPrefix is what the where text is parsed inside (protocol §13.1).
const queryPrefix = "SELECT 1 WHERE "

// toError turns a compile error into the protocol's message: "At location
// <n>: <reason>" where n counts characters of the where text.
func (e *compileError) toError(where string) *Error {
	if e.loc < 0 {
		return &Error{Field: "where", Message: e.msg, evaluation: e.evaluation}
	}
	return &Error{Field: "where", Message: "At location " + strconv.Itoa(charOffset(where, e.loc-len(queryPrefix))) + ": " + e.msg, evaluation: e.evaluation}
}

// charOffset converts a byte offset into where to a character offset,
// clamping to the text.
func charOffset(where string, b int) int {
	if b <= 0 {
		return 0
	}
	if b > len(where) {
		b = len(where)
	}
	return utf8.RuneCountInString(where[:b])
}

func invalidInput(sqlType, s string) *EvalError {
	return evalErrorf("invalid input syntax for type %s: %s", sqlType, quoteForMessage(s))
}

// quoteForMessage renders a value inside a message as Postgres does:
// in double quotes, unescaped.
func quoteForMessage(s string) string { return `"` + s + `"` }

func intOutOfRange(bits int) *EvalError {
	switch bits {
	case 16:
		return evalErrorf("smallint out of range")
	case 32:
		return evalErrorf("integer out of range")
	}
	return evalErrorf("bigint out of range")
}

func fitsInt(v int64, bits int) bool {
	switch bits {
	case 16:
		return v >= -1<<15 && v < 1<<15
	case 32:
		return v >= -1<<31 && v < 1<<31
	}
	return true
}
