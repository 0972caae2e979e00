package e2e

// What the official client's DEFAULT parser must make of Postgres values,
// derived independently from Postgres's text output, and the typed values
// the compat drivers print (e2e/compat/lib.mjs encoding).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// JS values as the drivers print them.
type (
	jsBig string  // a BigInt, decimal
	jsNum float64 // a Number (NaN, ±Infinity and -0 included)
	jsStr string  // a string
)

// colType is a column as electric-schema describes it: the (element) type
// name and the number of array dimensions.
type colType struct {
	typ  string
	dims int
}

// decodeJS reads one value printed by a driver.
func decodeJS(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return canonJS(v, true)
}

// canonJS converts a decoded JSON value to the js* forms. tagged: objects
// of the form {"$bigint":…}/{"$number":…} are driver encodings (a JSON
// document parsed on the Go side has none of those).
func canonJS(v any, tagged bool) (any, error) {
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case string:
		return jsStr(x), nil
	case json.Number:
		if tagged {
			return nil, fmt.Errorf("bare JSON number %s in driver output", x)
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			return nil, err
		}
		return jsNum(f), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := canonJS(e, tagged)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		if tagged && len(x) == 1 {
			for k, e := range x {
				s, _ := e.(string)
				switch k {
				case "$bigint":
					return jsBig(s), nil
				case "$number":
					return parseJSNumber(s)
				case "$date", "$bytes", "$unknown":
					return nil, fmt.Errorf("unexpected JS value %s %q (the client should leave this type alone)", k, s)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := canonJS(e, tagged)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected JSON value %T", v)
}

// parseJSNumber reads String(n) of a JS number.
func parseJSNumber(s string) (jsNum, error) {
	switch s {
	case "NaN":
		return jsNum(math.NaN()), nil
	case "Infinity":
		return jsNum(math.Inf(1)), nil
	case "-Infinity":
		return jsNum(math.Inf(-1)), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("JS number %q: %v", s, err)
	}
	return jsNum(f), nil
}

// jsNumber is what Number(text) gives in JS for a Postgres numeric text.
func jsNumber(text string) (jsNum, error) {
	switch text {
	case "NaN":
		return jsNum(math.NaN()), nil
	case "Infinity":
		return jsNum(math.Inf(1)), nil
	case "-Infinity":
		return jsNum(math.Inf(-1)), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return jsNum(f), nil // ±Inf or 0, as JS rounds
		}
		return 0, err
	}
	return jsNum(f), nil
}

// expectJS is the value the client's default parser must produce for a
// column of type ct whose Postgres text output is text (nil for NULL).
func expectJS(ct colType, text *string) (any, error) {
	if text == nil {
		return nil, nil
	}
	if ct.dims > 0 {
		arr, err := parsePGArray(*text)
		if err != nil {
			return nil, err
		}
		return mapArray(arr, ct.typ)
	}
	return expectScalar(ct.typ, *text)
}

func mapArray(v any, typ string) (any, error) {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			m, err := mapArray(e, typ)
			if err != nil {
				return nil, err
			}
			out[i] = m
		}
		return out, nil
	case *string:
		if x == nil {
			return nil, nil
		}
		return expectScalar(typ, *x)
	}
	return nil, fmt.Errorf("array element %T", v)
}

func expectScalar(typ, text string) (any, error) {
	switch typ {
	case "int2", "int4", "float4", "float8":
		return jsNumber(text)
	case "int8":
		if _, err := strconv.ParseInt(text, 10, 64); err != nil {
			return nil, fmt.Errorf("int8 text %q: %v", text, err)
		}
		return jsBig(text), nil
	case "bool":
		return text == "t" || text == "true", nil
	case "json", "jsonb":
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("json text %q: %v", text, err)
		}
		return canonJS(v, false)
	}
	return jsStr(text), nil
}

// parsePGArray parses a Postgres array literal (output format) into nested
// []any whose leaves are *string (nil for NULL).
func parsePGArray(s string) (any, error) {
	if strings.HasPrefix(s, "[") { // explicit bounds: [0:1]={…}
		i := strings.Index(s, "=")
		if i < 0 {
			return nil, fmt.Errorf("array literal %q", s)
		}
		s = s[i+1:]
	}
	p := &arrParser{s: s}
	v, err := p.array()
	if err != nil {
		return nil, fmt.Errorf("array literal %q: %v", s, err)
	}
	if p.i != len(s) {
		return nil, fmt.Errorf("array literal %q: trailing text", s)
	}
	return v, nil
}

type arrParser struct {
	s string
	i int
}

func (p *arrParser) array() ([]any, error) {
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return nil, fmt.Errorf("expected { at %d", p.i)
	}
	p.i++
	out := []any{}
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return out, nil
	}
	for {
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("unterminated")
		}
		switch p.s[p.i] {
		case '{':
			sub, err := p.array()
			if err != nil {
				return nil, err
			}
			out = append(out, sub)
		case '"':
			p.i++
			var b strings.Builder
			for {
				if p.i >= len(p.s) {
					return nil, fmt.Errorf("unterminated quote")
				}
				c := p.s[p.i]
				if c == '\\' {
					p.i++
					if p.i < len(p.s) {
						b.WriteByte(p.s[p.i])
					}
				} else if c == '"' {
					p.i++
					break
				} else {
					b.WriteByte(c)
				}
				p.i++
			}
			v := b.String()
			out = append(out, &v)
		default:
			j := p.i
			for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != '}' {
				p.i++
			}
			v := p.s[j:p.i]
			if strings.EqualFold(v, "NULL") {
				out = append(out, (*string)(nil))
			} else {
				out = append(out, &v)
			}
		}
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("unterminated")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return out, nil
		default:
			return nil, fmt.Errorf("unexpected %q at %d", p.s[p.i], p.i)
		}
	}
}

// jsEqual compares js* values; NaN equals NaN and 0 differs from -0 (Object.is).
func jsEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case jsStr:
		y, ok := b.(jsStr)
		return ok && x == y
	case jsBig:
		y, ok := b.(jsBig)
		return ok && x == y
	case jsNum:
		y, ok := b.(jsNum)
		if !ok {
			return false
		}
		fx, fy := float64(x), float64(y)
		if math.IsNaN(fx) || math.IsNaN(fy) {
			return math.IsNaN(fx) && math.IsNaN(fy)
		}
		return fx == fy && math.Signbit(fx) == math.Signbit(fy)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsEqual(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

// jsRepr prints a js* value for failure messages.
func jsRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case jsStr:
		return strconv.Quote(string(x))
	case jsBig:
		return string(x) + "n"
	case jsNum:
		f := float64(x)
		if f == 0 && math.Signbit(f) {
			return "Number(-0)"
		}
		return "Number(" + strconv.FormatFloat(f, 'g', -1, 64) + ")"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = jsRepr(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = strconv.Quote(k) + ":" + jsRepr(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// jsRows is a materialised shape: row key → column → js* value.
type jsRows map[string]map[string]any

// decodeJSRows reads the "rows" of a driver event or result.
func decodeJSRows(rows map[string]json.RawMessage) (jsRows, error) {
	out := jsRows{}
	for k, raw := range rows {
		v, err := decodeJS(raw)
		if err != nil {
			return nil, fmt.Errorf("row %s: %v", k, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("row %s is %s, not an object", k, jsRepr(v))
		}
		out[k] = m
	}
	return out, nil
}

// expectedJSRows reads schema.table from Postgres and converts every value
// as the client's default parser must. Only the columns in types are kept
// (all of them must exist); keep filters rows (nil keeps all).
func expectedJSRows(t testing.TB, conn *pgx.Conn, schema, table string, pk []string, types map[string]colType, keep func(Row) bool) jsRows {
	t.Helper()
	out := jsRows{}
	for key, row := range tableRows(t, conn, schema, table, pk) {
		if keep != nil && !keep(row) {
			continue
		}
		m := map[string]any{}
		for col, ct := range types {
			text, ok := row[col]
			if !ok {
				t.Fatalf("column %s not in %s", col, table)
			}
			v, err := expectJS(ct, text)
			if err != nil {
				t.Fatalf("%s.%s: %v", table, col, err)
			}
			m[col] = v
		}
		out[key] = m
	}
	return out
}

// diffJSRows describes how got differs from want ("" when equal).
func diffJSRows(got, want jsRows) string {
	var b strings.Builder
	n := 0
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := want[k]
		g, ok := got[k]
		if !ok {
			fmt.Fprintf(&b, "missing %s\n", k)
			n++
			continue
		}
		cols := map[string]bool{}
		for c := range w {
			cols[c] = true
		}
		for c := range g {
			cols[c] = true
		}
		names := make([]string, 0, len(cols))
		for c := range cols {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			wv, wok := w[c]
			gv, gok := g[c]
			switch {
			case !gok:
				fmt.Fprintf(&b, "%s: column %s missing (want %s)\n", k, c, jsRepr(wv))
			case !wok:
				fmt.Fprintf(&b, "%s: unexpected column %s = %s\n", k, c, jsRepr(gv))
			case !jsEqual(gv, wv):
				fmt.Fprintf(&b, "%s: %s = %s, want %s\n", k, c, jsRepr(gv), jsRepr(wv))
			default:
				continue
			}
			n++
		}
		if n > 20 {
			b.WriteString("…\n")
			return b.String()
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "unexpected row %s\n", k)
			if n++; n > 20 {
				break
			}
		}
	}
	return b.String()
}

func TestCompatArrayLiteralParser(t *testing.T) {
	s := func(v string) *string { return &v }
	got, err := parsePGArray(`{{1,NULL},{"a\"b","c,d"}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{[]any{s("1"), (*string)(nil)}, []any{s(`a"b`), s("c,d")}}
	if fmt.Sprint(deref2(got)) != fmt.Sprint(deref2(want)) {
		t.Fatalf("got %v want %v", deref2(got), deref2(want))
	}
	v, err := expectJS(colType{"int8", 1}, s("{1,NULL,-9223372036854775808}"))
	if err != nil || !jsEqual(v, []any{jsBig("1"), nil, jsBig("-9223372036854775808")}) {
		t.Fatalf("int8[]: %s %v", jsRepr(v), err)
	}
	v, err = expectJS(colType{"float8", 0}, s("NaN"))
	if err != nil || !jsEqual(v, jsNum(math.NaN())) || jsEqual(v, jsNum(0)) {
		t.Fatalf("NaN: %s %v", jsRepr(v), err)
	}
	if jsEqual(jsNum(0), jsNum(math.Copysign(0, -1))) {
		t.Fatal("0 must differ from -0")
	}
}

func deref2(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deref2(e)
		}
		return out
	case *string:
		if x == nil {
			return "<nil>"
		}
		return *x
	}
	return v
}
