package where

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
)

// datum is one evaluated value; nil is SQL NULL. The Go representation
// depends on the static type:
//
//	bool                         bool
//	int2, int4, int8             int64
//	float4                       float32
//	float8                       float64
//	numeric                      *numeric
//	text, varchar, enum          string
//	bytea                        byteaVal
//	uuid                         uuidVal
//	jsonb                        jsonbVal
//	date                         int64 (days from 2000-01-01)
//	time                         int64 (microseconds from midnight)
//	timestamp, timestamptz       int64 (microseconds from 2000-01-01)
//	interval                     interval
//	arrays                       *arrayVal
type datum = any

type byteaVal string

type uuidVal [16]byte

// arrayVal is a Postgres array: dims and lower bounds per dimension and
// the elements in row-major order (nil for NULL). An empty array has no
// dimensions.
type arrayVal struct {
	dims   []int
	lbound []int
	elems  []datum
}

func (a *arrayVal) ndims() int { return len(a.dims) }

func newArray1(elems []datum) *arrayVal {
	if len(elems) == 0 {
		return &arrayVal{}
	}
	return &arrayVal{dims: []int{len(elems)}, lbound: []int{1}, elems: elems}
}

// maxArrayElems bounds array sizes (Postgres' MaxArraySize is larger; this
// keeps evaluation of hostile input cheap).
const maxArrayElems = 1 << 20

// inputValue is the input function of type t: it parses s as Postgres
// would parse the literal 's'::t.
func inputValue(t pgType, s string) (datum, error) {
	if t.array {
		return parseArray(t.elem(), s)
	}
	switch t.id {
	case tBool:
		return parseBool(s)
	case tInt2:
		return parseInt(s, 16)
	case tInt4:
		return parseInt(s, 32)
	case tInt8:
		return parseInt(s, 64)
	case tFloat4:
		return parseFloat4(s)
	case tFloat8:
		return parseFloat8(s)
	case tNumeric:
		return parseNumeric(s)
	case tText, tVarchar, tEnum, tUnknown:
		if strings.IndexByte(s, 0) >= 0 {
			return nil, evalErrorf("invalid byte sequence for encoding \"UTF8\": 0x00")
		}
		return s, nil
	case tUUID:
		return parseUUID(s)
	case tBytea:
		return parseBytea(s)
	case tJSONB:
		return parseJSONB(s)
	case tDate:
		return parseDate(s)
	case tTime:
		return parseTime(s)
	case tTimestamp:
		return parseTimestamp(s, false)
	case tTimestamptz:
		return parseTimestamp(s, true)
	case tInterval:
		return parseInterval(s)
	}
	return nil, evalErrorf("cannot read values of type %s", t)
}

// outputValue is the output function of type t.
func outputValue(t pgType, d datum) string {
	if t.array {
		return formatArray(t.elem(), d.(*arrayVal))
	}
	switch t.id {
	case tBool:
		if d.(bool) {
			return "t"
		}
		return "f"
	case tInt2, tInt4, tInt8:
		return strconv.FormatInt(d.(int64), 10)
	case tFloat4:
		return formatFloat4(d.(float32))
	case tFloat8:
		return formatFloat8(d.(float64))
	case tNumeric:
		return d.(*numeric).String()
	case tText, tVarchar, tEnum, tUnknown:
		return d.(string)
	case tUUID:
		return formatUUID(d.(uuidVal))
	case tBytea:
		return `\x` + hex.EncodeToString([]byte(d.(byteaVal)))
	case tJSONB:
		return d.(jsonbVal).String()
	case tDate:
		return formatDate(d.(int64))
	case tTime:
		return formatTime(d.(int64))
	case tTimestamp:
		return formatTimestamp(d.(int64), false)
	case tTimestamptz:
		return formatTimestamp(d.(int64), true)
	case tInterval:
		return formatInterval(d.(interval))
	}
	return ""
}

// parseBool is boolin: case-insensitive prefixes of true/false/yes/no,
// on/off (at least two letters), 1/0.
func parseBool(s string) (bool, error) {
	t := strings.ToLower(trimCSpace(s))
	if t != "" {
		switch {
		case strings.HasPrefix("true", t), strings.HasPrefix("yes", t), t == "1":
			return true, nil
		case strings.HasPrefix("false", t), strings.HasPrefix("no", t), t == "0":
			return false, nil
		case len(t) >= 2 && strings.HasPrefix("on", t):
			return true, nil
		case len(t) >= 2 && strings.HasPrefix("off", t):
			return false, nil
		}
	}
	return false, invalidInput("boolean", s)
}

// parseInt is int2in/int4in/int8in (Postgres 15): optional whitespace and
// sign, decimal digits.
func parseInt(s string, bits int) (int64, error) {
	t := trimCSpace(s)
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	if i == len(t) || !isDigits(t[i:]) {
		return 0, invalidInput(intTypeSQLName(bits), s)
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || !fitsInt(v, bits) {
		return 0, evalErrorf("value %s is out of range for type %s", quoteForMessage(s), intTypeSQLName(bits))
	}
	return v, nil
}

// parseUUID is uuid_in: 32 hex digits, optionally in braces, with a dash
// allowed after any group of four digits.
func parseUUID(s string) (uuidVal, error) {
	var u uuidVal
	t := s
	braces := strings.HasPrefix(t, "{")
	if braces {
		t = t[1:]
	}
	j := 0
	for i := 0; i < 16; i++ {
		if j+2 > len(t) || !isHex(t[j]) || !isHex(t[j+1]) {
			return u, invalidInput("uuid", s)
		}
		b, _ := hex.DecodeString(t[j : j+2])
		u[i] = b[0]
		j += 2
		if j < len(t) && t[j] == '-' && i%2 == 1 && i < 15 {
			j++
		}
	}
	if braces {
		if j >= len(t) || t[j] != '}' {
			return u, invalidInput("uuid", s)
		}
		j++
	}
	if j != len(t) {
		return u, invalidInput("uuid", s)
	}
	return u, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func formatUUID(u uuidVal) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// parseBytea is byteain: \x hex format (whitespace between digit pairs
// allowed) or the escape format.
func parseBytea(s string) (byteaVal, error) {
	if strings.HasPrefix(s, `\x`) {
		var b []byte
		for i := 2; i < len(s); {
			if isCSpace(s[i]) {
				i++
				continue
			}
			if i+1 >= len(s) || !isHex(s[i]) || !isHex(s[i+1]) {
				if !isHex(s[i]) {
					return "", evalErrorf("invalid hexadecimal digit: %s", quoteForMessage(s[i:i+1]))
				}
				return "", evalErrorf("invalid hexadecimal data: odd number of digits")
			}
			v, _ := hex.DecodeString(s[i : i+2])
			b = append(b, v[0])
			i += 2
		}
		return byteaVal(b), nil
	}
	var b []byte
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '\\' {
			b = append(b, '\\')
			i += 2
			continue
		}
		if i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && s[i+2] >= '0' && s[i+2] <= '7' && s[i+3] >= '0' && s[i+3] <= '7' {
			b = append(b, (s[i+1]-'0')<<6|(s[i+2]-'0')<<3|(s[i+3]-'0'))
			i += 4
			continue
		}
		return "", invalidInput("bytea", s)
	}
	return byteaVal(b), nil
}

// ---- arrays ----

func isArraySpace(c byte) bool { return isCSpace(c) }

// arrayParser parses array_in's text form.
type arrayParser struct {
	s    string
	i    int
	elem pgType
	orig string
}

func (p *arrayParser) malformed(detail string) error {
	return evalErrorf("malformed array literal: %s", quoteForMessage(p.orig))
}

func parseArray(elem pgType, s string) (*arrayVal, error) {
	p := &arrayParser{s: s, elem: elem, orig: s}
	p.skipSpace()
	var declDims, declLB []int
	if p.i < len(p.s) && p.s[p.i] == '[' {
		for p.i < len(p.s) && p.s[p.i] == '[' {
			p.i++
			lb, ub, err := p.dimSpec()
			if err != nil {
				return nil, err
			}
			if ub < lb-1 {
				return nil, evalErrorf("upper bound cannot be less than lower bound")
			}
			declLB = append(declLB, lb)
			declDims = append(declDims, ub-lb+1)
			p.skipSpace()
		}
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			return nil, p.malformed("")
		}
		p.i++
		p.skipSpace()
	}
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, p.malformed("")
	}
	var elems []datum
	dims, err := p.brace(&elems, 0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i != len(p.s) {
		return nil, p.malformed("")
	}
	if dims[0] == 0 {
		if declDims != nil {
			return nil, p.malformed("")
		}
		return &arrayVal{}, nil
	}
	lb := make([]int, len(dims))
	for i := range lb {
		lb[i] = 1
	}
	if declDims != nil {
		if len(declDims) != len(dims) {
			return nil, p.malformed("")
		}
		for i := range dims {
			if declDims[i] != dims[i] {
				return nil, p.malformed("")
			}
		}
		lb = declLB
	}
	return &arrayVal{dims: dims, lbound: lb, elems: elems}, nil
}

// brace parses one {…} level at p.i, appending scalars to elems, and
// returns the dimensions of what it read ([0] for an empty top level).
func (p *arrayParser) brace(elems *[]datum, depth int) ([]int, error) {
	if depth > 6 {
		return nil, evalErrorf("number of array dimensions exceeds the maximum allowed (6)")
	}
	p.i++ // '{'
	p.skipSpace()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		if depth > 0 {
			return nil, p.malformed("")
		}
		return []int{0}, nil
	}
	var sub []int
	nested := false
	count := 0
	for {
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.malformed("")
		}
		if p.s[p.i] == '{' {
			if count > 0 && !nested {
				return nil, p.malformed("")
			}
			nested = true
			d, err := p.brace(elems, depth+1)
			if err != nil {
				return nil, err
			}
			if sub == nil {
				sub = d
			} else if !equalInts(sub, d) {
				return nil, p.malformed("")
			}
		} else {
			if nested {
				return nil, p.malformed("")
			}
			d, err := p.element()
			if err != nil {
				return nil, err
			}
			*elems = append(*elems, d)
			if len(*elems) > maxArrayElems {
				return nil, evalErrorf("array size exceeds the maximum allowed")
			}
		}
		count++
		p.skipSpace()
		if p.i >= len(p.s) {
			return nil, p.malformed("")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
			continue
		case '}':
			p.i++
			return append([]int{count}, sub...), nil
		}
		return nil, p.malformed("")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (p *arrayParser) skipSpace() {
	for p.i < len(p.s) && isArraySpace(p.s[p.i]) {
		p.i++
	}
}

func (p *arrayParser) dimSpec() (int, int, error) {
	num := func() (int, bool) {
		p.skipSpace()
		start := p.i
		if p.i < len(p.s) && (p.s[p.i] == '-' || p.s[p.i] == '+') {
			p.i++
		}
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		v, err := strconv.Atoi(p.s[start:p.i])
		p.skipSpace()
		return v, err == nil
	}
	a, ok := num()
	if !ok {
		return 0, 0, p.malformed("")
	}
	lb, ub := 1, a
	if p.i < len(p.s) && p.s[p.i] == ':' {
		p.i++
		b, ok := num()
		if !ok {
			return 0, 0, p.malformed("")
		}
		lb, ub = a, b
	}
	if p.i >= len(p.s) || p.s[p.i] != ']' {
		return 0, 0, p.malformed("")
	}
	p.i++
	return lb, ub, nil
}

// element reads one element: quoted, or unquoted up to , or } with
// backslash escapes; unquoted NULL is SQL NULL.
func (p *arrayParser) element() (datum, error) {
	var b strings.Builder
	if p.s[p.i] == '"' {
		p.i++
		for {
			if p.i >= len(p.s) {
				return nil, p.malformed("")
			}
			c := p.s[p.i]
			if c == '\\' {
				p.i++
				if p.i >= len(p.s) {
					return nil, p.malformed("")
				}
				b.WriteByte(p.s[p.i])
				p.i++
				continue
			}
			if c == '"' {
				p.i++
				break
			}
			b.WriteByte(c)
			p.i++
		}
	} else {
		// Unquoted: trailing whitespace is dropped unless escaped.
		keep := 0 // length of b up to the last escaped or non-space byte
		escaped := false
		for p.i < len(p.s) {
			c := p.s[p.i]
			if c == ',' || c == '}' {
				break
			}
			if c == '{' || c == '"' {
				return nil, p.malformed("")
			}
			if c == '\\' {
				p.i++
				if p.i >= len(p.s) {
					return nil, p.malformed("")
				}
				b.WriteByte(p.s[p.i])
				p.i++
				keep = b.Len()
				escaped = true
				continue
			}
			b.WriteByte(c)
			p.i++
			if !isArraySpace(c) {
				keep = b.Len()
			}
		}
		s := b.String()[:keep]
		if s == "" {
			return nil, p.malformed("")
		}
		if strings.EqualFold(s, "NULL") && !escaped {
			return nil, nil
		}
		return inputValue(p.elem, s)
	}
	return inputValue(p.elem, b.String())
}

// formatArray is array_out.
func formatArray(elem pgType, a *arrayVal) string {
	if len(a.dims) == 0 {
		return "{}"
	}
	var b strings.Builder
	nonDefault := false
	for _, lb := range a.lbound {
		if lb != 1 {
			nonDefault = true
		}
	}
	if nonDefault {
		for i := range a.dims {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(a.lbound[i]))
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(a.lbound[i] + a.dims[i] - 1))
			b.WriteByte(']')
		}
		b.WriteByte('=')
	}
	k := 0
	var rec func(level int)
	rec = func(level int) {
		b.WriteByte('{')
		for i := 0; i < a.dims[level]; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if level+1 < len(a.dims) {
				rec(level + 1)
				continue
			}
			e := a.elems[k]
			k++
			if e == nil {
				b.WriteString("NULL")
				continue
			}
			writeArrayElem(&b, outputValue(elem, e))
		}
		b.WriteByte('}')
	}
	rec(0)
	return b.String()
}

func writeArrayElem(b *strings.Builder, s string) {
	need := s == "" || strings.EqualFold(s, "NULL")
	if !need {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '"' || c == '\\' || c == '{' || c == '}' || c == ',' || isArraySpace(c) {
				need = true
				break
			}
		}
	}
	if !need {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// ---- comparison ----

// compareSame orders two non-NULL values of type t with the type's btree
// order (text bytewise: collation C).
func compareSame(t pgType, a, b datum) int {
	if t.array {
		return compareArrays(t.elem(), a.(*arrayVal), b.(*arrayVal))
	}
	switch t.id {
	case tBool:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case tInt2, tInt4, tInt8, tDate, tTime, tTimestamp, tTimestamptz:
		return cmpInt(a.(int64), b.(int64))
	case tFloat4:
		return cmpFloat(float64(a.(float32)), float64(b.(float32)))
	case tFloat8:
		return cmpFloat(a.(float64), b.(float64))
	case tNumeric:
		return cmpNumeric(a.(*numeric), b.(*numeric))
	case tText, tVarchar, tEnum, tUnknown:
		return strings.Compare(a.(string), b.(string))
	case tBytea:
		return strings.Compare(string(a.(byteaVal)), string(b.(byteaVal)))
	case tUUID:
		x, y := a.(uuidVal), b.(uuidVal)
		return bytes.Compare(x[:], y[:])
	case tInterval:
		return cmpInterval(a.(interval), b.(interval))
	}
	return 0
}

// compareArrays is array_cmp: elements first (NULL sorts after any
// value, two NULLs are equal), then element count, dimensionality, sizes
// and lower bounds.
func compareArrays(elem pgType, a, b *arrayVal) int {
	n := min(len(a.elems), len(b.elems))
	for i := 0; i < n; i++ {
		x, y := a.elems[i], b.elems[i]
		switch {
		case x == nil && y == nil:
			continue
		case x == nil:
			return 1
		case y == nil:
			return -1
		}
		if c := compareSame(elem, x, y); c != 0 {
			return c
		}
	}
	if len(a.elems) != len(b.elems) {
		return cmpInt(len(a.elems), len(b.elems))
	}
	if len(a.dims) != len(b.dims) {
		return cmpInt(len(a.dims), len(b.dims))
	}
	for i := range a.dims {
		if a.dims[i] != b.dims[i] {
			return cmpInt(a.dims[i], b.dims[i])
		}
	}
	for i := range a.lbound {
		if a.lbound[i] != b.lbound[i] {
			return cmpInt(a.lbound[i], b.lbound[i])
		}
	}
	return 0
}

// arraysEqual is array_eq: same shape and bounds, equal elements, NULL
// equal to NULL.
func arraysEqual(elem pgType, a, b *arrayVal) bool {
	if len(a.dims) != len(b.dims) {
		return false
	}
	for i := range a.dims {
		if a.dims[i] != b.dims[i] || a.lbound[i] != b.lbound[i] {
			return false
		}
	}
	for i := range a.elems {
		x, y := a.elems[i], b.elems[i]
		if x == nil || y == nil {
			if x != nil || y != nil {
				return false
			}
			continue
		}
		if compareSame(elem, x, y) != 0 {
			return false
		}
	}
	return true
}
