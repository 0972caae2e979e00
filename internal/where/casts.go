package where

import (
	"math"
	"math/big"
	"unicode/utf8"
)

// ioStable reports whether t's input (in) or output function is stable
// rather than immutable (it depends on DateStyle, TimeZone, …).
func ioStable(t pgType, in bool) bool {
	if t.array {
		return true // array_in, array_out
	}
	switch t.id {
	case tDate, tTimestamp, tTimestamptz, tInterval, tEnum:
		return true
	case tTime:
		return in
	}
	return false
}

// castImpl returns the implementation of a cast along path, and whether
// Postgres considers it stable.
func castImpl(from, to pgType, path castPath) (fnImpl, bool) {
	switch path {
	case pathRelabel:
		return func(a []datum) (datum, error) { return a[0], nil }, false
	case pathIO:
		if to.isString() {
			return func(a []datum) (datum, error) { return outputValue(from, a[0]), nil }, ioStable(from, false)
		}
		return func(a []datum) (datum, error) { return inputValue(to, a[0].(string)) }, ioStable(to, true)
	case pathArrayCoerce:
		ep := findCoercionPath(from.elem(), to.elem(), coerceExplicit)
		elem, stable := castImpl(from.elem(), to.elem(), ep)
		return func(a []datum) (datum, error) {
			arr := a[0].(*arrayVal)
			out := &arrayVal{dims: arr.dims, lbound: arr.lbound, elems: make([]datum, len(arr.elems))}
			for i, e := range arr.elems {
				if e == nil {
					continue
				}
				v, err := elem([]datum{e})
				if err != nil {
					return nil, err
				}
				out.elems[i] = v
			}
			return out, nil
		}, stable
	}
	return funcCast(from, to)
}

// funcCast implements the function casts of castTable.
func funcCast(from, to pgType) (fnImpl, bool) {
	one := func(f func(d datum) (datum, error)) fnImpl {
		return func(a []datum) (datum, error) { return f(a[0]) }
	}
	switch {
	case isIntType(from) && isIntType(to):
		bits := intBits(to)
		return one(func(d datum) (datum, error) {
			v := d.(int64)
			if !fitsInt(v, bits) {
				return nil, intOutOfRange(bits)
			}
			return v, nil
		}), false
	case isIntType(from) && to == typFloat4:
		return one(func(d datum) (datum, error) { return float32(d.(int64)), nil }), false
	case isIntType(from) && to == typFloat8:
		return one(func(d datum) (datum, error) { return float64(d.(int64)), nil }), false
	case isIntType(from) && to == typNumeric:
		return one(func(d datum) (datum, error) { return numFromInt(d.(int64)), nil }), false
	case from == typFloat4 && to == typFloat8:
		return one(func(d datum) (datum, error) { return float64(d.(float32)), nil }), false
	case from == typFloat8 && to == typFloat4:
		return one(func(d datum) (datum, error) { return float8To4(d.(float64)) }), false
	case isFloatType(from) && isIntType(to):
		bits := intBits(to)
		if from == typFloat4 {
			// ftoi4 and friends round the float4 value itself.
			return one(func(d datum) (datum, error) { return floatToInt(float64(d.(float32)), bits) }), false
		}
		return one(func(d datum) (datum, error) { return floatToInt(d.(float64), bits) }), false
	case isFloatType(from) && to == typNumeric:
		bits := 64
		if from == typFloat4 {
			bits = 32
		}
		return one(func(d datum) (datum, error) { return floatToNumeric(toF64(d), bits) }), false
	case from == typNumeric && isIntType(to):
		bits := intBits(to)
		return one(func(d datum) (datum, error) { return numToInt(d.(*numeric), bits) }), false
	case from == typNumeric && to == typFloat4:
		return one(func(d datum) (datum, error) {
			f, err := numToFloat(d.(*numeric), 32)
			return float32(f), err
		}), false
	case from == typNumeric && to == typFloat8:
		return one(func(d datum) (datum, error) { return numToFloat(d.(*numeric), 64) }), false
	case from == typInt4 && to == typBool:
		return one(func(d datum) (datum, error) { return d.(int64) != 0, nil }), false
	case from == typBool && to == typInt4:
		return one(func(d datum) (datum, error) {
			if d.(bool) {
				return int64(1), nil
			}
			return int64(0), nil
		}), false
	case from == typBool && to.isString():
		return one(func(d datum) (datum, error) { return castToText(typBool, d), nil }), false
	case from == typDate && (to == typTimestamp || to == typTimestamptz):
		return one(func(d datum) (datum, error) { return dateToTimestamp(d.(int64)) }), to == typTimestamptz
	case from == typTime && to == typInterval:
		return one(func(d datum) (datum, error) { return interval{usecs: d.(int64)}, nil }), false
	case (from == typTimestamp || from == typTimestamptz) && to == typDate:
		return one(func(d datum) (datum, error) { return timestampToDate(d.(int64)) }), from == typTimestamptz
	case (from == typTimestamp || from == typTimestamptz) && to == typTime:
		return one(func(d datum) (datum, error) {
			t := d.(int64)
			if !tsFinite(t) {
				return nil, nil
			}
			return timestampToTime(t)
		}), from == typTimestamptz
	case (from == typTimestamp && to == typTimestamptz) || (from == typTimestamptz && to == typTimestamp):
		return one(func(d datum) (datum, error) { return d, nil }), true
	case from == typInterval && to == typTime:
		return one(func(d datum) (datum, error) { return intervalToTime(d.(interval)), nil }), false
	case from == typJSONB:
		return jsonbCast(to), false
	}
	return func([]datum) (datum, error) { return nil, evalErrorf("cannot cast type %s to %s", from, to) }, false
}

func jsonbCast(to pgType) fnImpl {
	sqlName := typeInfos[to.id].sqlName
	return func(a []datum) (datum, error) {
		j := a[0].(jsonbVal)
		if to == typBool {
			v, err := jsonbScalar(j, "boolean", sqlName)
			if err != nil {
				return nil, err
			}
			return v.(bool), nil
		}
		v, err := jsonbScalar(j, "numeric", sqlName)
		if err != nil {
			return nil, err
		}
		n := v.(*numeric)
		switch {
		case isIntType(to):
			return numToInt(n, intBits(to))
		case to == typFloat4:
			f, err := numToFloat(n, 32)
			return float32(f), err
		case to == typFloat8:
			return numToFloat(n, 64)
		}
		return n, nil
	}
}

// applyTypmod applies a cast's type modifiers: varchar(n) truncates,
// numeric(p,s) rounds and range-checks, timestamp(p)/timestamptz(p)/time(p)
// round to p fractional digits.
func applyTypmod(n *node, t pgType, mods []int32, loc int) (*node, error) {
	e := elemOf(t)
	var f func(d datum) (datum, error)
	switch e.id {
	case tVarchar:
		if len(mods) != 1 {
			return nil, errAt(loc, "invalid type modifier")
		}
		l := int(mods[0])
		if l < 1 {
			return nil, errAt(loc, "length for type varchar must be at least 1")
		}
		if l > 10485760 {
			return nil, errAt(loc, "length for type varchar cannot exceed 10485760")
		}
		f = func(d datum) (datum, error) {
			s := d.(string)
			if utf8.RuneCountInString(s) <= l {
				return s, nil
			}
			return s[:runeByteOffset(s, l)], nil
		}
	case tNumeric:
		if len(mods) < 1 || len(mods) > 2 {
			return nil, errAt(loc, "invalid NUMERIC type modifier")
		}
		p := int(mods[0])
		s := 0
		if len(mods) == 2 {
			s = int(mods[1])
		}
		if p < 1 || p > 1000 {
			return nil, errAt(loc, "NUMERIC precision %d must be between 1 and 1000", p)
		}
		if s < -1000 || s > 1000 {
			return nil, errAt(loc, "NUMERIC scale %d must be between -1000 and 1000", s)
		}
		f = func(d datum) (datum, error) { return numApplyTypmod(d.(*numeric), p, s) }
	case tTimestamp, tTimestamptz, tTime:
		if len(mods) != 1 {
			return nil, errAt(loc, "invalid type modifier")
		}
		p := int(mods[0])
		if p < 0 {
			return nil, errAt(loc, "%s(%d) precision must not be negative", map[typeID]string{tTimestamp: "TIMESTAMP", tTimestamptz: "TIMESTAMP", tTime: "TIME"}[e.id], p)
		}
		p = min(p, 6)
		isTime := e.id == tTime
		f = func(d datum) (datum, error) { return roundTimeTypmod(d.(int64), p, isTime) }
	default:
		return nil, errAt(loc, "type modifier is not allowed for type %s", e)
	}
	impl := fnImpl(func(a []datum) (datum, error) { return f(a[0]) })
	if t.array {
		impl = func(a []datum) (datum, error) {
			arr := a[0].(*arrayVal)
			out := &arrayVal{dims: arr.dims, lbound: arr.lbound, elems: make([]datum, len(arr.elems))}
			for i, x := range arr.elems {
				if x == nil {
					continue
				}
				v, err := f(x)
				if err != nil {
					return nil, err
				}
				out.elems[i] = v
			}
			return out, nil
		}
	}
	return &node{kind: nFunc, typ: t, loc: loc, args: []*node{n}, impl: impl, strict: true, name: "typmod", coll: n.coll}, nil
}

func numApplyTypmod(n *numeric, p, s int) (*numeric, error) {
	switch n.kind {
	case numNaN:
		return n, nil
	case numPosInf, numNegInf:
		return nil, evalErrorf("numeric field overflow")
	}
	var r *numeric
	if s >= 0 {
		r = numRound(n, int32(s))
	} else {
		q := &numeric{}
		roundQuo(&q.coeff, &n.coeff, pow10(int(n.scale)-s))
		q.coeff.Mul(&q.coeff, pow10(-s))
		r = q
	}
	if r.coeff.Sign() != 0 {
		digits := len(new(big.Int).Abs(&r.coeff).String()) - int(r.scale)
		if digits > p-s {
			return nil, evalErrorf("numeric field overflow")
		}
	}
	return r, nil
}

// roundTimeTypmod is AdjustTimestampForTypmod / AdjustTimeForTypmod.
func roundTimeTypmod(t int64, p int, isTime bool) (datum, error) {
	if !isTime && !tsFinite(t) {
		return t, nil
	}
	scale := int64(math.Pow10(6 - p))
	off := scale / 2
	if t >= 0 {
		t = (t + off) / scale * scale
	} else {
		t = -(((-t) + off) / scale * scale)
	}
	if !isTime && !validTimestamp(t) {
		return nil, errTimestampRange
	}
	return t, nil
}
