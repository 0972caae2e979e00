package where

import (
	"math"
)

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
