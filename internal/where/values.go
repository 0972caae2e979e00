package where

import (
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
	case tEnum:
		if t.enum == nil {
			return nil, evalErrorf("cannot read values of type %s", t)
		}
		return t.enum.input(s)
	case tText, tVarchar, tUnknown:
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
