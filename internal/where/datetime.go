package where

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Dates, times and timestamps are kept as Postgres keeps them: a date is a
// day number counted from 2000-01-01, a timestamp (with or without time
// zone) microseconds from 2000-01-01 00:00:00 (UTC for timestamptz), a
// time microseconds since midnight; ±infinity are the extreme values.
// The session time zone is UTC (Galvani's connections set TimeZone=UTC),
// so timestamptz and timestamp share their arithmetic.

const (
	usecsPerSec  = int64(1_000_000)
	usecsPerMin  = 60 * usecsPerSec
	usecsPerHour = 60 * usecsPerMin
	usecsPerDay  = 24 * usecsPerHour

	postgresEpochJDate = 2451545
	unixEpochJDate     = 2440588

	dateNoBegin = math.MinInt32
	dateNoEnd   = math.MaxInt32
	tsNoBegin   = math.MinInt64
	tsNoEnd     = math.MaxInt64

	// Valid ranges (datatype/timestamp.h).
	minTimestamp  = int64(-211813488000000000)
	endTimestamp  = int64(9223371331200000000)
	dateEndJulian = 2147483494
	daysPerMonth  = 30
	secsPerDay    = 86400
)

var (
	errTimestampRange = evalErrorf("timestamp out of range")
	errDateRange      = evalErrorf("date out of range")
	errIntervalRange  = evalErrorf("interval out of range")
)

type interval struct {
	months int32
	days   int32
	usecs  int64
}

func date2j(y, m, d int) int {
	if m > 2 {
		m++
		y += 4800
	} else {
		m += 13
		y += 4799
	}
	century := y / 100
	j := y*365 - 32167
	j += y/4 - century + century/4
	j += 7834*m/256 + d
	return j
}

func j2date(jd int) (y, m, d int) {
	julian := uint32(jd)
	julian += 32044
	quad := julian / 146097
	extra := (julian-quad*146097)*4 + 3
	julian += 60 + quad*3 + extra/146097
	quad = julian / 1461
	julian -= quad * 1461
	yy := int(julian * 4 / 1461)
	if yy != 0 {
		julian = (julian+305)%365 + 123
	} else {
		julian = (julian+306)%366 + 123
	}
	yy += int(quad) * 4
	y = yy - 4800
	q := julian * 2141 / 65536
	d = int(julian - 7834*q/256)
	m = int((q+10)%12 + 1)
	return
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var daysInMonth = [2][12]int{
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
}

func monthDays(y, m int) int {
	if isLeap(y) {
		return daysInMonth[1][m-1]
	}
	return daysInMonth[0][m-1]
}

func validJulian(y, m int) bool {
	return (y > -4713 || (y == -4713 && m >= 11)) && (y < 5874898 || (y == 5874898 && m < 6))
}

func validDate(d int64) bool {
	return -postgresEpochJDate <= d && d < dateEndJulian-postgresEpochJDate
}

func validTimestamp(t int64) bool { return minTimestamp <= t && t < endTimestamp }

func tsFinite(t int64) bool   { return t != tsNoBegin && t != tsNoEnd }
func dateFinite(d int64) bool { return d != dateNoBegin && d != dateNoEnd }

// tm is a broken-down timestamp; year is astronomical (0 = 1 BC).
type tm struct {
	year, mon, mday int
	hour, min, sec  int
	usec            int64
}

func timestamp2tm(t int64) tm {
	date := t / usecsPerDay
	tim := t % usecsPerDay
	if tim < 0 {
		tim += usecsPerDay
		date--
	}
	y, m, d := j2date(int(date) + postgresEpochJDate)
	var r tm
	r.year, r.mon, r.mday = y, m, d
	r.hour = int(tim / usecsPerHour)
	tim -= int64(r.hour) * usecsPerHour
	r.min = int(tim / usecsPerMin)
	tim -= int64(r.min) * usecsPerMin
	r.sec = int(tim / usecsPerSec)
	r.usec = tim - int64(r.sec)*usecsPerSec
	return r
}

func tm2timestamp(r tm) (int64, error) {
	if !validJulian(r.year, r.mon) {
		return 0, errTimestampRange
	}
	date := int64(date2j(r.year, r.mon, r.mday) - postgresEpochJDate)
	tim := ((int64(r.hour)*60+int64(r.min))*60+int64(r.sec))*usecsPerSec + r.usec
	res := date * usecsPerDay
	if res/usecsPerDay != date {
		return 0, errTimestampRange
	}
	res2 := res + tim
	if (res2 < 0 && date > 0) || (res2 > 0 && date < -1) {
		return 0, errTimestampRange
	}
	if !validTimestamp(res2) {
		return 0, errTimestampRange
	}
	return res2, nil
}

// ---- output ----

func appendYear(b []byte, y int) ([]byte, bool) {
	bc := y <= 0
	if bc {
		y = -(y - 1)
	}
	s := strconv.Itoa(y)
	for i := len(s); i < 4; i++ {
		b = append(b, '0')
	}
	return append(b, s...), bc
}

func append2(b []byte, v int) []byte {
	if v < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(v), 10)
}

// appendFrac appends ".ffffff" with trailing zeros trimmed (nothing for 0).
func appendFrac(b []byte, usec int64) []byte {
	if usec == 0 {
		return b
	}
	s := strconv.FormatInt(usec, 10)
	s = strings.Repeat("0", 6-len(s)) + s
	s = strings.TrimRight(s, "0")
	b = append(b, '.')
	return append(b, s...)
}

func formatDate(d int64) string {
	switch d {
	case dateNoBegin:
		return "-infinity"
	case dateNoEnd:
		return "infinity"
	}
	y, m, dd := j2date(int(d) + postgresEpochJDate)
	b, bc := appendYear(nil, y)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, dd)
	if bc {
		b = append(b, " BC"...)
	}
	return string(b)
}

func formatTimestamp(t int64, tz bool) string {
	switch t {
	case tsNoBegin:
		return "-infinity"
	case tsNoEnd:
		return "infinity"
	}
	r := timestamp2tm(t)
	b, bc := appendYear(nil, r.year)
	b = append(b, '-')
	b = append2(b, r.mon)
	b = append(b, '-')
	b = append2(b, r.mday)
	b = append(b, ' ')
	b = append2(b, r.hour)
	b = append(b, ':')
	b = append2(b, r.min)
	b = append(b, ':')
	b = append2(b, r.sec)
	b = appendFrac(b, r.usec)
	if tz {
		b = append(b, "+00"...)
	}
	if bc {
		b = append(b, " BC"...)
	}
	return string(b)
}

func formatTime(t int64) string {
	h := t / usecsPerHour
	t -= h * usecsPerHour
	m := t / usecsPerMin
	t -= m * usecsPerMin
	s := t / usecsPerSec
	t -= s * usecsPerSec
	b := append2(nil, int(h))
	b = append(b, ':')
	b = append2(b, int(m))
	b = append(b, ':')
	b = append2(b, int(s))
	b = appendFrac(b, t)
	return string(b)
}

// formatInterval is interval_out with IntervalStyle iso_8601.
func formatInterval(iv interval) string {
	year := iv.months / 12
	mon := iv.months % 12
	mday := iv.days
	t := iv.usecs
	hour := t / usecsPerHour
	t -= hour * usecsPerHour
	min := t / usecsPerMin
	t -= min * usecsPerMin
	sec := t / usecsPerSec
	fsec := t - sec*usecsPerSec
	if year == 0 && mon == 0 && mday == 0 && hour == 0 && min == 0 && sec == 0 && fsec == 0 {
		return "PT0S"
	}
	b := []byte{'P'}
	part := func(v int64, c byte) {
		if v != 0 {
			b = strconv.AppendInt(b, v, 10)
			b = append(b, c)
		}
	}
	part(int64(year), 'Y')
	part(int64(mon), 'M')
	part(int64(mday), 'D')
	if hour != 0 || min != 0 || sec != 0 || fsec != 0 {
		b = append(b, 'T')
	}
	part(hour, 'H')
	part(min, 'M')
	if sec != 0 || fsec != 0 {
		if sec < 0 || fsec < 0 {
			b = append(b, '-')
		}
		if sec < 0 {
			sec = -sec
		}
		if fsec < 0 {
			fsec = -fsec
		}
		b = strconv.AppendInt(b, sec, 10)
		b = appendFrac(b, fsec)
		b = append(b, 'S')
	}
	return string(b)
}

// ---- input ----

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
	case "infinity", "+infinity", "-infinity", "epoch", "allballs":
		p.special = strings.TrimPrefix(t, "+")
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
	if p.special != "" || !p.hasTime {
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
	if !strings.Contains(name, "/") {
		return nil, evalErrorf("time zone %s not recognized", quoteForMessage(name))
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, evalErrorf("time zone %s not recognized", quoteForMessage(name))
	}
	return loc, nil
}

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

// parseInterval is interval_in for the ISO 8601 designator format
// (what Galvani's connections print) and the Postgres format ("1 day 02:00",
// "3 hours ago", "@ 1 year", "1-2").
func parseInterval(s string) (interval, error) {
	t := trimCSpace(s)
	if t == "" {
		return interval{}, invalidInput("interval", s)
	}
	if t[0] == 'P' || t[0] == 'p' {
		return parseISOInterval(t, s)
	}
	return parsePGInterval(t, s)
}

// intervalAcc accumulates interval fields with fractions cascading down
// as Postgres' AdjustFract* functions do.
type intervalAcc struct {
	months, days int64
	usecs        float64 // whole microseconds accumulated exactly below 2^53
	usecInt      int64
}

func (a *intervalAcc) addUsec(v float64) {
	a.usecInt += int64(math.RoundToEven(v))
}

func (a *intervalAcc) addSecs(v float64) { a.addUsec(v * 1e6) }

func (a *intervalAcc) addDays(v float64) {
	whole := math.Trunc(v)
	a.days += int64(whole)
	frac := v - whole
	if frac != 0 {
		a.addSecs(frac * secsPerDay)
	}
}

func (a *intervalAcc) addMonths(v float64) {
	whole := math.Trunc(v)
	a.months += int64(whole)
	frac := v - whole
	if frac != 0 {
		a.addDays(frac * daysPerMonth)
	}
}

func (a *intervalAcc) result(s string) (interval, error) {
	if a.months > math.MaxInt32 || a.months < math.MinInt32 || a.days > math.MaxInt32 || a.days < math.MinInt32 {
		return interval{}, evalErrorf("interval field value out of range: %s", quoteForMessage(s))
	}
	return interval{months: int32(a.months), days: int32(a.days), usecs: a.usecInt}, nil
}

func parseISOInterval(t, orig string) (interval, error) {
	bad := func() (interval, error) { return interval{}, invalidInput("interval", orig) }
	var a intervalAcc
	i := 1
	inTime := false
	if i >= len(t) {
		return bad()
	}
	for i < len(t) {
		if t[i] == 'T' || t[i] == 't' {
			if inTime {
				return bad()
			}
			inTime = true
			i++
			if i >= len(t) {
				return bad()
			}
			continue
		}
		start := i
		if t[i] == '+' || t[i] == '-' {
			i++
		}
		for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
			i++
		}
		num := t[start:i]
		if i >= len(t) || num == "" || num == "-" || num == "+" {
			return bad()
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return bad()
		}
		unit := t[i] | 0x20
		i++
		if !inTime {
			switch unit {
			case 'y':
				a.addMonths(v * 12)
			case 'm':
				a.addMonths(v)
			case 'w':
				a.addDays(v * 7)
			case 'd':
				a.addDays(v)
			default:
				return bad()
			}
		} else {
			switch unit {
			case 'h':
				a.addSecs(v * 3600)
			case 'm':
				a.addSecs(v * 60)
			case 's':
				a.addSecs(v)
			default:
				return bad()
			}
		}
	}
	return a.result(orig)
}

var intervalUnits = map[string]string{
	"microsecond": "us", "microseconds": "us", "us": "us", "usec": "us", "usecs": "us", "microsecon": "us",
	"millisecond": "ms", "milliseconds": "ms", "ms": "ms", "msec": "ms", "msecs": "ms", "millisecon": "ms",
	"second": "s", "seconds": "s", "s": "s", "sec": "s", "secs": "s",
	"minute": "min", "minutes": "min", "m": "min", "min": "min", "mins": "min",
	"hour": "h", "hours": "h", "h": "h", "hr": "h", "hrs": "h",
	"day": "d", "days": "d", "d": "d",
	"week": "w", "weeks": "w", "w": "w",
	"month": "mon", "months": "mon", "mon": "mon", "mons": "mon",
	"year": "y", "years": "y", "y": "y", "yr": "y", "yrs": "y",
	"decade": "dec", "decades": "dec", "dec": "dec", "decs": "dec",
	"century": "c", "centuries": "c", "c": "c", "cent": "c",
	"millennium": "mil", "millennia": "mil", "mil": "mil", "mils": "mil", "millenniums": "mil",
}

func parsePGInterval(t, orig string) (interval, error) {
	bad := func() (interval, error) { return interval{}, invalidInput("interval", orig) }
	fields := strings.FieldsFunc(t, func(r rune) bool { return r < 128 && isCSpace(byte(r)) })
	if len(fields) > 0 && fields[0] == "@" {
		fields = fields[1:]
	} else if len(fields) > 0 && strings.HasPrefix(fields[0], "@") {
		fields[0] = fields[0][1:]
	}
	var a intervalAcc
	ago := false
	seen := map[string]bool{}
	sawAny := false
	for k := 0; k < len(fields); k++ {
		f := fields[k]
		lf := strings.ToLower(f)
		if lf == "ago" {
			if k != len(fields)-1 || !sawAny {
				return bad()
			}
			ago = true
			continue
		}
		if strings.Contains(f, ":") {
			if seen["time"] {
				return bad()
			}
			seen["time"] = true
			us, ok := parseIntervalTime(f)
			if !ok {
				return bad()
			}
			a.usecInt += us
			sawAny = true
			continue
		}
		// SQL-standard year-month "Y-M".
		if j := strings.IndexByte(f[1:], '-'); j >= 0 && !strings.ContainsAny(f, "eE.") && isDigits(f[j+2:]) {
			j++
			y, err1 := strconv.Atoi(f[:j])
			m, err2 := strconv.Atoi(f[j+1:])
			if err1 != nil || err2 != nil || m > 11 || seen["ym"] {
				return bad()
			}
			seen["ym"] = true
			mon := int64(y)*12 + int64(m)
			if y < 0 || strings.HasPrefix(f, "-") {
				mon = int64(y)*12 - int64(m)
			}
			a.months += mon
			sawAny = true
			continue
		}
		// number, possibly followed directly by a unit ("5min").
		j := 0
		if j < len(f) && (f[j] == '+' || f[j] == '-') {
			j++
		}
		for j < len(f) && (f[j] >= '0' && f[j] <= '9' || f[j] == '.') {
			j++
		}
		if j == 0 || (j == 1 && (f[0] == '+' || f[0] == '-')) {
			return bad()
		}
		v, err := strconv.ParseFloat(f[:j], 64)
		if err != nil {
			return bad()
		}
		unitWord := strings.ToLower(f[j:])
		if unitWord == "" && k+1 < len(fields) {
			if _, ok := intervalUnits[strings.ToLower(fields[k+1])]; ok {
				unitWord = strings.ToLower(fields[k+1])
				k++
			}
		}
		unit := "s"
		if unitWord != "" {
			u, ok := intervalUnits[unitWord]
			if !ok {
				return bad()
			}
			unit = u
		}
		if seen[unit] {
			return bad()
		}
		seen[unit] = true
		sawAny = true
		switch unit {
		case "us":
			a.addUsec(v)
		case "ms":
			a.addUsec(v * 1000)
		case "s":
			a.addSecs(v)
		case "min":
			a.addSecs(v * 60)
		case "h":
			a.addSecs(v * 3600)
		case "d":
			a.addDays(v)
		case "w":
			a.addDays(v * 7)
		case "mon":
			a.addMonths(v)
		case "y":
			a.addMonths(v * 12)
		case "dec":
			a.addMonths(v * 120)
		case "c":
			a.addMonths(v * 1200)
		case "mil":
			a.addMonths(v * 12000)
		}
	}
	if !sawAny {
		return bad()
	}
	iv, err := a.result(orig)
	if err != nil {
		return iv, err
	}
	if ago {
		iv = interval{months: -iv.months, days: -iv.days, usecs: -iv.usecs}
	}
	return iv, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseIntervalTime parses [-]H:MM[:SS[.frac]] into microseconds.
func parseIntervalTime(f string) (int64, bool) {
	neg := false
	if f[0] == '-' || f[0] == '+' {
		neg = f[0] == '-'
		f = f[1:]
	}
	parts := strings.Split(f, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	h, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || !isDigits(parts[0]) {
		return 0, false
	}
	m, err := strconv.Atoi(parts[1])
	if err != nil || !isDigits(parts[1]) || m > 59 {
		return 0, false
	}
	us := (h*60 + int64(m)) * usecsPerMin
	if len(parts) == 3 {
		sp := parts[2]
		secs, err := strconv.ParseFloat(sp, 64)
		if err != nil || sp == "" || sp[0] < '0' || sp[0] > '9' || secs >= 60 {
			return 0, false
		}
		us += int64(math.RoundToEven(secs * 1e6))
	}
	if neg {
		us = -us
	}
	return us, true
}

// ---- arithmetic ----

func dateToTimestamp(d int64) (int64, error) {
	switch d {
	case dateNoBegin:
		return tsNoBegin, nil
	case dateNoEnd:
		return tsNoEnd, nil
	}
	// date2timestamp: dates past the timestamp range are errors.
	if d >= (endTimestamp/usecsPerDay) || d < minTimestamp/usecsPerDay {
		return 0, evalErrorf("date out of range for timestamp")
	}
	return d * usecsPerDay, nil
}

// dateToTimestampNoOverflow is date2timestamp_no_overflow, used by the
// cross-type comparisons: out-of-range dates compare as ±infinity.
func dateToTimestampNoOverflow(d int64) int64 {
	switch {
	case d == dateNoBegin:
		return tsNoBegin
	case d == dateNoEnd:
		return tsNoEnd
	case d >= endTimestamp/usecsPerDay:
		return tsNoEnd
	case d < minTimestamp/usecsPerDay:
		return tsNoBegin
	}
	return d * usecsPerDay
}

func timestampToDate(t int64) (int64, error) {
	switch t {
	case tsNoBegin:
		return dateNoBegin, nil
	case tsNoEnd:
		return dateNoEnd, nil
	}
	return floorDiv64(t, usecsPerDay), nil
}

func timestampToTime(t int64) (int64, error) {
	if !tsFinite(t) {
		return 0, nil // Postgres returns NULL; callers check tsFinite first
	}
	r := t % usecsPerDay
	if r < 0 {
		r += usecsPerDay
	}
	return r, nil
}

func datePlusDays(d int64, n int64) (int64, error) {
	if !dateFinite(d) {
		return d, nil
	}
	r := d + n
	if !validDate(r) {
		return 0, errDateRange
	}
	return r, nil
}

func timestampPlusInterval(t int64, iv interval) (int64, error) {
	if !tsFinite(t) {
		return t, nil
	}
	if iv.months != 0 {
		r := timestamp2tm(t)
		r.mon += int(iv.months)
		if r.mon > 12 {
			r.year += (r.mon - 1) / 12
			r.mon = (r.mon-1)%12 + 1
		} else if r.mon < 1 {
			r.year += r.mon/12 - 1
			r.mon = r.mon%12 + 12
		}
		if r.mday > monthDays(r.year, r.mon) {
			r.mday = monthDays(r.year, r.mon)
		}
		var err error
		if t, err = tm2timestamp(r); err != nil {
			return 0, err
		}
	}
	if iv.days != 0 {
		r := timestamp2tm(t)
		j := date2j(r.year, r.mon, r.mday) + int(iv.days)
		r.year, r.mon, r.mday = j2date(j)
		var err error
		if t, err = tm2timestamp(r); err != nil {
			return 0, err
		}
	}
	res := t + iv.usecs
	if (iv.usecs > 0 && res < t) || (iv.usecs < 0 && res > t) || !validTimestamp(res) {
		return 0, errTimestampRange
	}
	return res, nil
}

func intervalNeg(iv interval) (interval, error) {
	if iv.months == math.MinInt32 || iv.days == math.MinInt32 || iv.usecs == math.MinInt64 {
		return interval{}, errIntervalRange
	}
	return interval{-iv.months, -iv.days, -iv.usecs}, nil
}

func intervalAdd(a, b interval) (interval, error) {
	m := int64(a.months) + int64(b.months)
	d := int64(a.days) + int64(b.days)
	u := a.usecs + b.usecs
	if m > math.MaxInt32 || m < math.MinInt32 || d > math.MaxInt32 || d < math.MinInt32 ||
		(b.usecs > 0 && u < a.usecs) || (b.usecs < 0 && u > a.usecs) {
		return interval{}, errIntervalRange
	}
	return interval{int32(m), int32(d), u}, nil
}

func intervalSub(a, b interval) (interval, error) {
	m := int64(a.months) - int64(b.months)
	d := int64(a.days) - int64(b.days)
	u := a.usecs - b.usecs
	if m > math.MaxInt32 || m < math.MinInt32 || d > math.MaxInt32 || d < math.MinInt32 ||
		(b.usecs < 0 && u < a.usecs) || (b.usecs > 0 && u > a.usecs) {
		return interval{}, errIntervalRange
	}
	return interval{int32(m), int32(d), u}, nil
}

// cmpInterval compares intervals as Postgres does: by months×30 days +
// days, as microseconds, in 128-bit arithmetic (so 1 mon = 30 days).
func cmpInterval(a, b interval) int {
	ah, al := intervalLinear(a)
	bh, bl := intervalLinear(b)
	if ah != bh {
		return cmpInt(ah, bh)
	}
	switch {
	case al < bl:
		return -1
	case al > bl:
		return 1
	}
	return 0
}

// intervalLinear returns the interval as a 128-bit count of microseconds
// (high signed, low unsigned).
func intervalLinear(iv interval) (int64, uint64) {
	days := int64(iv.months)*30 + int64(iv.days)
	// days × usecsPerDay fits in 128 bits; compute with big-ish math.
	hi, lo := mul64x64(days, usecsPerDay)
	return add128(hi, lo, iv.usecs)
}

func mul64x64(a, b int64) (int64, uint64) {
	neg := (a < 0) != (b < 0)
	ua, ub := uint64(a), uint64(b)
	if a < 0 {
		ua = uint64(-a)
	}
	if b < 0 {
		ub = uint64(-b)
	}
	hi, lo := mulU64(ua, ub)
	if neg {
		lo = ^lo + 1
		hi = ^hi
		if lo == 0 {
			hi++
		}
	}
	return int64(hi), lo
}

func mulU64(a, b uint64) (uint64, uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t & mask32
	w2 := t >> 32
	w1 += a0 * b1
	hi := a1*b1 + w2 + w1>>32
	lo := a * b
	return hi, lo
}

func add128(hi int64, lo uint64, v int64) (int64, uint64) {
	vlo := uint64(v)
	vhi := int64(0)
	if v < 0 {
		vhi = -1
	}
	nlo := lo + vlo
	carry := int64(0)
	if nlo < lo {
		carry = 1
	}
	return hi + vhi + carry, nlo
}

func tmodulo(t *int64, u int64) int64 {
	q := *t / u
	if q != 0 {
		*t -= q * u
	}
	return q
}

func justifyHours(iv interval) (interval, error) {
	r := iv
	whole := tmodulo(&r.usecs, usecsPerDay)
	d := int64(r.days) + whole
	if d > math.MaxInt32 || d < math.MinInt32 {
		return interval{}, errIntervalRange
	}
	r.days = int32(d)
	if r.days > 0 && r.usecs < 0 {
		r.usecs += usecsPerDay
		r.days--
	} else if r.days < 0 && r.usecs > 0 {
		r.usecs -= usecsPerDay
		r.days++
	}
	return r, nil
}

func justifyDays(iv interval) (interval, error) {
	r := iv
	wholeMonth := r.days / daysPerMonth
	r.days -= wholeMonth * daysPerMonth
	m := int64(r.months) + int64(wholeMonth)
	if m > math.MaxInt32 || m < math.MinInt32 {
		return interval{}, errIntervalRange
	}
	r.months = int32(m)
	if r.months > 0 && r.days < 0 {
		r.days += daysPerMonth
		r.months--
	} else if r.months < 0 && r.days > 0 {
		r.days -= daysPerMonth
		r.months++
	}
	return r, nil
}

func justifyInterval(iv interval) (interval, error) {
	r := iv
	if (r.days > 0 && r.usecs > 0) || (r.days < 0 && r.usecs < 0) {
		wholeMonth := r.days / daysPerMonth
		r.days -= wholeMonth * daysPerMonth
		m := int64(r.months) + int64(wholeMonth)
		if m > math.MaxInt32 || m < math.MinInt32 {
			return interval{}, errIntervalRange
		}
		r.months = int32(m)
	}
	wholeDay := tmodulo(&r.usecs, usecsPerDay)
	r.days += int32(wholeDay)
	wholeMonth := r.days / daysPerMonth
	r.days -= wholeMonth * daysPerMonth
	m := int64(r.months) + int64(wholeMonth)
	if m > math.MaxInt32 || m < math.MinInt32 {
		return interval{}, errIntervalRange
	}
	r.months = int32(m)
	if r.months > 0 && (r.days < 0 || (r.days == 0 && r.usecs < 0)) {
		r.days += daysPerMonth
		r.months--
	} else if r.months < 0 && (r.days > 0 || (r.days == 0 && r.usecs > 0)) {
		r.days -= daysPerMonth
		r.months++
	}
	if r.days > 0 && r.usecs < 0 {
		r.usecs += usecsPerDay
		r.days--
	} else if r.days < 0 && r.usecs > 0 {
		r.usecs -= usecsPerDay
		r.days++
	}
	return r, nil
}

func timestampMinus(a, b int64) (interval, error) {
	if !tsFinite(a) || !tsFinite(b) {
		return interval{}, evalErrorf("cannot subtract infinite timestamps")
	}
	d := a - b
	if (b < 0 && d < a) || (b > 0 && d > a) {
		return interval{}, errIntervalRange
	}
	return justifyHours(interval{usecs: d})
}

func tsround(v float64) float64 { return math.RoundToEven(v*1e6) / 1e6 }

func fitsInt32(f float64) bool { return !math.IsNaN(f) && f >= -2147483648.0 && f < 2147483648.0 }
func fitsInt64(f float64) bool {
	return !math.IsNaN(f) && f >= -9223372036854775808.0 && f < 9223372036854775808.0
}

// intervalMul is interval_mul.
func intervalMul(iv interval, factor float64) (interval, error) {
	var r interval
	rd := float64(iv.months) * factor
	if !fitsInt32(rd) {
		return r, errIntervalRange
	}
	r.months = int32(rd)
	rd = float64(iv.days) * factor
	if !fitsInt32(rd) {
		return r, errIntervalRange
	}
	r.days = int32(rd)
	monthRemainderDays := (float64(iv.months)*factor - float64(r.months)) * daysPerMonth
	monthRemainderDays = tsround(monthRemainderDays)
	secRemainder := (float64(iv.days)*factor - float64(r.days) + monthRemainderDays - float64(int32(monthRemainderDays))) * secsPerDay
	secRemainder = tsround(secRemainder)
	return intervalCascade(r, iv, secRemainder, monthRemainderDays, float64(iv.usecs)*factor)
}

func intervalCascade(r, iv interval, secRemainder, monthRemainderDays, scaledTime float64) (interval, error) {
	if math.Abs(secRemainder) >= secsPerDay {
		add := int64(int32(secRemainder / secsPerDay))
		d := int64(r.days) + add
		if d > math.MaxInt32 || d < math.MinInt32 {
			return interval{}, errIntervalRange
		}
		r.days = int32(d)
		secRemainder -= float64(int32(secRemainder/secsPerDay)) * secsPerDay
	}
	d := int64(r.days) + int64(int32(monthRemainderDays))
	if d > math.MaxInt32 || d < math.MinInt32 {
		return interval{}, errIntervalRange
	}
	r.days = int32(d)
	rd := math.RoundToEven(scaledTime + secRemainder*float64(usecsPerSec))
	if !fitsInt64(rd) {
		return interval{}, errIntervalRange
	}
	r.usecs = int64(rd)
	return r, nil
}

// intervalDiv is interval_div.
func intervalDiv(iv interval, factor float64) (interval, error) {
	if factor == 0 {
		return interval{}, errDivisionByZero
	}
	var r interval
	rd := float64(iv.months) / factor
	if !fitsInt32(rd) {
		return r, errIntervalRange
	}
	r.months = int32(rd)
	rd = float64(iv.days) / factor
	if !fitsInt32(rd) {
		return r, errIntervalRange
	}
	r.days = int32(rd)
	monthRemainderDays := (float64(iv.months)/factor - float64(r.months)) * daysPerMonth
	monthRemainderDays = tsround(monthRemainderDays)
	secRemainder := (float64(iv.days)/factor - float64(r.days) + monthRemainderDays - float64(int32(monthRemainderDays))) * secsPerDay
	secRemainder = tsround(secRemainder)
	return intervalCascade(r, iv, secRemainder, monthRemainderDays, float64(iv.usecs)/factor)
}

// timePlusInterval is time_pl_interval (months and days are ignored).
func timePlusInterval(t int64, iv interval) int64 {
	r := t + iv.usecs
	r -= r / usecsPerDay * usecsPerDay
	if r < 0 {
		r += usecsPerDay
	}
	return r
}

// intervalToTime is interval_time.
func intervalToTime(iv interval) int64 {
	r := iv.usecs % usecsPerDay
	if r < 0 {
		r += usecsPerDay
	}
	return r
}

// timezoneOfTimestamp is timezone(zone, timestamp) → timestamptz: the
// wall time t read in zone.
func timezoneOfTimestamp(zone string, t int64) (int64, error) {
	loc, err := loadZone(zone)
	if err != nil {
		return 0, err
	}
	if !tsFinite(t) {
		return t, nil
	}
	r := t - zoneOffsetAtLocal(loc, t)*usecsPerSec
	if !validTimestamp(r) {
		return 0, errTimestampRange
	}
	return r, nil
}

// timezoneOfTimestamptz is timezone(zone, timestamptz) → timestamp: the
// wall time of instant t in zone.
func timezoneOfTimestamptz(zone string, t int64) (int64, error) {
	loc, err := loadZone(zone)
	if err != nil {
		return 0, err
	}
	if !tsFinite(t) {
		return t, nil
	}
	r := t + zoneOffsetAtUTC(loc, t)*usecsPerSec
	if !validTimestamp(r) {
		return 0, errTimestampRange
	}
	return r, nil
}
