package where

import (
	"math"
	"strconv"
	"strings"
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
