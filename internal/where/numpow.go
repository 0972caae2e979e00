package where

import (
	"math"
	"math/big"
	"strconv"
)

// numPow is numeric_power.
func numPow(a, b *numeric) (*numeric, error) {
	if a.kind == numNaN {
		if b.kind == numFinite && b.coeff.Sign() == 0 {
			return numFromInt(1), nil
		}
		return numNaNValue, nil
	}
	if b.kind == numNaN {
		if a.kind == numFinite && cmpNumeric(a, numFromInt(1)) == 0 {
			return numFromInt(1), nil
		}
		return numNaNValue, nil
	}
	one := numFromInt(1)
	if a.isSpecial() || b.isSpecial() {
		if b.isSpecial() {
			// x ^ ±Infinity
			absCmp := 1
			if a.kind == numFinite {
				absCmp = cmpNumeric(numAbs(a), one)
			}
			if a.kind == numFinite && a.coeff.Sign() == 0 && b.kind == numNegInf {
				return nil, evalErrorf("zero raised to a negative power is undefined")
			}
			switch {
			case absCmp == 0:
				return one, nil
			case (absCmp < 0) == (b.kind == numPosInf):
				return &numeric{}, nil
			}
			return numPosInfV, nil
		}
		// ±Infinity ^ finite
		s := b.coeff.Sign()
		if s == 0 {
			return one, nil
		}
		if a.kind == numPosInf {
			if s < 0 {
				return &numeric{}, nil
			}
			return numPosInfV, nil
		}
		// -Infinity
		if !b.isInteger() {
			return nil, evalErrorf("a negative number raised to a non-integer power yields a complex result")
		}
		if s < 0 {
			return &numeric{}, nil
		}
		if new(big.Int).Abs(&numRound(b, 0).coeff).Bit(0) == 1 {
			return numNegInfV, nil
		}
		return numPosInfV, nil
	}
	if a.coeff.Sign() == 0 && b.coeff.Sign() < 0 {
		return nil, evalErrorf("zero raised to a negative power is undefined")
	}
	if b.isInteger() {
		e := numRound(b, 0)
		if e.coeff.IsInt64() && e.coeff.Int64() >= math.MinInt32 && e.coeff.Int64() <= math.MaxInt32 {
			rscale := max(numericMinSigDigits, int(a.scale))
			rscale = min(rscale, numericMaxDisplayScale)
			return numPowInt(a, e.coeff.Int64(), int32(rscale))
		}
	}
	if a.coeff.Sign() < 0 {
		if !b.isInteger() {
			return nil, evalErrorf("a negative number raised to a non-integer power yields a complex result")
		}
		// An integer exponent too large for power_var_int: |a|^b, negated
		// for odd b.
		r, err := numPowReal(numAbs(a), b)
		if err != nil || new(big.Int).Abs(&numRound(b, 0).coeff).Bit(0) == 0 {
			return r, err
		}
		return numNeg(r), nil
	}
	if a.coeff.Sign() == 0 {
		return &numeric{scale: numericMinSigDigits}, nil
	}
	return numPowReal(a, b)
}

// numPowInt is power_var_int for an exact integer exponent: the exact
// power rounded to rscale.
func numPowInt(a *numeric, e int64, rscale int32) (*numeric, error) {
	if e == 0 {
		r := &numeric{scale: rscale}
		r.coeff.Set(pow10(int(rscale)))
		return r, nil
	}
	if a.coeff.Sign() == 0 {
		return &numeric{scale: rscale}, nil
	}
	ae := e
	if ae < 0 {
		ae = -ae
	}
	// Estimate log10 of the result to refuse overflow (a result of 10^131072
	// or more does not fit) and to round underflow to zero before
	// computing anything large.
	w := numLog10(a) * float64(e)
	if w >= numericMaxIntDigits {
		return nil, errNumericOverflow
	}
	if w+1 < -float64(rscale) {
		return &numeric{scale: rscale}, nil // rounds to zero
	}
	if digits := len(a.coeff.String()) + int(a.scale); float64(digits)*float64(ae) > 4000 {
		// Too large to compute exactly: power_var_int's own precision
		// (the significant digits of the result plus guard digits).
		sig := 1 + int(rscale) + int(w) + int(math.Log(float64(ae))) + 30
		prec := uint(float64(sig)*3.33) + 64
		base := bigFloatFromNumeric(numAbs(a), prec)
		acc := new(big.Float).SetPrec(prec).SetInt64(1)
		for k := ae; k > 0; k >>= 1 {
			if k&1 == 1 {
				acc.Mul(acc, base)
			}
			base.Mul(base, base)
		}
		if e < 0 {
			acc.Quo(new(big.Float).SetPrec(prec).SetInt64(1), acc)
		}
		r := bigFloatToNumeric(acc, rscale)
		if a.coeff.Sign() < 0 && ae%2 == 1 {
			r = numNeg(r)
		}
		return checkNumeric(r)
	}
	num := new(big.Int).Exp(&a.coeff, big.NewInt(ae), nil)
	den := pow10(int(a.scale) * int(ae))
	if e < 0 {
		num, den = den, num
	}
	// value = num/den; result coefficient = round(num × 10^rscale / den)
	q := new(big.Int).Mul(num, pow10(int(rscale)))
	r := &numeric{scale: rscale}
	roundQuo(&r.coeff, q, den)
	return checkNumeric(r)
}

// numLog10 estimates log10 |n| of a non-zero finite numeric, whatever
// its magnitude (no float conversion, which would overflow).
func numLog10(n *numeric) float64 {
	digits := new(big.Int).Abs(&n.coeff).String()
	lead := digits
	if len(lead) > 17 {
		lead = lead[:17]
	}
	f, _ := strconv.ParseFloat(lead, 64)
	return math.Log10(f) + float64(len(digits)-len(lead)) - float64(n.scale)
}

// numPowReal computes a^b for a > 0 and non-integer b as power_var does:
// the result scale comes from an estimate of the result's weight, the value
// from a high-precision exp(b × ln a), rounded.
func numPowReal(a, b *numeric) (*numeric, error) {
	bf, _ := numToFloat(b, 64)
	val := numLog10(a) * math.Ln10 * bf
	// NUMERIC_MAX_RESULT_SCALE × 3 bounds what exp_var accepts.
	const maxExpArg = 2000 * 3
	if math.Abs(val) > maxExpArg*1.0033 {
		if val > 0 {
			return nil, errNumericOverflow
		}
		return &numeric{scale: numericMaxDisplayScale}, nil
	}
	lnVal := val
	val *= 0.434294481903252
	rscale := numericMinSigDigits - int(val)
	rscale = max(rscale, int(a.scale), int(b.scale), 0)
	rscale = min(rscale, numericMaxDisplayScale)
	sig := max(rscale+int(val), 0)
	prec := uint((sig+int(math.Abs(val))+40)*4) + 64
	x := bigFloatFromNumeric(a, prec)
	y := bigFloatFromNumeric(b, prec)
	ln := bigLog(x, prec)
	ln.Mul(ln, y)
	if f, _ := ln.Float64(); math.Abs(f) >= maxExpArg || math.Abs(lnVal) >= maxExpArg {
		if f > 0 {
			return nil, errNumericOverflow
		}
		return &numeric{scale: int32(rscale)}, nil
	}
	res := bigExp(ln, prec)
	return bigFloatToNumeric(res, int32(rscale)), nil
}

func bigFloatFromNumeric(n *numeric, prec uint) *big.Float {
	f := new(big.Float).SetPrec(prec).SetInt(&n.coeff)
	d := new(big.Float).SetPrec(prec).SetInt(pow10(int(n.scale)))
	return f.Quo(f, d)
}

// bigFloatToNumeric rounds f half away from zero to scale s.
func bigFloatToNumeric(f *big.Float, s int32) *numeric {
	scaled := new(big.Float).SetPrec(f.Prec()).Mul(f, new(big.Float).SetInt(pow10(int(s))))
	half := big.NewFloat(0.5)
	if scaled.Sign() < 0 {
		scaled.Sub(scaled, half)
	} else {
		scaled.Add(scaled, half)
	}
	r := &numeric{scale: s}
	scaled.Int(&r.coeff) // truncates toward zero
	return r
}

// bigLog returns ln(x) for x > 0 at the given precision (argument
// reduction by powers of two, then the atanh series).
func bigLog(x *big.Float, prec uint) *big.Float {
	p := prec + 32
	// x = m × 2^k with m in [0.5, 1)
	m := new(big.Float).SetPrec(p)
	k := x.MantExp(m)
	// ln(m) via 2·atanh((m-1)/(m+1))
	one := new(big.Float).SetPrec(p).SetInt64(1)
	num := new(big.Float).SetPrec(p).Sub(m, one)
	den := new(big.Float).SetPrec(p).Add(m, one)
	z := new(big.Float).SetPrec(p).Quo(num, den)
	z2 := new(big.Float).SetPrec(p).Mul(z, z)
	sum := new(big.Float).SetPrec(p).Set(z)
	term := new(big.Float).SetPrec(p).Set(z)
	eps := new(big.Float).SetPrec(p).SetMantExp(one, -int(p))
	for i := int64(3); ; i += 2 {
		term.Mul(term, z2)
		t := new(big.Float).SetPrec(p).Quo(term, new(big.Float).SetPrec(p).SetInt64(i))
		sum.Add(sum, t)
		if t.Sign() == 0 || new(big.Float).Abs(t).Cmp(eps) < 0 {
			break
		}
	}
	sum.Mul(sum, new(big.Float).SetPrec(p).SetInt64(2))
	if k != 0 {
		ln2 := bigLn2(p)
		sum.Add(sum, ln2.Mul(ln2, new(big.Float).SetPrec(p).SetInt64(int64(k))))
	}
	return sum
}

func bigLn2(p uint) *big.Float {
	// ln 2 = 2·atanh(1/3)
	one := new(big.Float).SetPrec(p).SetInt64(1)
	z := new(big.Float).SetPrec(p).Quo(one, new(big.Float).SetPrec(p).SetInt64(3))
	z2 := new(big.Float).SetPrec(p).Mul(z, z)
	sum := new(big.Float).SetPrec(p).Set(z)
	term := new(big.Float).SetPrec(p).Set(z)
	eps := new(big.Float).SetPrec(p).SetMantExp(one, -int(p))
	for i := int64(3); ; i += 2 {
		term.Mul(term, z2)
		t := new(big.Float).SetPrec(p).Quo(term, new(big.Float).SetPrec(p).SetInt64(i))
		sum.Add(sum, t)
		if t.Cmp(eps) < 0 {
			break
		}
	}
	return sum.Mul(sum, new(big.Float).SetPrec(p).SetInt64(2))
}

// bigExp returns e^x at the given precision (reduction by halving, Taylor
// series, repeated squaring).
func bigExp(x *big.Float, prec uint) *big.Float {
	p := prec + 64
	r := new(big.Float).SetPrec(p).Set(x)
	// Halve until |r| < 2^-8.
	n := 0
	lim := new(big.Float).SetPrec(p).SetMantExp(big.NewFloat(1), -8)
	for new(big.Float).Abs(r).Cmp(lim) > 0 {
		r.SetMantExp(r, -1)
		n++
	}
	one := new(big.Float).SetPrec(p).SetInt64(1)
	sum := new(big.Float).SetPrec(p).SetInt64(1)
	term := new(big.Float).SetPrec(p).SetInt64(1)
	eps := new(big.Float).SetPrec(p).SetMantExp(one, -int(p))
	for i := int64(1); ; i++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(p).SetInt64(i))
		sum.Add(sum, term)
		if term.Sign() == 0 || new(big.Float).Abs(term).Cmp(eps) < 0 {
			break
		}
	}
	for ; n > 0; n-- {
		sum.Mul(sum, sum)
	}
	return sum
}
