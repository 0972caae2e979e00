package where

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// numeric is a Postgres numeric: NaN, ±Infinity, or coeff × 10^-scale where
// scale is the display scale (dscale) Postgres keeps, so 1.50 and 1.5 are
// equal but print differently. Values are immutable once built.
type numeric struct {
	kind  numKind
	coeff big.Int
	scale int32
}

type numKind uint8

const (
	numFinite numKind = iota
	numNaN
	numPosInf
	numNegInf
)

// Postgres' numeric limits (numeric.c).
const (
	numericMaxDisplayScale = 1000   // NUMERIC_MAX_DISPLAY_SCALE
	numericMinSigDigits    = 16     // NUMERIC_MIN_SIG_DIGITS
	numericMaxPrecision    = 1000   // NUMERIC_MAX_PRECISION
	numericMaxIntDigits    = 131072 // digits before the decimal point
	numericMaxScale        = 16383  // NUMERIC_DSCALE_MAX
)

var (
	numNaNValue = &numeric{kind: numNaN}
	numPosInfV  = &numeric{kind: numPosInf}
	numNegInfV  = &numeric{kind: numNegInf}
	bigTen      = big.NewInt(10)
	bigOne      = big.NewInt(1)
)

var errNumericOverflow = evalErrorf("value overflows numeric format")

func numFromInt(v int64) *numeric {
	n := &numeric{}
	n.coeff.SetInt64(v)
	return n
}

func (n *numeric) isSpecial() bool { return n.kind != numFinite }

// sign returns -1, 0 or 1 (±Infinity count as ±1, NaN as 0).
func (n *numeric) sign() int {
	switch n.kind {
	case numPosInf:
		return 1
	case numNegInf:
		return -1
	case numNaN:
		return 0
	}
	return n.coeff.Sign()
}

func pow10(n int) *big.Int {
	if n <= 0 {
		return big.NewInt(1)
	}
	if n < len(pow10Cache) {
		return pow10Cache[n]
	}
	return new(big.Int).Exp(bigTen, big.NewInt(int64(n)), nil)
}

var pow10Cache = func() []*big.Int {
	c := make([]*big.Int, 64)
	v := big.NewInt(1)
	for i := range c {
		c[i] = new(big.Int).Set(v)
		v.Mul(v, bigTen)
	}
	return c
}()

// scaled returns n's coefficient expressed at scale s ≥ n.scale.
func (n *numeric) scaled(s int32) *big.Int {
	if s == n.scale {
		return &n.coeff
	}
	return new(big.Int).Mul(&n.coeff, pow10(int(s-n.scale)))
}

// intDigits returns the number of decimal digits before the decimal point.
func (n *numeric) intDigits() int {
	if n.coeff.Sign() == 0 {
		return 0
	}
	d := len(new(big.Int).Abs(&n.coeff).String()) - int(n.scale)
	if d < 0 {
		return 0
	}
	return d
}

// checkNumeric applies Postgres' format limit (131072 digits before the
// decimal point) to a finite result.
func checkNumeric(n *numeric) (*numeric, error) {
	if n.kind != numFinite {
		return n, nil
	}
	// The bit length bounds the digit count; count digits only when near.
	if float64(n.coeff.BitLen())*0.30103-float64(n.scale) > numericMaxIntDigits-2 &&
		n.intDigits() > numericMaxIntDigits {
		return nil, errNumericOverflow
	}
	return n, nil
}

// parseNumeric is numeric_in (Postgres 15): optional surrounding
// whitespace, NaN, [±]Infinity/inf, or a decimal with optional exponent.
func parseNumeric(s string) (*numeric, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "nan":
		return numNaNValue, nil
	case "infinity", "+infinity", "inf", "+inf":
		return numPosInfV, nil
	case "-infinity", "-inf":
		return numNegInfV, nil
	}
	bad := func() error { return invalidInput("numeric", s) }
	i := 0
	neg := false
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		neg = t[i] == '-'
		i++
	}
	var digits strings.Builder
	scale := 0
	seenDigit, seenPoint := false, false
	for ; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			digits.WriteByte(c)
			seenDigit = true
			if seenPoint {
				scale++
			}
		case c == '.' && !seenPoint:
			seenPoint = true
		default:
			goto rest
		}
	}
rest:
	if !seenDigit {
		return nil, bad()
	}
	exp := 0
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		eneg := false
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			eneg = t[i] == '-'
			i++
		}
		start := i
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
		}
		if start == i {
			return nil, bad()
		}
		e, err := strconv.Atoi(t[start:i])
		if err != nil || e > numericMaxPrecision {
			return nil, bad()
		}
		if eneg {
			e = -e
		}
		exp = e
	}
	if i != len(t) {
		return nil, bad()
	}
	n := &numeric{}
	n.coeff.SetString(digits.String(), 10)
	if neg {
		n.coeff.Neg(&n.coeff)
	}
	// value = digits × 10^(exp - scale); display scale max(0, scale - exp)
	s2 := scale - exp
	if s2 < 0 {
		n.coeff.Mul(&n.coeff, pow10(-s2))
		s2 = 0
	}
	if s2 > numericMaxScale {
		// Postgres rounds input with an oversized scale to what it can
		// store; inputs like this do not occur in practice.
		return nil, bad()
	}
	n.scale = int32(s2)
	return checkNumeric(n)
}

// String is numeric_out.
func (n *numeric) String() string {
	switch n.kind {
	case numNaN:
		return "NaN"
	case numPosInf:
		return "Infinity"
	case numNegInf:
		return "-Infinity"
	}
	neg := n.coeff.Sign() < 0
	digits := new(big.Int).Abs(&n.coeff).String()
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	s := int(n.scale)
	if s == 0 {
		b.WriteString(digits)
		return b.String()
	}
	if len(digits) <= s {
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", s-len(digits)))
		b.WriteString(digits)
		return b.String()
	}
	b.WriteString(digits[:len(digits)-s])
	b.WriteByte('.')
	b.WriteString(digits[len(digits)-s:])
	return b.String()
}

// cmpNumeric orders numerics as Postgres does: -Infinity < finite <
// Infinity < NaN, and NaN equals NaN.
func cmpNumeric(a, b *numeric) int {
	ra, rb := numRank(a), numRank(b)
	if ra != rb || ra != 1 {
		return cmpInt(ra, rb)
	}
	if a.scale == b.scale {
		return a.coeff.Cmp(&b.coeff)
	}
	s := max(a.scale, b.scale)
	return a.scaled(s).Cmp(b.scaled(s))
}

func numRank(n *numeric) int {
	switch n.kind {
	case numNegInf:
		return 0
	case numPosInf:
		return 2
	case numNaN:
		return 3
	}
	return 1
}

func cmpInt[T int | int64 | int32](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func numNeg(a *numeric) *numeric {
	switch a.kind {
	case numPosInf:
		return numNegInfV
	case numNegInf:
		return numPosInfV
	case numNaN:
		return a
	}
	r := &numeric{scale: a.scale}
	r.coeff.Neg(&a.coeff)
	return r
}

func numAbs(a *numeric) *numeric {
	if a.kind == numNegInf {
		return numPosInfV
	}
	if a.kind != numFinite || a.coeff.Sign() >= 0 {
		return a
	}
	return numNeg(a)
}

func numAdd(a, b *numeric) (*numeric, error) {
	if a.isSpecial() || b.isSpecial() {
		switch {
		case a.kind == numNaN || b.kind == numNaN:
			return numNaNValue, nil
		case a.kind == numPosInf && b.kind == numNegInf, a.kind == numNegInf && b.kind == numPosInf:
			return numNaNValue, nil
		case a.isSpecial():
			return a, nil
		default:
			return b, nil
		}
	}
	s := max(a.scale, b.scale)
	r := &numeric{scale: s}
	r.coeff.Add(a.scaled(s), b.scaled(s))
	return checkNumeric(r)
}

func numSub(a, b *numeric) (*numeric, error) { return numAdd(a, numNeg(b)) }

func numMul(a, b *numeric) (*numeric, error) {
	if a.isSpecial() || b.isSpecial() {
		if a.kind == numNaN || b.kind == numNaN {
			return numNaNValue, nil
		}
		sa, sb := a.sign(), b.sign()
		if sa == 0 || sb == 0 {
			return numNaNValue, nil // Infinity × 0
		}
		if sa*sb > 0 {
			return numPosInfV, nil
		}
		return numNegInfV, nil
	}
	if a.intDigits()+b.intDigits() > numericMaxIntDigits+1 {
		return nil, errNumericOverflow
	}
	r := &numeric{scale: a.scale + b.scale}
	r.coeff.Mul(&a.coeff, &b.coeff)
	if r.scale > numericMaxScale {
		r = numRound(r, numericMaxScale)
	}
	return checkNumeric(r)
}

var errDivisionByZero = evalErrorf("division by zero")

func numDiv(a, b *numeric) (*numeric, error) {
	if a.isSpecial() || b.isSpecial() {
		if a.kind == numNaN || b.kind == numNaN {
			return numNaNValue, nil
		}
		if a.isSpecial() {
			if b.isSpecial() {
				return numNaNValue, nil
			}
			switch b.coeff.Sign() {
			case 0:
				return nil, errDivisionByZero
			case 1:
				return a, nil
			}
			return numNeg(a), nil
		}
		return &numeric{}, nil // finite / ±Infinity
	}
	if b.coeff.Sign() == 0 {
		return nil, errDivisionByZero
	}
	rscale := selectDivScale(a, b)
	return divRound(a, b, rscale)
}

// divRound returns a/b rounded half away from zero to rscale digits.
func divRound(a, b *numeric, rscale int32) (*numeric, error) {
	// a/b = (ca/10^sa)/(cb/10^sb); want q = round(a/b × 10^rscale)
	// = round(ca × 10^(rscale - sa + sb) / cb).
	num := new(big.Int).Set(&a.coeff)
	den := new(big.Int).Set(&b.coeff)
	k := int(rscale) - int(a.scale) + int(b.scale)
	if k >= 0 {
		num.Mul(num, pow10(k))
	} else {
		den.Mul(den, pow10(-k))
	}
	r := &numeric{scale: rscale}
	roundQuo(&r.coeff, num, den)
	return checkNumeric(r)
}

// roundQuo sets z to num/den rounded half away from zero.
func roundQuo(z, num, den *big.Int) {
	var rem big.Int
	z.QuoRem(num, den, &rem)
	if rem.Sign() == 0 {
		return
	}
	rem.Abs(&rem)
	rem.Lsh(&rem, 1)
	if rem.CmpAbs(den) >= 0 {
		if (num.Sign() < 0) != (den.Sign() < 0) {
			z.Sub(z, bigOne)
		} else {
			z.Add(z, bigOne)
		}
	}
}

// nbaseWeight returns Postgres' weight and first base-10000 digit of a
// non-zero finite numeric: digits are grouped by four from the decimal
// point, weight is the index of the first non-zero group (0 for the units
// group, -1 for the first four decimals).
func nbaseWeight(n *numeric) (weight int, first int64) {
	if n.coeff.Sign() == 0 {
		return 0, 0
	}
	digits := new(big.Int).Abs(&n.coeff).String()
	intLen := len(digits) - int(n.scale) // may be ≤ 0
	// Position of the most significant digit relative to the point:
	// exponent e such that the digit is the 10^e place.
	e := intLen - 1
	weight = floorDiv(e, 4)
	// The group of weight w covers places 4w..4w+3.
	var g int64
	for p := 4*weight + 3; p >= 4*weight; p-- {
		idx := intLen - 1 - p // index into digits of place p
		g *= 10
		if idx >= 0 && idx < len(digits) {
			g += int64(digits[idx] - '0')
		}
	}
	return weight, g
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// selectDivScale is numeric.c's select_div_scale.
func selectDivScale(a, b *numeric) int32 {
	w1, f1 := nbaseWeight(a)
	w2, f2 := nbaseWeight(b)
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	rscale := numericMinSigDigits - qweight*4
	rscale = max(rscale, int(a.scale), int(b.scale), 0)
	rscale = min(rscale, numericMaxDisplayScale)
	return int32(rscale)
}

// numRound rounds n half away from zero to scale s (s may be below
// n.scale only).
func numRound(n *numeric, s int32) *numeric {
	if n.kind != numFinite || s >= n.scale {
		if n.kind == numFinite && s > n.scale {
			r := &numeric{scale: s}
			r.coeff.Set(n.scaled(s))
			return r
		}
		return n
	}
	r := &numeric{scale: s}
	roundQuo(&r.coeff, &n.coeff, pow10(int(n.scale-s)))
	return r
}

func numMod(a, b *numeric) (*numeric, error) {
	if a.isSpecial() || b.isSpecial() {
		if a.kind == numNaN || b.kind == numNaN {
			return numNaNValue, nil
		}
		if a.isSpecial() {
			if b.kind == numFinite && b.coeff.Sign() == 0 {
				return nil, errDivisionByZero
			}
			return numNaNValue, nil // Inf % x
		}
		return a, nil // x % Inf = x
	}
	if b.coeff.Sign() == 0 {
		return nil, errDivisionByZero
	}
	s := max(a.scale, b.scale)
	r := &numeric{scale: s}
	r.coeff.Rem(a.scaled(s), b.scaled(s)) // truncated: sign follows a
	return r, nil
}

// isInteger reports whether a finite numeric has no fractional part.
func (n *numeric) isInteger() bool {
	if n.kind != numFinite {
		return false
	}
	if n.scale == 0 {
		return true
	}
	var rem big.Int
	rem.Rem(&n.coeff, pow10(int(n.scale)))
	return rem.Sign() == 0
}

// toInt64 rounds half away from zero to an integer; ok is false when it
// does not fit.
func (n *numeric) toInt64() (int64, bool) {
	r := numRound(n, 0)
	if !r.coeff.IsInt64() {
		return 0, false
	}
	return r.coeff.Int64(), true
}

// numToInt is numeric_int2/4/8.
func numToInt(n *numeric, bits int) (int64, error) {
	switch n.kind {
	case numNaN:
		return 0, evalErrorf("cannot convert NaN to %s", intTypeSQLName(bits))
	case numPosInf, numNegInf:
		return 0, evalErrorf("cannot convert infinity to %s", intTypeSQLName(bits))
	}
	v, ok := n.toInt64()
	if !ok || !fitsInt(v, bits) {
		return 0, intOutOfRange(bits)
	}
	return v, nil
}

func intTypeSQLName(bits int) string {
	switch bits {
	case 16:
		return "smallint"
	case 32:
		return "integer"
	}
	return "bigint"
}

// numToFloat is numeric_float8 / numeric_float4: through the text form
// and the float input function.
func numToFloat(n *numeric, bits int) (float64, error) {
	switch n.kind {
	case numNaN:
		return math.NaN(), nil
	case numPosInf:
		return math.Inf(1), nil
	case numNegInf:
		return math.Inf(-1), nil
	}
	if bits == 32 {
		f, err := parseFloat4(n.String())
		return float64(f), err
	}
	return parseFloat8(n.String())
}

// floatToNumeric is float8_numeric / float4_numeric: the value printed
// with DBL_DIG (FLT_DIG) significant digits, then read as numeric.
func floatToNumeric(f float64, bits int) (*numeric, error) {
	switch {
	case math.IsNaN(f):
		return numNaNValue, nil
	case math.IsInf(f, 1):
		return numPosInfV, nil
	case math.IsInf(f, -1):
		return numNegInfV, nil
	}
	digits := 15
	if bits == 32 {
		digits = 6
	}
	return parseNumeric(strconv.FormatFloat(f, 'g', digits, 64))
}
