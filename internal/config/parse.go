package config

import (
	"errors"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxFractionDigits bounds the digits kept after a decimal point, so that
// fraction × unit never overflows an int64; later digits are dropped.
const maxFractionDigits = 9

// errTooLarge is returned by parseScaled when the result overflows an int64.
var errTooLarge = errors.New("too large")

// parseDuration parses Electric's human-readable duration: a bare number of
// milliseconds or a number with unit ms, msec, s, sec, m or min, optionally
// separated by spaces ("20000", "20s", "1.5 min"). The result is truncated to
// whole milliseconds, as Electric does. Zero is accepted; callers that need a
// positive duration check for it.
func parseDuration(s string) (time.Duration, error) {
	ms, err := parseScaled(s, durationUnit)
	switch {
	case errors.Is(err, errTooLarge), err == nil && ms > math.MaxInt64/int64(time.Millisecond):
		return 0, reason(ErrOutOfRange, "%q is too long a duration: use at most a few years", s)
	case err != nil:
		return 0, reason(ErrInvalid, "%q is not a duration: use milliseconds (20000) or a number with ms, s, sec, m or min (20s)", s)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// durationUnit returns the number of milliseconds in unit.
func durationUnit(unit string) (int64, bool) {
	switch unit {
	case "", "ms", "msec":
		return 1, true
	case "s", "sec":
		return 1000, true
	case "m", "min":
		return 60 * 1000, true
	}
	return 0, false
}

// parseSize parses Electric's human-readable size: a bare number of bytes or
// a number with unit KB, KiB, MB, MiB, GB or GiB, optionally separated by
// spaces ("10485760", "10MiB", "1.5 GB"). KB is 1000 bytes, KiB 1024. The
// result is truncated to whole bytes. Zero is accepted; callers that need a
// positive size check for it.
func parseSize(s string) (int64, error) {
	n, err := parseScaled(s, sizeUnit)
	switch {
	case errors.Is(err, errTooLarge):
		return 0, reason(ErrOutOfRange, "%q is too large a size: use at most 8 EiB", s)
	case err != nil:
		return 0, reason(ErrInvalid, "%q is not a size: use bytes (10485760) or a number with KB, KiB, MB, MiB, GB or GiB (10MiB)", s)
	}
	return n, nil
}

// sizeUnit returns the number of bytes in unit.
func sizeUnit(unit string) (int64, bool) {
	switch unit {
	case "":
		return 1, true
	case "KB":
		return 1000, true
	case "KiB":
		return 1 << 10, true
	case "MB":
		return 1000 * 1000, true
	case "MiB":
		return 1 << 20, true
	case "GB":
		return 1000 * 1000 * 1000, true
	case "GiB":
		return 1 << 30, true
	}
	return 0, false
}

// parseScaled parses digits, an optional fraction and an optional unit, and
// returns number × unit(suffix) truncated to an integer, computed exactly in
// integers. Every unit must be at most 1<<31 so the fraction cannot overflow.
func parseScaled(s string, unit func(string) (int64, bool)) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	whole := s[:i]
	if whole == "" {
		return 0, ErrInvalid
	}
	var frac string
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		frac = s[i+1 : j]
		if frac == "" {
			return 0, ErrInvalid
		}
		i = j
	}
	mult, ok := unit(strings.TrimLeft(s[i:], " \t"))
	if !ok {
		return 0, ErrInvalid
	}

	var fracPart int64
	if frac != "" {
		frac = frac[:min(len(frac), maxFractionDigits)]
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, ErrInvalid
		}
		scale := int64(1)
		for range len(frac) {
			scale *= 10
		}
		fracPart = f * mult / scale // f < 1e9 and mult <= 1<<31: no overflow
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, errTooLarge // digits only, so the only failure is range
	}
	if n > (math.MaxInt64-fracPart)/mult {
		return 0, errTooLarge
	}
	return n*mult + fracPart, nil
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// parseBool accepts true, false, 1 and 0, in any case. Electric reads any
// other non-empty value as true; Galvani rejects it instead, so that "no" or
// "off" cannot switch a feature on.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, reason(ErrInvalid, "%q is not a boolean: use true or false", s)
}

// parseInt parses a whole decimal number; example appears in the message.
func parseInt(s, example string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, reason(ErrOutOfRange, "%q is too large: use a number such as %s", s, example)
		}
		return 0, reason(ErrInvalid, "%q is not a whole number: use digits only, such as %s", s, example)
	}
	return n, nil
}

// parseLogLevel maps Electric's log levels to slog levels. Electric documents
// debug, info, warning and error, and also accepts the syslog names notice
// (logged here as info) and critical, alert and emergency (logged as error).
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "notice":
		return slog.LevelInfo, nil
	case "warning", "warn":
		return slog.LevelWarn, nil
	case "error", "critical", "alert", "emergency":
		return slog.LevelError, nil
	}
	return 0, reason(ErrInvalid, "%q is not a log level: use debug, info, warning or error", s)
}

// asciiLower lowercases A-Z only, as Postgres does when it folds an unquoted
// identifier; other bytes pass through (and are then rejected by checkStreamID).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// maxStreamIDLen keeps both electric_slot_<id> and the longer
// electric_publication_<id> within Postgres's 63-byte name limit.
const maxStreamIDLen = maxNameLen - len(publicationPrefix)

// checkStreamID reports whether id is usable in slot and publication names:
// a lowercase unquoted identifier of at most maxStreamIDLen bytes. Unlike a
// general identifier it may not contain $, which slot names reject.
func checkStreamID(id string) error {
	const how = "use lowercase letters, digits and underscores, not starting with a digit"
	if id == "" {
		return reason(ErrInvalid, "empty: %s, such as %s", how, DefaultReplicationStreamID)
	}
	for i := range len(id) {
		c := id[i]
		ok := c == '_' || 'a' <= c && c <= 'z' || i > 0 && isDigit(c)
		if !ok {
			return reason(ErrInvalid, "%q is not a plain identifier: %s", id, how)
		}
	}
	if len(id) > maxStreamIDLen {
		return reason(ErrOutOfRange, "%q is %d characters long: use at most %d, so that %s<id> fits Postgres's %d-character name limit",
			id, len(id), maxStreamIDLen, publicationPrefix, maxNameLen)
	}
	return nil
}
