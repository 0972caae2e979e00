package config

import (
	"net/url"
	"strconv"
	"strings"
)

// Connection strings come in the two forms libpq accepts: a URL
// (postgresql://user:pass@host:5432/db?sslmode=require) and key=value settings
// (host=db user=app password='a b' dbname=app). The checks below catch what
// would otherwise surface later as a confusing connection failure, and their
// messages never quote the password or any other part that might hold it.

const connExample = "postgresql://user:pass@host:5432/db"

// checkConnString reports what is wrong with a Postgres connection string,
// wrapping ErrInvalid or ErrUnsupported; nil means it looks usable.
func checkConnString(s string) error {
	switch {
	case isURLForm(s):
		return checkConnURL(s)
	case strings.Contains(s, "="):
		return checkConninfo(s)
	}
	return reason(ErrInvalid, "neither a URL nor key=value settings: use a URL such as %s", connExample)
}

// isURLForm reports whether s looks like scheme://…, as opposed to key=value
// settings (whose values might themselves contain "://").
func isURLForm(s string) bool {
	i := strings.Index(s, "://")
	return i > 0 && !strings.ContainsAny(s[:i], "= \t\r\n\f\v'")
}

func checkConnURL(s string) error {
	scheme := s[:strings.Index(s, "://")]
	if !strings.EqualFold(scheme, "postgresql") && !strings.EqualFold(scheme, "postgres") {
		if isPlainScheme(scheme) {
			return reason(ErrInvalid, "URL scheme is %q: use postgresql:// or postgres://, as in %s", scheme, connExample)
		}
		return reason(ErrInvalid, "URL does not start with postgresql:// or postgres://: use a URL such as %s", connExample)
	}
	if strings.Contains(s, "#") {
		return reason(ErrInvalid, "URL contains #, which starts a fragment: percent-encode it as %%23 (in the password, for example)")
	}
	u, err := url.Parse(s)
	if err != nil {
		// err quotes the input, password included; say what usually causes it.
		return reason(ErrInvalid, "not a valid URL: percent-encode special characters in the user name and password (@ as %%40, : as %%3A, / as %%2F), as in %s", connExample)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return reason(ErrInvalid, "URL has a malformed query string: percent-encode special characters in parameter values")
	}
	if u.Hostname() == "" && q.Get("host") == "" {
		return reason(ErrInvalid, "URL has no host: give one, as in %s", connExample)
	}
	if err := checkPort(u.Port()); err != nil {
		return err
	}
	return checkConnParams(func(key string) (string, bool) {
		v, ok := q[key]
		if !ok || len(v) == 0 {
			return "", ok
		}
		return v[0], true
	})
}

// isPlainScheme reports whether s is safe to quote in a message: a URL scheme
// of letters, digits, +, - and . only, so it cannot hold a password.
func isPlainScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func checkConninfo(s string) error {
	pairs, err := parseConninfo(s)
	if err != nil {
		return err
	}
	get := func(key string) (string, bool) {
		for _, p := range pairs {
			if p.key == key {
				return p.value, true
			}
		}
		return "", false
	}
	if host, _ := get("host"); strings.TrimSpace(host) == "" {
		return reason(ErrInvalid, "key=value settings have no host: add host=<hostname>, or use a URL such as %s", connExample)
	}
	if port, ok := get("port"); ok {
		if err := checkPort(port); err != nil {
			return err
		}
	}
	return checkConnParams(get)
}

// checkPort accepts "" (the default, 5432) or a port number.
func checkPort(port string) error {
	if port == "" {
		return nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		if isPlainScheme(port) { // short and harmless: quote it
			return reason(ErrInvalid, "port %q is not a port number: use 1 to 65535, usually 5432", port)
		}
		return reason(ErrInvalid, "port is not a port number: use 1 to 65535, usually 5432")
	}
	return nil
}

// checkConnParams checks the parameters both forms share.
func checkConnParams(get func(key string) (string, bool)) error {
	if _, ok := get("replication"); ok {
		return reason(ErrUnsupported, "the replication parameter is not supported: remove it (Galvani opens its replication and query connections itself)")
	}
	switch mode, _ := get("sslmode"); mode {
	case "", "disable", "allow", "prefer", "require":
		return nil
	case "verify-ca", "verify-full":
		return reason(ErrUnsupported, "sslmode=%s is not supported (Electric rejects it too): use sslmode=require", mode)
	default:
		if isPlainScheme(mode) {
			return reason(ErrInvalid, "sslmode=%q is not valid: use disable, allow, prefer or require", mode)
		}
		return reason(ErrInvalid, "sslmode is not valid: use disable, allow, prefer or require")
	}
}

// conninfoPair is one key=value setting.
type conninfoPair struct{ key, value string }

// parseConninfo splits libpq key=value settings. A value is either a run of
// non-space bytes or single-quoted; in both, a backslash escapes the next
// byte. Errors give positions, never text, since any word might be part of a
// password.
func parseConninfo(s string) ([]conninfoPair, error) {
	var pairs []conninfoPair
	i := 0
	skipSpace := func() {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
	}
	for {
		skipSpace()
		if i >= len(s) {
			return pairs, nil
		}
		start := i
		for i < len(s) && s[i] != '=' && !isSpace(s[i]) {
			i++
		}
		key := s[start:i]
		skipSpace()
		if key == "" || i >= len(s) || s[i] != '=' {
			return nil, reason(ErrInvalid, "key=value settings: setting %d is not key=value: quote values that contain spaces, as in password='a b'", len(pairs)+1)
		}
		i++ // '='
		skipSpace()
		var v strings.Builder
		if i < len(s) && s[i] == '\'' {
			i++
			closed := false
			for i < len(s) && !closed {
				switch c := s[i]; c {
				case '\\':
					i++
					if i < len(s) {
						v.WriteByte(s[i])
					}
				case '\'':
					closed = true
				default:
					v.WriteByte(c)
				}
				i++
			}
			if !closed {
				return nil, reason(ErrInvalid, "key=value settings: the quoted value of setting %d has no closing quote: end it with ', and write a quote inside it as \\'", len(pairs)+1)
			}
		} else {
			for i < len(s) && !isSpace(s[i]) {
				if s[i] == '\\' {
					i++
					if i >= len(s) {
						break
					}
				}
				v.WriteByte(s[i])
				i++
			}
		}
		pairs = append(pairs, conninfoPair{key: key, value: v.String()})
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// redactConnString returns s with its password replaced by "xxxxx", or ""
// when s cannot be parsed well enough to find the password.
func redactConnString(s string) string {
	switch {
	case isURLForm(s):
		u, err := url.Parse(s)
		if err != nil || strings.Contains(s, "#") || u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return "" // the password could be anywhere
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return ""
		}
		if q.Has("password") {
			q.Set("password", redacted)
			u.RawQuery = q.Encode()
		}
		return u.String()
	case strings.Contains(s, "="):
		pairs, err := parseConninfo(s)
		if err != nil {
			return ""
		}
		var b strings.Builder
		for i, p := range pairs {
			if i > 0 {
				b.WriteByte(' ')
			}
			v := p.value
			if p.key == "password" {
				v = redacted
			}
			b.WriteString(p.key)
			b.WriteByte('=')
			b.WriteString(quoteConninfo(v))
		}
		return b.String()
	}
	return ""
}

// quoteConninfo quotes v for key=value settings when it needs quoting.
func quoteConninfo(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\r\n\f\v'\\") {
		return v
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(v) + "'"
}
