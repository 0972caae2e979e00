package where

import (
	"math"
	"strings"
)

// fnImpl evaluates a function on its (coerced) arguments. For strict
// functions the arguments are never NULL.
type fnImpl func(args []datum) (datum, error)

// procDef is one operator or function of the catalog: Postgres'
// pg_operator/pg_proc entries for the supported types. An entry without
// build is known (so overload resolution picks what Postgres picks) but
// not supported by Galvani.
type procDef struct {
	name     string
	args     []pgType
	variadic bool // VARIADIC "any": any number of arguments of any type
	result   pgType
	// build returns the implementation for the resolved argument types.
	build func(argTypes []pgType) fnImpl
	// stable functions depend on session settings (time zone, output
	// formats); Postgres does not fold them at plan time.
	stable bool
	// stableArg, when non-zero, makes the call stable exactly when the
	// output function of argument stableArg-1 is: textanycat and
	// anytextcat are SQL functions the planner inlines into a cast.
	stableArg int
	// nonStrict functions are called with NULL arguments.
	nonStrict bool
	// ordering marks ordering comparisons of text (collation-sensitive),
	// of arrays and of enums (by the enum's sort order).
	ordering bool
	// casing marks collation-sensitive case mapping (lower, upper, ILIKE).
	casing bool
	prefix bool // a prefix operator
}

var typNone = pgType{id: numTypeIDs} // the missing left argument of a prefix operator

var (
	intTypes   = []pgType{typInt2, typInt4, typInt8}
	floatTypes = []pgType{typFloat4, typFloat8}
)

func intBits(t pgType) int {
	switch t.id {
	case tInt2:
		return 16
	case tInt4:
		return 32
	}
	return 64
}

func isIntType(t pgType) bool {
	return !t.array && (t.id == tInt2 || t.id == tInt4 || t.id == tInt8)
}

func isFloatType(t pgType) bool { return !t.array && (t.id == tFloat4 || t.id == tFloat8) }

func isTextType(t pgType) bool { return !t.array && (t.id == tText || t.id == tVarchar) }

func toF64(d datum) float64 {
	if f, ok := d.(float32); ok {
		return float64(f)
	}
	return d.(float64)
}

// wider returns the integer type with more bits.
func wider(a, b pgType) pgType {
	if intBits(a) >= intBits(b) {
		return a
	}
	return b
}

// operators maps an operator name to its candidates.
var operators = buildOperators()

// functions maps a function name to its candidates.
var functions = buildFunctions()

type catalogBuilder map[string][]*procDef

func (c catalogBuilder) add(p *procDef) { c[p.name] = append(c[p.name], p) }

func (c catalogBuilder) bin(name string, l, r, res pgType, build func([]pgType) fnImpl) *procDef {
	p := &procDef{name: name, args: []pgType{l, r}, result: res, build: build}
	c.add(p)
	return p
}

func (c catalogBuilder) pre(name string, a, res pgType, build func([]pgType) fnImpl) *procDef {
	p := &procDef{name: name, args: []pgType{a}, result: res, build: build, prefix: true}
	c.add(p)
	return p
}

// fixed wraps an implementation that does not depend on argument types.
func fixed(f fnImpl) func([]pgType) fnImpl { return func([]pgType) fnImpl { return f } }

var comparisonOps = []string{"=", "<>", "<", ">", "<=", ">="}

func cmpTest(op string) func(int) bool {
	switch op {
	case "=":
		return func(c int) bool { return c == 0 }
	case "<>":
		return func(c int) bool { return c != 0 }
	case "<":
		return func(c int) bool { return c < 0 }
	case ">":
		return func(c int) bool { return c > 0 }
	case "<=":
		return func(c int) bool { return c <= 0 }
	}
	return func(c int) bool { return c >= 0 }
}

// comparator compares values of types l and r as the cross-type
// comparison functions of Postgres do.
func comparator(l, r pgType) func(a, b datum) int {
	switch {
	case l == r:
		return func(a, b datum) int { return compareSame(l, a, b) }
	case isIntType(l) && isIntType(r):
		return func(a, b datum) int { return cmpInt(a.(int64), b.(int64)) }
	case isFloatType(l) && isFloatType(r):
		return func(a, b datum) int { return cmpFloat(toF64(a), toF64(b)) }
	case l == typDate:
		return func(a, b datum) int { return cmpInt(dateToTimestampNoOverflow(a.(int64)), b.(int64)) }
	case r == typDate:
		return func(a, b datum) int { return cmpInt(a.(int64), dateToTimestampNoOverflow(b.(int64))) }
	}
	// timestamp vs timestamptz: the session time zone is UTC.
	return func(a, b datum) int { return cmpInt(a.(int64), b.(int64)) }
}

func cmpBuild(op string) func([]pgType) fnImpl {
	test := cmpTest(op)
	return func(at []pgType) fnImpl {
		cmp := comparator(at[0], at[1])
		return func(a []datum) (datum, error) { return test(cmp(a[0], a[1])), nil }
	}
}

func (c catalogBuilder) comparisons(l, r pgType) {
	for _, op := range comparisonOps {
		p := c.bin(op, l, r, typBool, cmpBuild(op))
		p.ordering = op != "=" && op != "<>" && (isTextType(l) || l.id == tAnyArray || l.id == tAnyEnum)
		// Cross-type comparisons with timestamptz depend on the time zone.
		p.stable = l != r && (l == typTimestamptz || r == typTimestamptz)
	}
}

func buildOperators() map[string][]*procDef {
	c := catalogBuilder{}

	// Integers.
	for _, l := range intTypes {
		for _, r := range intTypes {
			c.comparisons(l, r)
			res := wider(l, r)
			bits := intBits(res)
			c.bin("+", l, r, res, fixed(intOp(bits, addInt)))
			c.bin("-", l, r, res, fixed(intOp(bits, subInt)))
			c.bin("*", l, r, res, fixed(intOp(bits, mulInt)))
			c.bin("/", l, r, res, fixed(intOp(bits, divInt)))
		}
		t := l
		bits := intBits(t)
		c.bin("%", t, t, t, fixed(intOp(bits, modInt)))
		c.bin("&", t, t, t, fixed(func(a []datum) (datum, error) { return a[0].(int64) & a[1].(int64), nil }))
		c.bin("|", t, t, t, fixed(func(a []datum) (datum, error) { return a[0].(int64) | a[1].(int64), nil }))
		c.bin("#", t, t, t, fixed(func(a []datum) (datum, error) { return a[0].(int64) ^ a[1].(int64), nil }))
		c.bin("<<", t, typInt4, t, fixed(shiftOp(bits, true)))
		c.bin(">>", t, typInt4, t, fixed(shiftOp(bits, false)))
		c.pre("-", t, t, fixed(func(a []datum) (datum, error) { return negInt(a[0].(int64), bits) }))
		c.pre("+", t, t, fixed(func(a []datum) (datum, error) { return a[0], nil }))
		c.pre("@", t, t, fixed(func(a []datum) (datum, error) {
			v := a[0].(int64)
			if v < 0 {
				return negInt(v, bits)
			}
			return v, nil
		}))
		c.pre("~", t, t, fixed(func(a []datum) (datum, error) { return ^a[0].(int64), nil }))
	}
	c.bin("+", typInt4, typDate, typDate, fixed(func(a []datum) (datum, error) { return datePlusDays(a[1].(int64), a[0].(int64)) }))

	// Floats.
	for _, l := range floatTypes {
		for _, r := range floatTypes {
			c.comparisons(l, r)
			if l == typFloat4 && r == typFloat4 {
				c.bin("+", l, r, l, fixed(f4Op(float4Add)))
				c.bin("-", l, r, l, fixed(f4Op(float4Sub)))
				c.bin("*", l, r, l, fixed(f4Op(float4Mul)))
				c.bin("/", l, r, l, fixed(f4Op(float4Div)))
			} else {
				c.bin("+", l, r, typFloat8, fixed(f8Op(float8Add)))
				c.bin("-", l, r, typFloat8, fixed(f8Op(float8Sub)))
				c.bin("*", l, r, typFloat8, fixed(f8Op(float8Mul)))
				c.bin("/", l, r, typFloat8, fixed(f8Op(float8Div)))
			}
		}
	}
	c.pre("-", typFloat4, typFloat4, fixed(func(a []datum) (datum, error) { return -a[0].(float32), nil }))
	c.pre("-", typFloat8, typFloat8, fixed(func(a []datum) (datum, error) { return -a[0].(float64), nil }))
	c.pre("+", typFloat4, typFloat4, fixed(func(a []datum) (datum, error) { return a[0], nil }))
	c.pre("+", typFloat8, typFloat8, fixed(func(a []datum) (datum, error) { return a[0], nil }))
	c.pre("@", typFloat4, typFloat4, fixed(func(a []datum) (datum, error) {
		return float32(math.Abs(float64(a[0].(float32)))), nil
	}))
	c.pre("@", typFloat8, typFloat8, fixed(func(a []datum) (datum, error) { return math.Abs(a[0].(float64)), nil }))
	c.bin("^", typFloat8, typFloat8, typFloat8, fixed(f8Op(float8Pow)))
	c.pre("|/", typFloat8, typFloat8, fixed(func(a []datum) (datum, error) { return float8Sqrt(a[0].(float64)) }))
	c.pre("||/", typFloat8, typFloat8, nil) // cube root: libm's cbrt cannot be matched bit for bit

	// Numeric.
	c.comparisons(typNumeric, typNumeric)
	c.bin("+", typNumeric, typNumeric, typNumeric, fixed(numOp(numAdd)))
	c.bin("-", typNumeric, typNumeric, typNumeric, fixed(numOp(numSub)))
	c.bin("*", typNumeric, typNumeric, typNumeric, fixed(numOp(numMul)))
	c.bin("/", typNumeric, typNumeric, typNumeric, fixed(numOp(numDiv)))
	c.bin("%", typNumeric, typNumeric, typNumeric, fixed(numOp(numMod)))
	c.bin("^", typNumeric, typNumeric, typNumeric, fixed(numOp(numPow)))
	c.pre("-", typNumeric, typNumeric, fixed(func(a []datum) (datum, error) { return numNeg(a[0].(*numeric)), nil }))
	c.pre("+", typNumeric, typNumeric, fixed(func(a []datum) (datum, error) { return a[0], nil }))
	c.pre("@", typNumeric, typNumeric, fixed(func(a []datum) (datum, error) { return numAbs(a[0].(*numeric)), nil }))

	// Enums: the anyenum comparisons, by the labels' sort order.
	c.comparisons(pgType{id: tAnyEnum}, pgType{id: tAnyEnum})

	// Booleans, uuids, byteas.
	c.comparisons(typBool, typBool)
	c.comparisons(typUUID, typUUID)
	c.comparisons(typBytea, typBytea)
	c.bin("||", typBytea, typBytea, typBytea, fixed(func(a []datum) (datum, error) {
		return a[0].(byteaVal) + a[1].(byteaVal), nil
	}))
	c.bin("~~", typBytea, typBytea, typBool, fixed(func(a []datum) (datum, error) {
		return likeBytes(string(a[0].(byteaVal)), string(a[1].(byteaVal)))
	}))
	c.bin("!~~", typBytea, typBytea, typBool, fixed(func(a []datum) (datum, error) {
		m, err := likeBytes(string(a[0].(byteaVal)), string(a[1].(byteaVal)))
		return !m, err
	}))

	// Text.
	c.comparisons(typText, typText)
	c.bin("||", typText, typText, typText, fixed(func(a []datum) (datum, error) { return a[0].(string) + a[1].(string), nil }))
	anyNonArray := pgType{id: tAnyNonArray}
	c.bin("||", typText, anyNonArray, typText, func(at []pgType) fnImpl {
		return func(a []datum) (datum, error) { return a[0].(string) + castToText(at[1], a[1]), nil }
	}).stableArg = 2
	c.bin("||", anyNonArray, typText, typText, func(at []pgType) fnImpl {
		return func(a []datum) (datum, error) { return castToText(at[0], a[0]) + a[1].(string), nil }
	}).stableArg = 1
	c.bin("~~", typText, typText, typBool, fixed(func(a []datum) (datum, error) { return likeText(a[0].(string), a[1].(string)) }))
	c.bin("!~~", typText, typText, typBool, fixed(func(a []datum) (datum, error) {
		m, err := likeText(a[0].(string), a[1].(string))
		return !m, err
	}))
	c.bin("~~*", typText, typText, typBool, nil).casing = true
	c.bin("!~~*", typText, typText, typBool, nil).casing = true
	for _, op := range []string{"~<~", "~<=~", "~>=~", "~>~"} {
		test := cmpTest(strings.Trim(op, "~"))
		c.bin(op, typText, typText, typBool, fixed(func(a []datum) (datum, error) {
			return test(strings.Compare(a[0].(string), a[1].(string))), nil
		}))
	}
	for _, op := range []string{"~", "~*", "!~", "!~*", "^@", "@@"} {
		c.bin(op, typText, typText, typBool, nil)
	}

	// Dates and times.
	dt := []pgType{typDate, typTimestamp, typTimestamptz}
	for _, l := range dt {
		for _, r := range dt {
			c.comparisons(l, r)
		}
	}
	c.comparisons(typTime, typTime)
	c.comparisons(typInterval, typInterval)
	c.bin("+", typDate, typInt4, typDate, fixed(func(a []datum) (datum, error) { return datePlusDays(a[0].(int64), a[1].(int64)) }))
	c.bin("-", typDate, typInt4, typDate, fixed(func(a []datum) (datum, error) { return datePlusDays(a[0].(int64), -a[1].(int64)) }))
	c.bin("-", typDate, typDate, typInt4, fixed(func(a []datum) (datum, error) {
		x, y := a[0].(int64), a[1].(int64)
		if !dateFinite(x) || !dateFinite(y) {
			return nil, evalErrorf("cannot subtract infinite dates")
		}
		return x - y, nil
	}))
	c.bin("+", typDate, typTime, typTimestamp, fixed(func(a []datum) (datum, error) { return datePlusTime(a[0].(int64), a[1].(int64)) }))
	c.bin("+", typTime, typDate, typTimestamp, fixed(func(a []datum) (datum, error) { return datePlusTime(a[1].(int64), a[0].(int64)) }))
	c.bin("+", typDate, typInterval, typTimestamp, fixed(func(a []datum) (datum, error) {
		return datePlusInterval(a[0].(int64), a[1].(interval), false)
	}))
	c.bin("+", typInterval, typDate, typTimestamp, fixed(func(a []datum) (datum, error) {
		return datePlusInterval(a[1].(int64), a[0].(interval), false)
	}))
	c.bin("-", typDate, typInterval, typTimestamp, fixed(func(a []datum) (datum, error) {
		return datePlusInterval(a[0].(int64), a[1].(interval), true)
	}))
	c.bin("+", typTime, typInterval, typTime, fixed(func(a []datum) (datum, error) {
		return timePlusInterval(a[0].(int64), a[1].(interval)), nil
	}))
	c.bin("+", typInterval, typTime, typTime, fixed(func(a []datum) (datum, error) {
		return timePlusInterval(a[1].(int64), a[0].(interval)), nil
	}))
	c.bin("-", typTime, typInterval, typTime, fixed(func(a []datum) (datum, error) {
		iv := a[1].(interval)
		return timePlusInterval(a[0].(int64), interval{usecs: -iv.usecs}), nil
	}))
	c.bin("-", typTime, typTime, typInterval, fixed(func(a []datum) (datum, error) {
		return interval{usecs: a[0].(int64) - a[1].(int64)}, nil
	}))
	for _, ts := range []pgType{typTimestamp, typTimestamptz} {
		tz := ts == typTimestamptz // day and month steps depend on the time zone
		c.bin("+", ts, typInterval, ts, fixed(func(a []datum) (datum, error) {
			return timestampPlusInterval(a[0].(int64), a[1].(interval))
		})).stable = tz
		c.bin("+", typInterval, ts, ts, fixed(func(a []datum) (datum, error) {
			return timestampPlusInterval(a[1].(int64), a[0].(interval))
		})).stable = tz
		c.bin("-", ts, typInterval, ts, fixed(func(a []datum) (datum, error) {
			neg, err := intervalNeg(a[1].(interval))
			if err != nil {
				return nil, err
			}
			return timestampPlusInterval(a[0].(int64), neg)
		})).stable = tz
		c.bin("-", ts, ts, typInterval, fixed(func(a []datum) (datum, error) {
			return timestampMinus(a[0].(int64), a[1].(int64))
		}))
	}
	c.bin("+", typInterval, typInterval, typInterval, fixed(func(a []datum) (datum, error) {
		return intervalAdd(a[0].(interval), a[1].(interval))
	}))
	c.bin("-", typInterval, typInterval, typInterval, fixed(func(a []datum) (datum, error) {
		return intervalSub(a[0].(interval), a[1].(interval))
	}))
	c.pre("-", typInterval, typInterval, fixed(func(a []datum) (datum, error) { return intervalNeg(a[0].(interval)) }))
	c.bin("*", typInterval, typFloat8, typInterval, fixed(func(a []datum) (datum, error) {
		return intervalMul(a[0].(interval), a[1].(float64))
	}))
	c.bin("*", typFloat8, typInterval, typInterval, fixed(func(a []datum) (datum, error) {
		return intervalMul(a[1].(interval), a[0].(float64))
	}))
	c.bin("/", typInterval, typFloat8, typInterval, fixed(func(a []datum) (datum, error) {
		return intervalDiv(a[0].(interval), a[1].(float64))
	}))

	// jsonb: known to Postgres, not supported here.
	for _, op := range append(append([]string{}, comparisonOps...), "@>", "<@", "||") {
		c.bin(op, typJSONB, typJSONB, typBool, nil)
	}
	c.bin("?", typJSONB, typText, typBool, nil)
	c.bin("-", typJSONB, typText, typJSONB, nil)
	c.bin("-", typJSONB, typInt4, typJSONB, nil)
	c.bin("->", typJSONB, typText, typJSONB, nil)
	c.bin("->", typJSONB, typInt4, typJSONB, nil)
	c.bin("->>", typJSONB, typText, typText, nil)
	c.bin("->>", typJSONB, typInt4, typText, nil)

	// Arrays.
	anyArray := pgType{id: tAnyArray}
	anyCompat := pgType{id: tAnyCompatible}
	anyCompatArray := pgType{id: tAnyCompatibleArray}
	c.comparisons(anyArray, anyArray)
	c.bin("@>", anyArray, anyArray, typBool, func(at []pgType) fnImpl {
		elem := at[0].elem()
		return func(a []datum) (datum, error) { return arrayContains(elem, a[0].(*arrayVal), a[1].(*arrayVal)), nil }
	})
	c.bin("<@", anyArray, anyArray, typBool, func(at []pgType) fnImpl {
		elem := at[0].elem()
		return func(a []datum) (datum, error) { return arrayContains(elem, a[1].(*arrayVal), a[0].(*arrayVal)), nil }
	})
	c.bin("&&", anyArray, anyArray, typBool, func(at []pgType) fnImpl {
		elem := at[0].elem()
		return func(a []datum) (datum, error) { return arrayOverlap(elem, a[0].(*arrayVal), a[1].(*arrayVal)), nil }
	})
	c.bin("||", anyCompatArray, anyCompatArray, anyCompatArray, fixed(arrayCatImpl)).nonStrict = true
	c.bin("||", anyCompat, anyCompatArray, anyCompatArray, fixed(arrayPrependImpl)).nonStrict = true
	c.bin("||", anyCompatArray, anyCompat, anyCompatArray, fixed(arrayAppendImpl)).nonStrict = true
	return c
}

func buildFunctions() map[string][]*procDef {
	c := catalogBuilder{}
	fn := func(name string, args []pgType, res pgType, build func([]pgType) fnImpl) *procDef {
		p := &procDef{name: name, args: args, result: res, build: build}
		c.add(p)
		return p
	}
	fn("lower", []pgType{typText}, typText, nil).casing = true
	fn("upper", []pgType{typText}, typText, nil).casing = true
	fn("like", []pgType{typText, typText}, typBool, fixed(func(a []datum) (datum, error) { return likeText(a[0].(string), a[1].(string)) }))
	fn("like", []pgType{typBytea, typBytea}, typBool, fixed(func(a []datum) (datum, error) {
		return likeBytes(string(a[0].(byteaVal)), string(a[1].(byteaVal)))
	}))
	fn("notlike", []pgType{typText, typText}, typBool, fixed(func(a []datum) (datum, error) {
		m, err := likeText(a[0].(string), a[1].(string))
		return !m, err
	}))
	fn("notlike", []pgType{typBytea, typBytea}, typBool, fixed(func(a []datum) (datum, error) {
		m, err := likeBytes(string(a[0].(byteaVal)), string(a[1].(byteaVal)))
		return !m, err
	}))
	fn("like_escape", []pgType{typText, typText}, typText, fixed(func(a []datum) (datum, error) {
		return likeEscape(a[0].(string), a[1].(string))
	}))
	fn("like_escape", []pgType{typBytea, typBytea}, typBytea, fixed(func(a []datum) (datum, error) {
		r, err := likeEscape(string(a[0].(byteaVal)), string(a[1].(byteaVal)))
		if err != nil {
			return nil, err
		}
		return byteaVal(r.(string)), nil
	}))
	p := &procDef{name: "concat", variadic: true, result: typText, nonStrict: true, stable: true, build: func(at []pgType) fnImpl {
		return func(a []datum) (datum, error) {
			var b strings.Builder
			for i, d := range a {
				if d != nil {
					b.WriteString(outputValue(at[i], d))
				}
			}
			return b.String(), nil
		}
	}}
	c.add(p)
	anyArray := pgType{id: tAnyArray}
	anyCompat := pgType{id: tAnyCompatible}
	anyCompatArray := pgType{id: tAnyCompatibleArray}
	fn("array_cat", []pgType{anyCompatArray, anyCompatArray}, anyCompatArray, fixed(arrayCatImpl)).nonStrict = true
	fn("array_append", []pgType{anyCompatArray, anyCompat}, anyCompatArray, fixed(arrayAppendImpl)).nonStrict = true
	fn("array_prepend", []pgType{anyCompat, anyCompatArray}, anyCompatArray, fixed(arrayPrependImpl)).nonStrict = true
	fn("array_ndims", []pgType{anyArray}, typInt4, fixed(func(a []datum) (datum, error) {
		arr := a[0].(*arrayVal)
		if arr.ndims() == 0 {
			return nil, nil
		}
		return int64(arr.ndims()), nil
	}))
	fn("timezone", []pgType{typText, typTimestamp}, typTimestamptz, fixed(func(a []datum) (datum, error) {
		return timezoneOfTimestamp(a[0].(string), a[1].(int64))
	}))
	fn("timezone", []pgType{typText, typTimestamptz}, typTimestamp, fixed(func(a []datum) (datum, error) {
		return timezoneOfTimestamptz(a[0].(string), a[1].(int64))
	}))
	fn("timezone", []pgType{typInterval, typTimestamp}, typTimestamptz, fixed(func(a []datum) (datum, error) {
		return timezoneInterval(a[0].(interval), a[1].(int64), false)
	}))
	fn("timezone", []pgType{typInterval, typTimestamptz}, typTimestamp, fixed(func(a []datum) (datum, error) {
		return timezoneInterval(a[0].(interval), a[1].(int64), true)
	}))
	timetz := pgType{id: tTimetz}
	fn("timezone", []pgType{typText, timetz}, timetz, nil) // timetz is not supported
	fn("timezone", []pgType{typInterval, timetz}, timetz, nil)
	fn("justify_days", []pgType{typInterval}, typInterval, fixed(func(a []datum) (datum, error) { return justifyDays(a[0].(interval)) }))
	fn("justify_hours", []pgType{typInterval}, typInterval, fixed(func(a []datum) (datum, error) { return justifyHours(a[0].(interval)) }))
	fn("justify_interval", []pgType{typInterval}, typInterval, fixed(func(a []datum) (datum, error) {
		return justifyInterval(a[0].(interval))
	}))
	return c
}

func intOp(bits int, f func(a, b int64) (int64, bool, error)) fnImpl {
	return func(a []datum) (datum, error) {
		r, ok, err := f(a[0].(int64), a[1].(int64))
		if err != nil {
			return nil, err
		}
		if !ok || !fitsInt(r, bits) {
			return nil, intOutOfRange(bits)
		}
		return r, nil
	}
}

func addInt(a, b int64) (int64, bool, error) {
	r := a + b
	return r, !((a > 0 && b > 0 && r < 0) || (a < 0 && b < 0 && r >= 0)), nil
}

func subInt(a, b int64) (int64, bool, error) {
	r := a - b
	return r, !((a >= 0 && b < 0 && r < 0) || (a < 0 && b > 0 && r >= 0)), nil
}

func mulInt(a, b int64) (int64, bool, error) {
	if a == 0 || b == 0 {
		return 0, true, nil
	}
	r := a * b
	if (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) || r/b != a {
		return 0, false, nil
	}
	return r, true, nil
}

func divInt(a, b int64) (int64, bool, error) {
	if b == 0 {
		return 0, false, errDivisionByZero
	}
	if b == -1 {
		if a == math.MinInt64 {
			return 0, false, nil
		}
		return -a, true, nil
	}
	return a / b, true, nil
}

func modInt(a, b int64) (int64, bool, error) {
	if b == 0 {
		return 0, false, errDivisionByZero
	}
	if b == -1 {
		return 0, true, nil
	}
	return a % b, true, nil
}

func negInt(v int64, bits int) (datum, error) {
	if v == math.MinInt64 || !fitsInt(-v, bits) {
		return nil, intOutOfRange(bits)
	}
	return -v, nil
}

// shiftOp is int2shl/int4shl/int8shl and the right shifts, as compiled C
// computes them on x86-64: the count is masked to the operand width (5 bits
// for int2 and int4, which C promotes to int; 6 bits for int8).
func shiftOp(bits int, left bool) fnImpl {
	return func(a []datum) (datum, error) {
		v, n := a[0].(int64), a[1].(int64)
		switch bits {
		case 16, 32:
			x, c := int32(v), uint(n&31)
			if left {
				x <<= c
			} else {
				x >>= c
			}
			if bits == 16 {
				return int64(int16(x)), nil
			}
			return int64(x), nil
		}
		c := uint(n & 63)
		if left {
			return v << c, nil
		}
		return v >> c, nil
	}
}

func f4Op(f func(a, b float32) (float32, error)) fnImpl {
	return func(a []datum) (datum, error) { return f(a[0].(float32), a[1].(float32)) }
}

func f8Op(f func(a, b float64) (float64, error)) fnImpl {
	return func(a []datum) (datum, error) { return f(toF64(a[0]), toF64(a[1])) }
}

func numOp(f func(a, b *numeric) (*numeric, error)) fnImpl {
	return func(a []datum) (datum, error) {
		r, err := f(a[0].(*numeric), a[1].(*numeric))
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

func datePlusTime(d, t int64) (datum, error) {
	ts, err := dateToTimestamp(d)
	if err != nil {
		return nil, err
	}
	if !tsFinite(ts) {
		return ts, nil
	}
	ts += t
	if !validTimestamp(ts) {
		return nil, errTimestampRange
	}
	return ts, nil
}

func datePlusInterval(d int64, iv interval, minus bool) (datum, error) {
	ts, err := dateToTimestamp(d)
	if err != nil {
		return nil, err
	}
	if minus {
		if iv, err = intervalNeg(iv); err != nil {
			return nil, err
		}
	}
	return timestampPlusInterval(ts, iv)
}

// timezoneInterval is timestamp_izone (toLocal false: timestamp →
// timestamptz) and timestamptz_izone (toLocal true).
func timezoneInterval(zone interval, t int64, toLocal bool) (datum, error) {
	if zone.months != 0 || zone.days != 0 {
		return nil, evalErrorf("interval time zone %s must not include months or days", quoteForMessage(formatInterval(zone)))
	}
	if !tsFinite(t) {
		return t, nil
	}
	off := zone.usecs / usecsPerSec * usecsPerSec
	var r int64
	if toLocal {
		r = t + off
	} else {
		r = t - off
	}
	if !validTimestamp(r) {
		return nil, errTimestampRange
	}
	return r, nil
}
