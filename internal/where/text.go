package where

import (
	"strings"
	"unicode/utf8"
)

// castToText is the cast of a value to text: the output function, except
// bool whose cast gives 'true'/'false' (booltext).
func castToText(t pgType, d datum) string {
	if t == typBool {
		if d.(bool) {
			return "true"
		}
		return "false"
	}
	return outputValue(t, d)
}

var errLikeEscape = evalErrorf("LIKE pattern must not end with escape character")

type likeResult int

const (
	likeFalse likeResult = iota
	likeTrue
	likeAbort
)

// likeText is textlike for UTF-8 text (like_match.c MatchText with
// NextChar stepping over whole characters).
func likeText(t, p string) (bool, error) {
	r, err := matchLike(t, p, true)
	return r == likeTrue, err
}

// likeBytes is bytealike: the same algorithm on bytes.
func likeBytes(t, p string) (bool, error) {
	r, err := matchLike(t, p, false)
	return r == likeTrue, err
}

func nextChar(s string, utf bool) int {
	if !utf || s[0] < utf8.RuneSelf {
		return 1
	}
	_, n := utf8.DecodeRuneInString(s)
	return n
}

func matchLike(t, p string, utf bool) (likeResult, error) {
	if p == "%" {
		return likeTrue, nil
	}
	for len(t) > 0 && len(p) > 0 {
		switch p[0] {
		case '\\':
			p = p[1:]
			if len(p) == 0 {
				return likeFalse, errLikeEscape
			}
			if p[0] != t[0] {
				return likeFalse, nil
			}
		case '%':
			p = p[1:]
			for len(p) > 0 {
				if p[0] == '%' {
					p = p[1:]
				} else if p[0] == '_' {
					if len(t) == 0 {
						return likeAbort, nil
					}
					t = t[nextChar(t, utf):]
					p = p[1:]
				} else {
					break
				}
			}
			if len(p) == 0 {
				return likeTrue, nil
			}
			var first byte
			if p[0] == '\\' {
				if len(p) < 2 {
					return likeFalse, errLikeEscape
				}
				first = p[1]
			} else {
				first = p[0]
			}
			for len(t) > 0 {
				if t[0] == first {
					m, err := matchLike(t, p, utf)
					if err != nil {
						return likeFalse, err
					}
					if m != likeFalse {
						return m, nil
					}
				}
				t = t[nextChar(t, utf):]
			}
			return likeAbort, nil
		case '_':
			t = t[nextChar(t, utf):]
			p = p[1:]
			continue
		default:
			if p[0] != t[0] {
				return likeFalse, nil
			}
		}
		t = t[1:]
		p = p[1:]
	}
	if len(t) > 0 {
		return likeFalse, nil
	}
	for len(p) > 0 && p[0] == '%' {
		p = p[1:]
	}
	if len(p) == 0 {
		return likeTrue, nil
	}
	return likeAbort, nil
}

// likeEscape is like_escape: it rewrites a pattern using escape character
// e into one using backslash.
func likeEscape(p, e string) (datum, error) {
	var b strings.Builder
	if e == "" {
		for i := 0; i < len(p); i++ {
			if p[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p[i])
		}
		return b.String(), nil
	}
	if n := nextChar(e, true); n != len(e) {
		return nil, evalErrorf("invalid escape string")
	}
	if e == `\` {
		return p, nil
	}
	after := false
	for len(p) > 0 {
		n := nextChar(p, true)
		switch {
		case p[:n] == e && !after:
			b.WriteByte('\\')
			after = true
		case p[0] == '\\':
			b.WriteByte('\\')
			if !after {
				b.WriteByte('\\')
			}
			after = false
		default:
			b.WriteString(p[:n])
			after = false
		}
		p = p[n:]
	}
	return b.String(), nil
}

// caseMode says how lower, upper and ILIKE map case: under the C
// collation Postgres maps ASCII letters only; under other collations the
// mapping of non-ASCII letters depends on the locale, which Galvani does
// not reproduce, so such input raises an error at evaluation.
type caseMode uint8

const (
	caseASCII        caseMode = iota // collation C: ASCII letters only
	caseASCIIOrError                 // another collation: non-ASCII input is refused
)

func mapCase(s string, upper bool, mode caseMode) (string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf && mode == caseASCIIOrError {
			return "", evalErrorf("case mapping of non-ASCII text under a non-C collation is not supported outside Postgres")
		}
	}
	b := []byte(s)
	for i, c := range b {
		if upper && c >= 'a' && c <= 'z' {
			b[i] = c - 32
		} else if !upper && c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b), nil
}

// casingImpl returns lower, upper, ILIKE and NOT ILIKE for a case mode.
func casingImpl(name string, mode caseMode) fnImpl {
	switch name {
	case "lower", "upper":
		up := name == "upper"
		return func(a []datum) (datum, error) { return mapCase(a[0].(string), up, mode) }
	}
	negate := name == "!~~*"
	return func(a []datum) (datum, error) {
		t, err := mapCase(a[0].(string), false, mode)
		if err != nil {
			return nil, err
		}
		p, err := mapCase(a[1].(string), false, mode)
		if err != nil {
			return nil, err
		}
		m, err := likeText(t, p)
		if err != nil {
			return nil, err
		}
		return m != negate, nil
	}
}
