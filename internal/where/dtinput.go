package where

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errNotDeterministic marks date/time inputs whose value depends on the
// current time; a where clause may not use them.
type nondeterministicInput struct{ text string }

func (e *nondeterministicInput) Error() string {
	return "the date/time value " + quoteForMessage(e.text) + " depends on the current time and is not allowed"
}

// dtParsed is a decoded date/time string.
type dtParsed struct {
	special  string // "infinity", "-infinity", "epoch", "allballs"
	hasDate  bool
	year     int // astronomical
	mon, day int
	hasTime  bool
	hour     int
	min      int
	sec      int
	usec     int64
	hasTZ    bool
	tzOffset int    // seconds east of UTC, when tzName is empty
	tzName   string // a zone name to resolve at the wall time
}

func dtError(typ, s string) error {
	return invalidInput(typ, s)
}

// parseDateTime decodes the ISO-8601-style inputs Galvani accepts for
// date, time, timestamp and timestamptz: "YYYY-MM-DD", an optional time
// "HH:MM[:SS[.frac]]" after a space or T, an optional zone (Z, ±HH[:MM[:SS]],
// ±HHMM, UTC, GMT or a Region/City name) and an optional BC/AD. typ is the
// SQL type name for messages.
func parseDateTime(s, typ string) (dtParsed, error) {
	var p dtParsed
	t := strings.ToLower(trimCSpace(s))
	switch t {
	case "infinity", "-infinity", "epoch", "allballs":
		p.special = t
		return p, nil
	case "now", "today", "tomorrow", "yesterday":
		return p, &nondeterministicInput{text: s}
	}
	orig := trimCSpace(s)
	i := 0
	n := len(orig)
	digits := func() (int, int, bool) { // value, count
		start := i
		v := 0
		for i < n && orig[i] >= '0' && orig[i] <= '9' {
			if i-start > 9 {
				return 0, 0, false
			}
			v = v*10 + int(orig[i]-'0')
			i++
		}
		return v, i - start, i > start
	}
	bad := func() (dtParsed, error) { return dtParsed{}, dtError(typ, s) }
	// Date part?
	save := i
	if y, _, ok := digits(); ok && i < n && orig[i] == '-' {
		i++
		m, mc, ok2 := digits()
		if !ok2 || mc > 2 || i >= n || orig[i] != '-' {
			return bad()
		}
		i++
		d, dc, ok3 := digits()
		if !ok3 || dc > 2 {
			return bad()
		}
		p.hasDate, p.year, p.mon, p.day = true, y, m, d
	} else {
		i = save
	}
	// Separator.
	if p.hasDate && i < n {
		if orig[i] == 'T' || orig[i] == 't' {
			i++
			if i >= n || orig[i] < '0' || orig[i] > '9' {
				return bad() // T must introduce a time
			}
		} else if isCSpace(orig[i]) {
			for i < n && isCSpace(orig[i]) {
				i++
			}
		} else if orig[i] != '+' && orig[i] != '-' {
			return bad()
		}
	}
	// Time part?
	save = i
	if h, hc, ok := digits(); ok && hc <= 2 && i < n && orig[i] == ':' {
		i++
		m, mc, ok2 := digits()
		if !ok2 || mc != 2 {
			return bad()
		}
		p.hasTime, p.hour, p.min = true, h, m
		if i < n && orig[i] == ':' {
			i++
			sc, scc, ok3 := digits()
			if !ok3 || scc != 2 {
				return bad()
			}
			p.sec = sc
			if i < n && orig[i] == '.' {
				i++
				start := i
				for i < n && orig[i] >= '0' && orig[i] <= '9' {
					i++
				}
				frac := orig[start:i]
				if frac != "" {
					// Round to microseconds, half to even as rint does
					// on the parsed double.
					f, err := strconv.ParseFloat("0."+frac, 64)
					if err != nil {
						return bad()
					}
					p.usec = int64(math.RoundToEven(f * 1e6))
				}
			}
		}
	} else {
		i = save
	}
	if !p.hasDate && !p.hasTime {
		return bad()
	}
	// Zone.
	for i < n && isCSpace(orig[i]) {
		i++
	}
	if i < n && (orig[i] == '+' || orig[i] == '-') {
		if orig[i] == '-' && !p.hasTime && i > 0 && !isCSpace(orig[i-1]) {
			return bad() // Postgres reads this as part of the date
		}
		sign := 1
		if orig[i] == '-' {
			sign = -1
		}
		i++
		start := i
		for i < n && orig[i] >= '0' && orig[i] <= '9' {
			i++
		}
		hd := orig[start:i]
		var hh, mm, ss int
		switch len(hd) {
		case 1, 2:
			hh, _ = strconv.Atoi(hd)
			if i < n && orig[i] == ':' {
				i++
				st := i
				for i < n && orig[i] >= '0' && orig[i] <= '9' {
					i++
				}
				if i-st != 2 {
					return bad()
				}
				mm, _ = strconv.Atoi(orig[st:i])
				if i < n && orig[i] == ':' {
					i++
					st = i
					for i < n && orig[i] >= '0' && orig[i] <= '9' {
						i++
					}
					if i-st != 2 {
						return bad()
					}
					ss, _ = strconv.Atoi(orig[st:i])
				}
			}
		case 4:
			hh, _ = strconv.Atoi(hd[:2])
			mm, _ = strconv.Atoi(hd[2:])
		case 6:
			hh, _ = strconv.Atoi(hd[:2])
			mm, _ = strconv.Atoi(hd[2:4])
			ss, _ = strconv.Atoi(hd[4:])
		default:
			return bad()
		}
		if hh > 15 || mm > 59 || ss > 59 {
			return dtParsed{}, evalErrorf("time zone displacement out of range: %s", quoteForMessage(s))
		}
		p.hasTZ = true
		p.tzOffset = sign * (hh*3600 + mm*60 + ss)
	} else if i < n && isZoneStart(orig[i]) {
		start := i
		for i < n && !isCSpace(orig[i]) {
			i++
		}
		word := orig[start:i]
		lw := strings.ToLower(word)
		switch {
		case lw == "bc" || lw == "ad":
			i = start // handled below
		case lw == "z" || lw == "utc" || lw == "gmt" || lw == "zulu" || lw == "ut":
			p.hasTZ = true
		case strings.Contains(word, "/"):
			p.hasTZ = true
			p.tzName = word
		default:
			return bad()
		}
	}
	for i < n && isCSpace(orig[i]) {
		i++
	}
	if i < n {
		word := strings.ToLower(orig[i:])
		switch word {
		case "bc":
			if !p.hasDate || p.year <= 0 {
				return bad()
			}
			p.year = -(p.year - 1)
			i = n
		case "ad":
			i = n
		default:
			return bad()
		}
	}
	if i != n {
		return bad()
	}
	if p.hasDate {
		if p.year == 0 && p.mon != 0 {
			return dtParsed{}, evalErrorf("date/time field value out of range: %s", quoteForMessage(s))
		}
		if p.mon < 1 || p.mon > 12 || p.day < 1 || p.day > monthDays(p.year, p.mon) {
			return dtParsed{}, evalErrorf("date/time field value out of range: %s", quoteForMessage(s))
		}
	}
	if p.hasTime {
		if p.hour > 24 || p.min > 59 || p.sec > 60 ||
			(p.hour == 24 && (p.min != 0 || p.sec != 0 || p.usec != 0)) {
			return dtParsed{}, evalErrorf("date/time field value out of range: %s", quoteForMessage(s))
		}
	}
	return p, nil
}

func isZoneStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (p dtParsed) timeUsecs() int64 {
	return ((int64(p.hour)*60+int64(p.min))*60+int64(p.sec))*usecsPerSec + p.usec
}

// parseDate is date_in.
func parseDate(s string) (int64, error) {
	p, err := parseDateTime(s, "date")
	if err != nil {
		return 0, err
	}
	switch p.special {
	case "infinity":
		return dateNoEnd, nil
	case "-infinity":
		return dateNoBegin, nil
	case "epoch":
		return unixEpochJDate - postgresEpochJDate, nil
	case "allballs":
		return 0, invalidInput("date", s)
	}
	if !p.hasDate {
		return 0, invalidInput("date", s)
	}
	if !validJulian(p.year, p.mon) {
		return 0, evalErrorf("date out of range: %s", quoteForMessage(s))
	}
	d := int64(date2j(p.year, p.mon, p.day) - postgresEpochJDate)
	if !validDate(d) {
		return 0, evalErrorf("date out of range: %s", quoteForMessage(s))
	}
	return d, nil
}

// parseTime is time_in; a date or zone in the input is ignored.
func parseTime(s string) (int64, error) {
	p, err := parseDateTime(s, "time without time zone")
	if err != nil {
		return 0, err
	}
	if p.special == "allballs" {
		return 0, nil
	}
	if p.special != "" || !p.hasTime || (p.tzName != "" && !p.hasDate) {
		return 0, invalidInput("time without time zone", s)
	}
	t := p.timeUsecs()
	if t > usecsPerDay {
		return 0, evalErrorf("date/time field value out of range: %s", quoteForMessage(s))
	}
	return t, nil
}

// parseTimestamp is timestamp_in (tz false; a zone is ignored) and
// timestamptz_in (tz true; no zone means UTC).
func parseTimestamp(s string, tz bool) (int64, error) {
	typ := "timestamp without time zone"
	if tz {
		typ = "timestamp with time zone"
	}
	p, err := parseDateTime(s, typ)
	if err != nil {
		return 0, err
	}
	switch p.special {
	case "infinity":
		return tsNoEnd, nil
	case "-infinity":
		return tsNoBegin, nil
	case "epoch":
		return int64(unixEpochJDate-postgresEpochJDate) * usecsPerDay, nil
	case "allballs":
		return 0, invalidInput(typ, s)
	}
	if !p.hasDate {
		return 0, invalidInput(typ, s)
	}
	r := tm{year: p.year, mon: p.mon, mday: p.day, hour: p.hour, min: p.min, sec: p.sec, usec: p.usec}
	extra := int64(0)
	if r.hour == 24 {
		r.hour = 0
		extra = usecsPerDay
	}
	if r.sec == 60 {
		r.sec = 0
		extra += usecsPerMin
	}
	v, err := tm2timestamp(r)
	if err != nil {
		return 0, evalErrorf("timestamp out of range: %s", quoteForMessage(s))
	}
	v += extra
	if tz && p.hasTZ {
		off := int64(p.tzOffset)
		if p.tzName != "" {
			loc, err := loadZone(p.tzName)
			if err != nil {
				return 0, err
			}
			off = zoneOffsetAtLocal(loc, v)
		}
		v -= off * usecsPerSec
	}
	if !validTimestamp(v) {
		return 0, evalErrorf("timestamp out of range: %s", quoteForMessage(s))
	}
	return v, nil
}

// loadZone resolves a time zone name. Only UTC/GMT and IANA Region/City
// names (exact case) are supported: abbreviations and POSIX zone strings
// would need Postgres' own tables.
func loadZone(name string) (*time.Location, error) {
	switch strings.ToLower(name) {
	case "utc", "gmt", "z", "zulu", "ut", "etc/utc", "etc/gmt":
		return time.UTC, nil
	}
	if !zoneName.MatchString(name) {
		return nil, evalErrorf("time zone %s not recognized", quoteForMessage(name))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, evalErrorf("time zone %s not recognized", quoteForMessage(name))
	}
	return loc, nil
}

// zoneName matches the IANA Region/City names Galvani resolves.
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)+$`)

// postgresEpochUnix is 2000-01-01 in Unix seconds.
const postgresEpochUnix = int64(946684800)

// zoneOffsetAtLocal returns the UTC offset (seconds east) in loc for the
// local wall time t (microseconds from 2000-01-01 as if UTC).
func zoneOffsetAtLocal(loc *time.Location, t int64) int64 {
	secs := floorDiv64(t, usecsPerSec) + postgresEpochUnix
	u := time.Unix(secs, 0).UTC()
	l := time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), 0, loc)
	_, off := l.Zone()
	return int64(off)
}

// zoneOffsetAtUTC returns loc's offset at the instant t.
func zoneOffsetAtUTC(loc *time.Location, t int64) int64 {
	secs := floorDiv64(t, usecsPerSec) + postgresEpochUnix
	_, off := time.Unix(secs, 0).In(loc).Zone()
	return int64(off)
}

func floorDiv64(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
