package where

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Floats follow Postgres (float.c): float4 values are float32 and every
// float4 operation rounds to float32; a finite computation that overflows
// to ±Infinity or underflows to zero raises an error; NaN equals NaN and
// sorts above every other value, including Infinity; -0 equals 0.

var (
	errFloatOverflow  = evalErrorf("value out of range: overflow")
	errFloatUnderflow = evalErrorf("value out of range: underflow")
)

// isCSpace is C isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func trimCSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isCSpace(s[i]) {
		i++
	}
	for j > i && isCSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// scanFloat checks the strtod decimal syntax Postgres accepts (signs,
// digits, point, exponent, inf/infinity/nan) and returns the trimmed text.
func scanFloat(s string) (string, bool) {
	t := trimCSpace(s)
	if t == "" {
		return "", false
	}
	u := strings.ToLower(t)
	u = strings.TrimPrefix(strings.TrimPrefix(u, "+"), "-")
	if u == "nan" || u == "inf" || u == "infinity" {
		return t, true
	}
	i := 0
	if t[i] == '+' || t[i] == '-' {
		i++
	}
	digits := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
		digits++
	}
	if i < len(t) && t[i] == '.' {
		i++
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return "", false
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		j := i + 1
		if j < len(t) && (t[j] == '+' || t[j] == '-') {
			j++
		}
		k := j
		for k < len(t) && t[k] >= '0' && t[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	return t, i == len(t)
}

// parseFloat8 is float8in.
func parseFloat8(s string) (float64, error) {
	t, ok := scanFloat(s)
	if !ok {
		return 0, invalidInput("double precision", s)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !isRangeErr(err) {
		return 0, invalidInput("double precision", s)
	}
	if (math.IsInf(f, 0) && !isInfText(t)) || (f == 0 && hasNonZeroDigit(t)) {
		return 0, evalErrorf("%s is out of range for type double precision", quoteForMessage(s))
	}
	return f, nil
}

// parseFloat4 is float4in.
func parseFloat4(s string) (float32, error) {
	t, ok := scanFloat(s)
	if !ok {
		return 0, invalidInput("real", s)
	}
	f, err := strconv.ParseFloat(t, 32)
	if err != nil && !isRangeErr(err) {
		return 0, invalidInput("real", s)
	}
	if (math.IsInf(f, 0) && !isInfText(t)) || (f == 0 && hasNonZeroDigit(t)) {
		return 0, evalErrorf("%s is out of range for type real", quoteForMessage(s))
	}
	return float32(f), nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

func isInfText(t string) bool {
	u := strings.ToLower(strings.TrimLeft(t, "+-"))
	return u == "inf" || u == "infinity"
}

// hasNonZeroDigit reports whether the mantissa of a decimal float text has
// a non-zero digit.
func hasNonZeroDigit(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == 'e' || c == 'E' {
			return false
		}
		if c >= '1' && c <= '9' {
			return true
		}
	}
	return false
}

// formatFloat8 is float8out with extra_float_digits > 0: the shortest
// decimal that reads back as the same value (Ryu, with Postgres' choice of
// excluding the rounding interval's bounds), in %e style when the decimal
// exponent is below -4 or at least 15.
func formatFloat8(f float64) string { return formatFloat(f, 64, 15) }

// formatFloat4 is float4out likewise, switching to %e style at exponent 6.
func formatFloat4(f float32) string { return formatFloat(float64(f), 32, 6) }

func formatFloat(f float64, bits, maxExp int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0"
		}
		return "0"
	}
	neg := f < 0
	mant, exp := shortestDecimal(math.Abs(f), bits)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if exp < -4 || exp >= maxExp {
		b.WriteString(mant[:1])
		if len(mant) > 1 {
			b.WriteByte('.')
			b.WriteString(mant[1:])
		}
		b.WriteByte('e')
		if exp < 0 {
			b.WriteByte('-')
			exp = -exp
		} else {
			b.WriteByte('+')
		}
		if exp < 10 {
			b.WriteByte('0')
		}
		b.WriteString(strconv.Itoa(exp))
		return b.String()
	}
	switch {
	case exp < 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -exp-1))
		b.WriteString(mant)
	case exp+1 >= len(mant):
		b.WriteString(mant)
		b.WriteString(strings.Repeat("0", exp+1-len(mant)))
	default:
		b.WriteString(mant[:exp+1])
		b.WriteByte('.')
		b.WriteString(mant[exp+1:])
	}
	return b.String()
}

// shortestDecimal returns the digits (no trailing zeros) and the decimal
// exponent of the first digit of the shortest decimal strictly inside the
// interval of values that round to f (f > 0, finite).
func shortestDecimal(f float64, bits int) (string, int) {
	var lo, hi big.Rat
	var fr big.Rat
	fr.SetFloat64(f)
	var below, above float64
	if bits == 32 {
		below = float64(math.Nextafter32(float32(f), 0))
		above = float64(math.Nextafter32(float32(f), float32(math.Inf(1))))
	} else {
		below = math.Nextafter(f, 0)
		above = math.Nextafter(f, math.Inf(1))
	}
	half := big.NewRat(1, 2)
	lo.SetFloat64(below)
	lo.Add(&lo, &fr).Mul(&lo, half)
	if math.IsInf(above, 1) {
		hi.Sub(&fr, &lo).Add(&hi, &fr) // symmetric bound above MaxFloat
	} else {
		hi.SetFloat64(above)
		hi.Add(&hi, &fr).Mul(&hi, half)
	}
	inside := func(mant *big.Int, exp int, n int) bool {
		var r big.Rat
		r.SetInt(mant)
		p := exp - (n - 1)
		if p >= 0 {
			r.Mul(&r, new(big.Rat).SetInt(pow10(p)))
		} else {
			r.Quo(&r, new(big.Rat).SetInt(pow10(-p)))
		}
		return lo.Cmp(&r) < 0 && r.Cmp(&hi) < 0
	}
	for n := 1; n <= 17; n++ {
		s := strconv.FormatFloat(f, 'e', n-1, bits)
		k := strings.IndexByte(s, 'e')
		exp, _ := strconv.Atoi(s[k+1:])
		digits := strings.Replace(s[:k], ".", "", 1)
		mant, _ := new(big.Int).SetString(digits, 10)
		if inside(mant, exp, n) {
			return strings.TrimRight(digits, "0"), exp
		}
		// The nearest n-digit decimal lies on a bound; its neighbour on
		// the other side of f may still be inside (as in Ryu).
		var r big.Rat
		r.SetInt(mant)
		p := exp - (n - 1)
		if p >= 0 {
			r.Mul(&r, new(big.Rat).SetInt(pow10(p)))
		} else {
			r.Quo(&r, new(big.Rat).SetInt(pow10(-p)))
		}
		m2 := new(big.Int).Set(mant)
		if r.Cmp(&fr) > 0 {
			m2.Sub(m2, bigOne)
		} else {
			m2.Add(m2, bigOne)
		}
		if m2.Sign() > 0 && len(m2.String()) == n && inside(m2, exp, n) {
			return strings.TrimRight(m2.String(), "0"), exp
		}
	}
	s := strconv.FormatFloat(f, 'e', -1, bits)
	k := strings.IndexByte(s, 'e')
	exp, _ := strconv.Atoi(s[k+1:])
	return strings.TrimRight(strings.Replace(s[:k], ".", "", 1), "0"), exp
}

// cmpFloat orders floats as Postgres does: NaN equals NaN and is greater
// than everything else; -0 equals 0.
func cmpFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkFloat8 is float_overflow_error / float_underflow_error after an
// operation whose inputs were inf1/inf2 (infinite) and zeroOK (a zero
// result is legitimate).
func checkFloat8(r float64, inputsInf bool, zeroOK bool) (float64, error) {
	if math.IsInf(r, 0) && !inputsInf {
		return 0, errFloatOverflow
	}
	if r == 0 && !zeroOK {
		return 0, errFloatUnderflow
	}
	return r, nil
}

func checkFloat4(r float32, inputsInf bool, zeroOK bool) (float32, error) {
	if math.IsInf(float64(r), 0) && !inputsInf {
		return 0, errFloatOverflow
	}
	if r == 0 && !zeroOK {
		return 0, errFloatUnderflow
	}
	return r, nil
}

func isInf(f float64) bool { return math.IsInf(f, 0) }

func float8Add(a, b float64) (float64, error) {
	return checkFloat8(a+b, isInf(a) || isInf(b), true)
}

func float8Sub(a, b float64) (float64, error) {
	return checkFloat8(a-b, isInf(a) || isInf(b), true)
}

func float8Mul(a, b float64) (float64, error) {
	return checkFloat8(a*b, isInf(a) || isInf(b), a == 0 || b == 0)
}

func float8Div(a, b float64) (float64, error) {
	if b == 0 && !math.IsNaN(a) {
		return 0, errDivisionByZero
	}
	return checkFloat8(a/b, isInf(a) || isInf(b), a == 0 || isInf(b))
}

func float4Add(a, b float32) (float32, error) {
	return checkFloat4(a+b, isInf(float64(a)) || isInf(float64(b)), true)
}

func float4Sub(a, b float32) (float32, error) {
	return checkFloat4(a-b, isInf(float64(a)) || isInf(float64(b)), true)
}

func float4Mul(a, b float32) (float32, error) {
	return checkFloat4(a*b, isInf(float64(a)) || isInf(float64(b)), a == 0 || b == 0)
}

func float4Div(a, b float32) (float32, error) {
	if b == 0 && !math.IsNaN(float64(a)) {
		return 0, errDivisionByZero
	}
	return checkFloat4(a/b, isInf(float64(a)) || isInf(float64(b)), a == 0 || isInf(float64(b)))
}

// float8Pow is dpow.
func float8Pow(a, b float64) (float64, error) {
	if math.IsNaN(a) {
		if b == 0 {
			return 1, nil
		}
		return math.NaN(), nil
	}
	if math.IsNaN(b) {
		if a == 1 {
			return 1, nil
		}
		return math.NaN(), nil
	}
	if a == 0 && b < 0 {
		return 0, evalErrorf("zero raised to a negative power is undefined")
	}
	if a < 0 && math.Floor(b) != b {
		return 0, evalErrorf("a negative number raised to a non-integer power yields a complex result")
	}
	if isInf(b) {
		absA := math.Abs(a)
		switch {
		case absA == 1:
			return 1, nil
		case (absA > 1) == (b > 0):
			return math.Inf(1), nil
		default:
			return 0, nil
		}
	}
	if isInf(a) {
		if b == 0 {
			return 1, nil
		}
		if a > 0 {
			if b > 0 {
				return math.Inf(1), nil
			}
			return 0, nil
		}
		oddInt := math.Floor(b) == b && math.Mod(math.Abs(b), 2) == 1
		if b > 0 {
			if oddInt {
				return math.Inf(-1), nil
			}
			return math.Inf(1), nil
		}
		if oddInt {
			return math.Copysign(0, -1), nil
		}
		return 0, nil
	}
	r := powCorrectlyRounded(a, b)
	if isInf(r) {
		return 0, errFloatOverflow
	}
	if r == 0 && a != 0 {
		return 0, errFloatUnderflow
	}
	return r, nil
}

// powCorrectlyRounded computes a^b (finite, a ≥ 0 or b integral) with
// enough precision to round correctly, as glibc's pow (which Postgres
// calls) does in all but extremely rare cases; Go's math.Pow can be off by
// an ulp or two.
func powCorrectlyRounded(a, b float64) float64 {
	if a == 0 || b == 0 || a == 1 {
		return math.Pow(a, b)
	}
	approx := math.Pow(a, b)
	if approx == 0 && math.Abs(b) > 1e4 || isInf(approx) && math.Abs(b) > 1e4 {
		return approx // far outside the range either way
	}
	const prec = 256
	neg := a < 0
	x := new(big.Float).SetPrec(prec).SetFloat64(math.Abs(a))
	var res *big.Float
	if b == math.Trunc(b) && math.Abs(b) < 1<<62 {
		n := int64(math.Abs(b))
		res = new(big.Float).SetPrec(prec).SetInt64(1)
		for k := n; k > 0; k >>= 1 {
			if k&1 == 1 {
				res.Mul(res, x)
			}
			x.Mul(x, x)
		}
		if b < 0 {
			res.Quo(new(big.Float).SetPrec(prec).SetInt64(1), res)
		}
		if neg && n%2 == 1 {
			res.Neg(res)
		}
	} else {
		l := bigLog(x, prec)
		l.Mul(l, new(big.Float).SetPrec(prec).SetFloat64(b))
		if f, _ := l.Float64(); f > 710 || f < -746 {
			return approx
		}
		res = bigExp(l, prec)
	}
	f, _ := res.Float64()
	return f
}

// float8Sqrt is dsqrt.
func float8Sqrt(a float64) (float64, error) {
	if a < 0 {
		return 0, evalErrorf("cannot take square root of a negative number")
	}
	return math.Sqrt(a), nil
}

// floatToInt is dtoi2/dtoi4/dtoi8 (and the float4 versions): round half
// to even, then range-check.
func floatToInt(f float64, bits int) (int64, error) {
	if math.IsNaN(f) {
		return 0, intOutOfRange(bits)
	}
	r := math.RoundToEven(f)
	switch bits {
	case 16:
		if r < -32768 || r >= 32768 {
			return 0, intOutOfRange(bits)
		}
	case 32:
		if r < -2147483648 || r >= 2147483648 {
			return 0, intOutOfRange(bits)
		}
	default:
		if r < -9223372036854775808 || r >= 9223372036854775808 {
			return 0, intOutOfRange(bits)
		}
	}
	return int64(r), nil
}

// float8To4 is dtof.
func float8To4(f float64) (float32, error) {
	r := float32(f)
	if math.IsInf(float64(r), 0) && !isInf(f) {
		return 0, errFloatOverflow
	}
	if r == 0 && f != 0 {
		return 0, errFloatUnderflow
	}
	return r, nil
}
