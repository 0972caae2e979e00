package catalog

import (
	"context"
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"unicode/utf8"

	"github.com/galvani-sync/galvani/internal/pg"
)

// TestSchemaJSONGolden checks the electric-schema header for a real table
// with one column of each interesting type against values derived from
// protocol §5.7.
func TestSchemaJSONGolden(t *testing.T) {
	ins, _ := newInspector(t, `
		CREATE TYPE mood AS ENUM ('sad', 'happy');
		CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
		CREATE DOMAIN intarr AS int4[];
		CREATE TYPE pair AS (a int, b text);
		CREATE TABLE all_types (
			c_int2 int2 NOT NULL,
			c_int4 int4,
			c_int8 int8 NOT NULL,
			c_numeric numeric,
			c_numeric_10_2 numeric(10,2),
			c_float4 float4,
			c_float8 float8,
			c_bool bool NOT NULL,
			c_text text,
			c_varchar varchar(20),
			c_char char(5),
			c_uuid uuid,
			c_date date,
			c_time time,
			c_time3 time(3),
			c_timestamp timestamp,
			c_timestamp0 timestamp(0),
			c_timestamptz timestamptz,
			c_interval interval,
			c_interval_ds interval day to second(3),
			c_json json,
			c_jsonb jsonb,
			c_bytea bytea,
			c_int4_arr int4[],
			c_int4_arr2 int4[][],
			c_text_arr text[] NOT NULL,
			c_mood mood,
			c_posint posint,
			-- beyond the list in the brief
			c_varchar_plain varchar,
			c_char_plain char,
			c_bit bit(3),
			c_varbit varbit,
			c_varbit5 varbit(5),
			c_varchar_arr varchar(10)[],
			c_timetz timetz(2),
			c_timestamptz6 timestamptz(6),
			c_numeric_neg numeric(5,-2),
			c_numeric_p numeric(7),
			c_interval_ym interval year to month,
			c_interval_p interval(2),
			c_interval_s interval second,
			c_interval_ms0 interval minute to second(0),
			c_interval_h interval hour,
			c_mood_arr mood[],
			c_intarr intarr,
			c_pair pair,
			PRIMARY KEY (c_int8, c_int2)
		);
		CREATE TABLE ctas AS SELECT ARRAY[1, 2] AS arr, 'x'::varchar(3) AS v;
	`)
	ctx := context.Background()
	rel, err := ins.Lookup(ctx, "public", "all_types")
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]map[string]any{
		"c_int2":          {"type": "int2", "not_null": true, "pk_index": 1},
		"c_int4":          {"type": "int4"},
		"c_int8":          {"type": "int8", "not_null": true, "pk_index": 0},
		"c_numeric":       {"type": "numeric"},
		"c_numeric_10_2":  {"type": "numeric", "precision": 10, "scale": 2},
		"c_float4":        {"type": "float4"},
		"c_float8":        {"type": "float8"},
		"c_bool":          {"type": "bool", "not_null": true},
		"c_text":          {"type": "text"},
		"c_varchar":       {"type": "varchar", "max_length": 20},
		"c_char":          {"type": "bpchar", "length": 5},
		"c_uuid":          {"type": "uuid"},
		"c_date":          {"type": "date"},
		"c_time":          {"type": "time"},
		"c_time3":         {"type": "time", "precision": 3},
		"c_timestamp":     {"type": "timestamp"},
		"c_timestamp0":    {"type": "timestamp", "type_mod": 0}, // [quirk] (0) falls through
		"c_timestamptz":   {"type": "timestamptz"},
		"c_interval":      {"type": "interval"},
		"c_interval_ds":   {"type": "interval", "fields": "DAY TO SECOND", "precision": 3},
		"c_json":          {"type": "json"},
		"c_jsonb":         {"type": "jsonb"},
		"c_bytea":         {"type": "bytea"},
		"c_int4_arr":      {"type": "int4", "dims": 1},
		"c_int4_arr2":     {"type": "int4", "dims": 2},
		"c_text_arr":      {"type": "text", "dims": 1, "not_null": true},
		"c_mood":          {"type": "mood"},
		"c_posint":        {"type": "posint"},
		"c_varchar_plain": {"type": "varchar"},
		"c_char_plain":    {"type": "bpchar", "length": 1},
		"c_bit":           {"type": "bit", "length": 3},
		"c_varbit":        {"type": "varbit", "length": -1}, // [quirk] raw typmod
		"c_varbit5":       {"type": "varbit", "length": 5},
		"c_varchar_arr":   {"type": "varchar", "dims": 1, "max_length": 10},
		"c_timetz":        {"type": "timetz", "precision": 2},
		"c_timestamptz6":  {"type": "timestamptz", "precision": 6},
		"c_numeric_neg":   {"type": "numeric", "precision": 5, "scale": -2},
		"c_numeric_p":     {"type": "numeric", "precision": 7, "scale": 0},
		"c_interval_ym":   {"type": "interval", "fields": "YEAR TO MONTH"},
		"c_interval_p":    {"type": "interval", "precision": 2},
		"c_interval_s":    {"type": "interval", "fields": "SECOND"},
		"c_interval_ms0":  {"type": "interval", "fields": "MINUTE TO SECOND", "precision": 0},
		"c_interval_h":    {"type": "interval", "fields": "HOUR"},
		"c_mood_arr":      {"type": "mood", "dims": 1},
		"c_intarr":        {"type": "intarr"},
		"c_pair":          {"type": "pair"},
	}
	all := make([]int, len(rel.Columns))
	for i := range all {
		all[i] = i
	}
	compareSchema(t, AppendSchemaJSON(nil, rel, all), want)

	// A subset, in the caller's order.
	sub := []int{rel.ColumnIndex("c_text"), rel.ColumnIndex("c_int8")}
	got := string(AppendSchemaJSON([]byte("prefix:"), rel, sub))
	if wantStr := `prefix:{"c_text":{"type":"text"},"c_int8":{"not_null":true,"pk_index":0,"type":"int8"}}`; got != wantStr {
		t.Errorf("subset = %s\nwant     %s", got, wantStr)
	}

	// Column details behind the header.
	checks := []struct {
		name     string
		typeName string
		kind     byte
		isArray  bool
		dims     int
	}{
		{"c_int4", "int4", 'b', false, 0},
		{"c_int4_arr", "int4", 'b', true, 1},
		{"c_int4_arr2", "int4", 'b', true, 2},
		{"c_mood", "mood", 'e', false, 0},
		{"c_mood_arr", "mood", 'e', true, 1},
		{"c_posint", "posint", 'd', false, 0},
		{"c_intarr", "intarr", 'd', false, 0},
		{"c_pair", "pair", 'c', false, 0},
	}
	for _, ck := range checks {
		c := rel.Columns[rel.ColumnIndex(ck.name)]
		if c.TypeName != ck.typeName || c.TypeKind != ck.kind || c.IsArray != ck.isArray || c.Dims != ck.dims {
			t.Errorf("%s: TypeName %q TypeKind %q IsArray %v Dims %d; want %q %q %v %d",
				ck.name, c.TypeName, c.TypeKind, c.IsArray, c.Dims, ck.typeName, ck.kind, ck.isArray, ck.dims)
		}
	}
	if c := rel.Columns[rel.ColumnIndex("c_int4_arr")]; c.TypeOID != 1007 || c.TypeMod != -1 {
		t.Errorf("c_int4_arr TypeOID %d TypeMod %d, want 1007 -1", c.TypeOID, c.TypeMod)
	}
	if c := rel.Columns[rel.ColumnIndex("c_varchar")]; c.TypeOID != 1043 || c.TypeMod != 24 {
		t.Errorf("c_varchar TypeOID %d TypeMod %d, want 1043 24", c.TypeOID, c.TypeMod)
	}

	// An array column without declared dimensions (attndims 0, as CREATE
	// TABLE AS makes) is reported under the array type's own name.
	ctas, err := ins.Lookup(ctx, "public", "ctas")
	if err != nil {
		t.Fatal(err)
	}
	if c := ctas.Columns[0]; !c.IsArray || c.Dims != 0 || c.TypeName != "int4" {
		t.Errorf("ctas.arr: IsArray %v Dims %d TypeName %q", c.IsArray, c.Dims, c.TypeName)
	}
	compareSchema(t, AppendSchemaJSON(nil, ctas, []int{0, 1}), map[string]map[string]any{
		"arr": {"type": "_int4"},
		"v":   {"type": "varchar", "max_length": 3},
	})
}

func TestSchemaJSONNoPK(t *testing.T) {
	ins, _ := newInspector(t, `CREATE TABLE nopk (a int NOT NULL, b text)`)
	rel, err := ins.Lookup(context.Background(), "public", "nopk")
	if err != nil {
		t.Fatal(err)
	}
	// Upstream reports no pk_index for tables without a primary key, even
	// though all columns form the row key.
	got := string(AppendSchemaJSON(nil, rel, rel.PK))
	if want := `{"a":{"not_null":true,"type":"int4"},"b":{"type":"text"}}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// compareSchema parses header and compares it with want, whose numbers are
// ints for convenience.
func compareSchema(t *testing.T, header []byte, want map[string]map[string]any) {
	t.Helper()
	var got map[string]map[string]any
	if err := json.Unmarshal(header, &got); err != nil {
		t.Fatalf("header is not JSON: %v\n%s", err, header)
	}
	norm := make(map[string]map[string]any, len(want))
	for col, m := range want {
		n := make(map[string]any, len(m))
		for k, v := range m {
			if i, ok := v.(int); ok {
				v = float64(i)
			}
			n[k] = v
		}
		norm[col] = n
	}
	var cols []string
	for col := range norm {
		cols = append(cols, col)
	}
	for col := range got {
		if _, ok := norm[col]; !ok {
			cols = append(cols, col)
		}
	}
	sort.Strings(cols)
	for _, col := range cols {
		if !reflect.DeepEqual(got[col], norm[col]) {
			t.Errorf("%s: got %v, want %v", col, got[col], norm[col])
		}
	}
}

func TestAppendSchemaJSONUnit(t *testing.T) {
	col := func(name, typ string, typmod int32) pg.Column {
		return pg.Column{Name: name, TypeName: typ, TypeMod: typmod, PKIndex: -1}
	}
	interval := func(rng, prec int32) int32 { return rng<<16 | prec&0xFFFF }
	const (
		month, year, day, hour, minute, second = 1 << 1, 1 << 2, 1 << 3, 1 << 10, 1 << 11, 1 << 12
	)
	tests := []struct {
		col  pg.Column
		want string
	}{
		{col("a", "int8", -1), `{"type":"int8"}`},
		{pg.Column{Name: "a", TypeName: "int8", TypeMod: -1, NotNull: true, PKIndex: 2}, `{"not_null":true,"pk_index":2,"type":"int8"}`},
		{pg.Column{Name: "a", TypeName: "numeric", TypeMod: 10<<16 | 2 + 4, Dims: 3, IsArray: true, PKIndex: -1}, `{"dims":3,"precision":10,"scale":2,"type":"numeric"}`},
		{pg.Column{Name: "a", TypeName: "numeric", TypeMod: 10<<16 | 2 + 4, IsArray: true, PKIndex: -1}, `{"type":"_numeric","type_mod":655366}`},
		{col("a", "numeric", 1000<<16|1000+4), `{"precision":1000,"scale":1000,"type":"numeric"}`},
		{col("a", "numeric", 5<<16|(-2&0x7FF)+4), `{"precision":5,"scale":-2,"type":"numeric"}`},
		{col("a", "numeric", 5<<16|(-1000&0x7FF)+4), `{"precision":5,"scale":-1000,"type":"numeric"}`},
		{col("a", "varchar", 24), `{"max_length":20,"type":"varchar"}`},
		{col("a", "varchar", -1), `{"type":"varchar"}`},
		{col("a", "bpchar", -1), `{"type":"bpchar"}`},
		{col("a", "bit", 1), `{"length":1,"type":"bit"}`},
		{col("a", "varbit", -1), `{"length":-1,"type":"varbit"}`},
		{col("a", "time", 0), `{"type":"time","type_mod":0}`},
		{col("a", "timetz", 0), `{"type":"timetz","type_mod":0}`},
		{col("a", "timestamptz", 3), `{"precision":3,"type":"timestamptz"}`},
		{col("a", "interval", interval(0x7FFF, -1)), `{"type":"interval"}`},
		{col("a", "interval", interval(0x7FFF, 0)), `{"precision":0,"type":"interval"}`},
		{col("a", "interval", interval(year, -1)), `{"fields":"YEAR","type":"interval"}`},
		{col("a", "interval", interval(month, -1)), `{"fields":"MONTH","type":"interval"}`},
		{col("a", "interval", interval(day, -1)), `{"fields":"DAY","type":"interval"}`},
		{col("a", "interval", interval(hour, -1)), `{"fields":"HOUR","type":"interval"}`},
		{col("a", "interval", interval(minute, -1)), `{"fields":"MINUTE","type":"interval"}`},
		{col("a", "interval", interval(second, -1)), `{"fields":"SECOND","type":"interval"}`},
		{col("a", "interval", interval(year|month, -1)), `{"fields":"YEAR TO MONTH","type":"interval"}`},
		{col("a", "interval", interval(day|hour, -1)), `{"fields":"DAY TO HOUR","type":"interval"}`},
		{col("a", "interval", interval(day|hour|minute, -1)), `{"fields":"DAY TO MINUTE","type":"interval"}`},
		{col("a", "interval", interval(day|hour|minute|second, 6)), `{"fields":"DAY TO SECOND","precision":6,"type":"interval"}`},
		{col("a", "interval", interval(hour|minute, -1)), `{"fields":"HOUR TO MINUTE","type":"interval"}`},
		{col("a", "interval", interval(hour|minute|second, 2)), `{"fields":"HOUR TO SECOND","precision":2,"type":"interval"}`},
		{col("a", "interval", interval(minute|second, -1)), `{"fields":"MINUTE TO SECOND","type":"interval"}`},
		{col("a", "interval", -1), `{"type":"interval"}`},
		{col("a", "geometry", 1107460), `{"type":"geometry","type_mod":1107460}`},
		{col("a", "mood", -1), `{"type":"mood"}`},
	}
	for _, tt := range tests {
		rel := &pg.Relation{Columns: []pg.Column{tt.col}}
		got := string(AppendSchemaJSON(nil, rel, []int{0}))
		if want := `{"a":` + tt.want + `}`; got != want {
			t.Errorf("%+v:\n got %s\nwant %s", tt.col, got, want)
		}
	}
}

func TestAppendSchemaJSONNames(t *testing.T) {
	names := []string{"plain", `q"uote`, `back\slash`, "new\nline", "tab\t", "\x00\x1f\x7f", "café", "日本", "😀", "\u2028", "bad\xffutf8"}
	rel := &pg.Relation{}
	cols := make([]int, len(names))
	for i, n := range names {
		rel.Columns = append(rel.Columns, pg.Column{Name: n, TypeName: "täxt", TypeMod: -1, PKIndex: -1})
		cols[i] = i
	}
	header := AppendSchemaJSON(nil, rel, cols)
	for _, b := range header {
		if b < 0x20 || b >= 0x7F {
			t.Fatalf("header has non-printable-ASCII byte %#x: %s", b, header)
		}
	}
	var got map[string]map[string]string
	if err := json.Unmarshal(header, &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, header)
	}
	if len(got) != len(names) {
		t.Errorf("got %d columns, want %d: %s", len(got), len(names), header)
	}
	for _, n := range names {
		key := n
		if !utf8.ValidString(n) {
			key = "bad\uFFFDutf8"
		}
		if got[key]["type"] != "täxt" {
			t.Errorf("column %q missing or wrong: %v", n, got[key])
		}
	}
	if want := `{"caf\u00e9":{"type":"\u263a"},"\ud83d\ude00":{"type":"x"}}`; string(AppendSchemaJSON(nil, &pg.Relation{Columns: []pg.Column{
		{Name: "café", TypeName: "☺", TypeMod: -1, PKIndex: -1},
		{Name: "😀", TypeName: "x", TypeMod: -1, PKIndex: -1},
	}}, []int{0, 1})) != want {
		t.Errorf("escapes differ from %s", want)
	}
	if got := string(AppendSchemaJSON(nil, &pg.Relation{}, nil)); got != "{}" {
		t.Errorf("no columns: %s", got)
	}
}
