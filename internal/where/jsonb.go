package where

import (
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
)

// jsonbVal is a parsed jsonb value. The where language only casts jsonb
// to scalars (explicit casts jsonb → bool, int2/4/8, float4/8, numeric) or
// prints it; jsonb operators are not supported.
type jsonbVal struct {
	v any // nil (JSON null), bool, *numeric, string, []any, jsonbObject
}

type jsonbObject struct {
	keys []string
	vals map[string]any
}

func parseJSONB(s string) (jsonbVal, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := jsonbDecode(dec, 0)
	if err != nil {
		return jsonbVal{}, invalidInput("json", s)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jsonbVal{}, invalidInput("json", s)
	}
	return jsonbVal{v: v}, nil
}

const maxJSONDepth = 1000

func jsonbDecode(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := jsonbDecode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		case '{':
			obj := jsonbObject{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok || strings.IndexByte(k, 0) >= 0 {
					return nil, errors.New("bad key")
				}
				v, err := jsonbDecode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				if _, dup := obj.vals[k]; !dup {
					obj.keys = append(obj.keys, k)
				}
				obj.vals[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			sort.Slice(obj.keys, func(i, j int) bool {
				a, b := obj.keys[i], obj.keys[j]
				if len(a) != len(b) {
					return len(a) < len(b)
				}
				return a < b
			})
			return obj, nil
		}
		return nil, errors.New("unexpected delimiter")
	case json.Number:
		n, err := parseNumeric(string(t))
		if err != nil {
			return nil, err
		}
		return n, nil
	case string:
		if strings.IndexByte(t, 0) >= 0 {
			return nil, errors.New("NUL in string")
		}
		return t, nil
	case bool:
		return t, nil
	case nil:
		return nil, nil
	}
	return nil, errors.New("unexpected token")
}

// String is jsonb_out.
func (j jsonbVal) String() string {
	var b strings.Builder
	writeJSONB(&b, j.v)
	return b.String()
}

func writeJSONB(b *strings.Builder, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case *numeric:
		b.WriteString(t.String())
	case string:
		writeJSONString(b, t)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONB(b, e)
		}
		b.WriteByte(']')
	case jsonbObject:
		b.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSONString(b, k)
			b.WriteString(": ")
			writeJSONB(b, t.vals[k])
		}
		b.WriteByte('}')
	}
}

// writeJSONString is escape_json.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigit[c>>4])
				b.WriteByte(hexDigit[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

const hexDigit = "0123456789abcdef"

func jsonbKindName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case *numeric:
		return "numeric"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

// jsonbScalar unwraps a jsonb scalar for a cast to sqlType, as
// JsonbExtractScalar and cannotCastJsonbValue do.
func jsonbScalar(j jsonbVal, want string, sqlType string) (any, error) {
	v := j.v
	ok := false
	switch want {
	case "boolean":
		_, ok = v.(bool)
	case "numeric":
		_, ok = v.(*numeric)
	}
	if !ok {
		return nil, evalErrorf("cannot cast jsonb %s to type %s", jsonbKindName(v), sqlType)
	}
	return v, nil
}
