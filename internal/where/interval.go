package where

import (
	"math"
	"strconv"
	"strings"
)

// parseInterval is interval_in for the ISO 8601 designator format
// (what Galvani's connections print) and the Postgres format ("1 day 02:00",
// "3 hours ago", "@ 1 year", "1-2").
func parseInterval(s string) (interval, error) {
	t := trimCSpace(s)
	if t == "" {
		return interval{}, invalidInput("interval", s)
	}
	if t[0] == 'P' || t[0] == 'p' {
		if t != s {
			return interval{}, invalidInput("interval", s) // no spaces around ISO 8601
		}
		return parseISOInterval(t, s)
	}
	return parsePGInterval(t, s)
}

// intervalAcc accumulates interval fields as Postgres' DecodeInterval
// does (pg_itm_in and the Adjust* functions): years and months as
// int32, days as int32, microseconds as int64, fractions cascading down
// (a fraction of a year only to whole months).
type intervalAcc struct {
	years, mons, mday int32
	usec              int64
	overflow          bool
}

func (a *intervalAcc) addUsec(u int64) {
	n := a.usec + u
	if (u > 0 && n < a.usec) || (u < 0 && n > a.usec) {
		a.overflow = true
	}
	a.usec = n
}

// addFractMicros is AdjustFractMicroseconds: frac × scale microseconds,
// rounded with ties toward zero.
func (a *intervalAcc) addFractMicros(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	frac *= float64(scale)
	u := int64(frac)
	frac -= float64(u)
	if frac > 0.5 {
		u++
	} else if frac < -0.5 {
		u--
	}
	a.addUsec(u)
}

// addMicros is AdjustMicroseconds: (val + fval) × scale microseconds.
func (a *intervalAcc) addMicros(val int64, fval float64, scale int64) {
	if val != 0 && (val*scale)/scale != val {
		a.overflow = true
		return
	}
	a.addUsec(val * scale)
	a.addFractMicros(fval, scale)
}

func add32(dst *int32, v int64) bool {
	n := int64(*dst) + v
	if n > math.MaxInt32 || n < math.MinInt32 {
		return false
	}
	*dst = int32(n)
	return true
}

// addDays is AdjustDays.
func (a *intervalAcc) addDays(val int64, scale int64) {
	if val < math.MinInt32 || val > math.MaxInt32 || !add32(&a.mday, val*scale) || val*scale > math.MaxInt32 || val*scale < math.MinInt32 {
		a.overflow = true
	}
}

// addFractDays is AdjustFractDays.
func (a *intervalAcc) addFractDays(frac float64, scale int64) {
	if frac == 0 {
		return
	}
	frac *= float64(scale)
	extra := int32(frac)
	if !add32(&a.mday, int64(extra)) {
		a.overflow = true
	}
	a.addFractMicros(frac-float64(extra), usecsPerDay)
}

// addMonths is AdjustMonths.
func (a *intervalAcc) addMonths(val int64) {
	if val < math.MinInt32 || val > math.MaxInt32 || !add32(&a.mons, val) {
		a.overflow = true
	}
}

// addYears is AdjustYears.
func (a *intervalAcc) addYears(val int64, scale int64) {
	if val < math.MinInt32 || val > math.MaxInt32 || val*scale > math.MaxInt32 || val*scale < math.MinInt32 || !add32(&a.years, val*scale) {
		a.overflow = true
	}
}

// addFractYears is AdjustFractYears: whole months only.
func (a *intervalAcc) addFractYears(frac float64, scale int64) {
	if !add32(&a.mons, int64(int32(math.RoundToEven(frac*float64(scale)*12)))) {
		a.overflow = true
	}
}

// unit adds val+fval of the unit named by u (intervalUnits' values).
func (a *intervalAcc) unit(u string, val int64, fval float64) {
	switch u {
	case "us":
		a.addMicros(val, fval, 1)
	case "ms":
		a.addMicros(val, fval, 1000)
	case "s":
		a.addMicros(val, fval, usecsPerSec)
	case "min":
		a.addMicros(val, fval, usecsPerMin)
	case "h":
		a.addMicros(val, fval, usecsPerHour)
	case "d":
		a.addDays(val, 1)
		a.addFractMicros(fval, usecsPerDay)
	case "w":
		a.addDays(val, 7)
		a.addFractDays(fval, 7)
	case "mon":
		a.addMonths(val)
		a.addFractDays(fval, daysPerMonth)
	case "y":
		a.addYears(val, 1)
		a.addFractYears(fval, 1)
	case "dec":
		a.addYears(val, 10)
		a.addFractYears(fval, 10)
	case "c":
		a.addYears(val, 100)
		a.addFractYears(fval, 100)
	case "mil":
		a.addYears(val, 1000)
		a.addFractYears(fval, 1000)
	}
}

func (a *intervalAcc) result(s string) (interval, error) {
	months := int64(a.years)*12 + int64(a.mons)
	if a.overflow || months > math.MaxInt32 || months < math.MinInt32 {
		return interval{}, evalErrorf("interval field value out of range: %s", quoteForMessage(s))
	}
	return interval{months: int32(months), days: a.mday, usecs: a.usec}, nil
}

// pgNumber splits a Postgres-format interval number ([±]digits[.digits])
// into its integer part and its signed fraction.
func pgNumber(s string) (int64, float64, bool) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return 0, 0, false
	}
	intPart, frac, hasPoint := strings.Cut(body, ".")
	if intPart == "" && (!hasPoint || frac == "" || body != s) || intPart != "" && !isDigits(intPart) || frac != "" && !isDigits(frac) {
		return 0, 0, false // a sign must be followed by a digit
	}
	var val int64
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		val = v
	}
	var fval float64
	if frac != "" {
		fval, _ = strconv.ParseFloat("0."+frac, 64)
	}
	if neg {
		val, fval = -val, -fval
	}
	return val, fval, true
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
		// ParseISO8601Number: a number strtod reads (Galvani: [-]digits
		// with an optional fraction), at most 1e15 in magnitude.
		start := i
		if t[i] == '-' {
			i++
		}
		for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
			i++
		}
		num := t[start:i]
		if i >= len(t) || num == "" || num == "-" || strings.Count(num, ".") > 1 || num == "." || num == "-." {
			return bad()
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return bad()
		}
		if v < -1e15 || v > 1e15 {
			return interval{}, evalErrorf("interval field value out of range: %s", quoteForMessage(orig))
		}
		ipart := int64(math.Trunc(v))
		fpart := v - float64(ipart)
		unit := t[i] | 0x20
		i++
		if !inTime {
			switch unit {
			case 'y':
				a.unit("y", ipart, fpart)
			case 'm':
				a.unit("mon", ipart, fpart)
			case 'w':
				a.unit("w", ipart, fpart)
			case 'd':
				a.unit("d", ipart, fpart)
			default:
				return bad()
			}
		} else {
			switch unit {
			case 'h':
				a.unit("h", ipart, fpart)
			case 'm':
				a.unit("min", ipart, fpart)
			case 's':
				a.unit("s", ipart, fpart)
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
			if seen["time"] || seen["h"] || seen["min"] || seen["s"] || seen["ms"] || seen["us"] {
				return bad()
			}
			seen["time"], seen["h"], seen["min"], seen["s"], seen["ms"], seen["us"] = true, true, true, true, true, true
			us, ok := parseIntervalTime(f)
			if !ok {
				return bad()
			}
			a.addUsec(us)
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
			a.addMonths(mon)
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
		val, fval, ok := pgNumber(f[:j])
		if !ok {
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
		if unitWord == "" && k != len(fields)-1 {
			// A number without a unit is seconds only at the end;
			// elsewhere Postgres reads it by context, which Galvani does
			// not reproduce.
			return bad()
		}
		if unitWord != "" {
			u, ok := intervalUnits[unitWord]
			if !ok {
				return bad()
			}
			unit = u
		}
		if seen[unit] || unit == "s" && fval != 0 && (seen["ms"] || seen["us"]) {
			return bad()
		}
		seen[unit] = true
		if unit == "s" && fval != 0 {
			// Fractional seconds count as milliseconds and microseconds too.
			seen["ms"], seen["us"] = true, true
		}
		sawAny = true
		a.unit(unit, val, fval)
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

// isDecimal reports whether s is digits with an optional fraction.
func isDecimal(s string) bool {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return isDigits(s)
	}
	return isDigits(s[:i]) && (i == len(s)-1 || isDigits(s[i+1:]))
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
	if err != nil || !isDigits(parts[0]) || h > math.MaxInt32 {
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
		if err != nil || !isDecimal(sp) || secs >= 60 {
			return 0, false
		}
		us += int64(math.RoundToEven(secs * 1e6))
	}
	if neg {
		us = -us
	}
	return us, true
}
