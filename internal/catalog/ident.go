package catalog

import (
	"unicode"
	"unicode/utf8"
)

// MaxIdentLength is the longest identifier part the parameter parsers accept,
// in characters (Postgres' NAMEDATALEN-1).
const MaxIdentLength = 63

// Protocol error messages for identifier parsing (protocol §2.2). Messages
// that embed the offending text are built by the parsers.
const (
	msgZeroLength    = "Invalid zero-length delimited identifier"
	msgSpecialChars  = "Invalid unquoted identifier contains special characters: "
	msgUnescaped     = "Invalid identifier with unescaped quote: "
	msgTooManyDelims = "Invalid relation identifier, too many delimiters: "
	msgTooLong       = "Identifier is too long (max length is 63)"
	msgEmptyColumns  = "The list of columns must not be empty"
)

// IdentError is a malformed `table` or `columns` parameter. Its message is
// the exact text the protocol reports to the client (protocol §2.2).
type IdentError struct {
	// Message is the client-facing message.
	Message string
}

// Error returns the client-facing message.
func (e *IdentError) Error() string { return e.Message }

func identErr(msg string) error { return &IdentError{Message: msg} }

// ParseRelationName parses the `table` request parameter (protocol §2.1): a
// table name, optionally qualified by a schema ("public" when omitted). The
// input is split on dots outside double quotes; each part is either quoted
// ("My Table": case kept, "" stands for one quote) or unquoted (ASCII letters
// lowercased, as Postgres folds names in a UTF-8 database, and matching
// ^[\pL_][\pL\pM_0-9$]*$). Errors are *IdentError values carrying the
// protocol's messages.
func ParseRelationName(s string) (schema, name string, err error) {
	parts := splitRelation(s)
	switch len(parts) {
	case 1:
		name, err = parseIdent(parts[0])
		if err != nil {
			return "", "", err
		}
		return "public", name, nil
	case 2:
		schema, err = parseIdent(parts[0])
		if err != nil {
			return "", "", err
		}
		name, err = parseIdent(parts[1])
		if err != nil {
			return "", "", err
		}
		return schema, name, nil
	default:
		return "", "", identErr(msgTooManyDelims + s)
	}
}

// ParseColumnList parses the `columns` (or `queryable_columns`) request
// parameter: comma-separated identifiers, each parsed like one part of a
// table name, in the order given. Quoted identifiers may contain commas and
// dots. The empty string is an error (callers treat an empty parameter as
// absent before calling). Errors are *IdentError values.
//
// A comma separates two identifiers when an even number of double quotes
// follows it, which is how upstream splits; for every well-formed list this
// is the same as "outside quotes".
func ParseColumnList(s string) ([]string, error) {
	if s == "" {
		return nil, identErr(msgEmptyColumns)
	}
	// Count the quotes after each position from the right: a comma whose
	// suffix holds an even number of quotes is a separator.
	var cuts []int
	quotes := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case '"':
			quotes++
		case ',':
			if quotes%2 == 0 {
				cuts = append(cuts, i)
			}
		}
	}
	cols := make([]string, 0, len(cuts)+1)
	start := 0
	for k := len(cuts) - 1; k >= -1; k-- {
		end := len(s)
		if k >= 0 {
			end = cuts[k]
		}
		col, err := parseIdent(s[start:end])
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
		start = end + 1
	}
	return cols, nil
}

// splitRelation splits s on dots outside double quotes; every quote toggles
// the quoted state, so an escaped quote ("") toggles twice.
func splitRelation(s string) []string {
	var parts []string
	inQuotes := false
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuotes = !inQuotes
		case '.':
			if !inQuotes {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// parseIdent parses one identifier part: quoted when it both starts and ends
// with a double quote, unquoted otherwise.
func parseIdent(p string) (string, error) {
	var v string
	if len(p) > 0 && p[0] == '"' && p[len(p)-1] == '"' {
		inner := ""
		if len(p) >= 2 {
			inner = p[1 : len(p)-1]
		}
		if inner == "" {
			return "", identErr(msgZeroLength)
		}
		var ok bool
		v, ok = unescapeQuoted(inner)
		if !ok {
			return "", identErr(msgUnescaped + inner)
		}
	} else {
		if p == "" {
			return "", identErr(msgZeroLength)
		}
		if !validUnquoted(p) {
			return "", identErr(msgSpecialChars + p)
		}
		v = asciiLower(p)
	}
	if utf8.RuneCountInString(v) > MaxIdentLength {
		return "", identErr(msgTooLong)
	}
	return v, nil
}

// unescapeQuoted replaces each "" in the body of a quoted identifier by one
// quote, reporting false when a quote is not part of such a pair. Runs of
// quotes pair up from the left, as in SQL, so an odd run is an error.
func unescapeQuoted(s string) (string, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			n++
		}
	}
	if n == 0 {
		return s, true
	}
	b := make([]byte, 0, len(s)-n/2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' {
			if i+1 >= len(s) || s[i+1] != '"' {
				return "", false
			}
			i++
		}
		b = append(b, c)
	}
	return string(b), true
}

// validUnquoted reports whether s matches ^[\pL_][\pL\pM_0-9$]*$. Invalid
// UTF-8 never matches.
func validUnquoted(s string) bool {
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '$' || ('0' <= r && r <= '9') || unicode.IsMark(r)):
		default:
			// Includes utf8.RuneError for invalid bytes: it is a symbol.
			return false
		}
	}
	return true
}

// asciiLower folds A-Z to a-z and leaves every other byte alone, which is
// what Postgres does to unquoted identifiers in a multi-byte encoding.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
