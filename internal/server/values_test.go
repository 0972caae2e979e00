package server_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// valueColumns are the columns of the all-types table, after "id int
// PRIMARY KEY", with their SQL type and the electric-schema entry each must
// get (protocol §5.7).
var valueColumns = []struct {
	name, sqlType string
	schema        string
}{
	{"i2", "int2", `{"type":"int2"}`},
	{"i4", "int4", `{"type":"int4"}`},
	{"i8", "int8", `{"type":"int8"}`},
	{"num", "numeric", `{"type":"numeric"}`},
	{"num2", "numeric(10,2)", `{"type":"numeric","precision":10,"scale":2}`},
	{"f4", "float4", `{"type":"float4"}`},
	{"f8", "float8", `{"type":"float8"}`},
	{"b", "bool", `{"type":"bool"}`},
	{"t", "text", `{"type":"text"}`},
	{"vc", "varchar(10)", `{"type":"varchar","max_length":10}`},
	{"c5", "char(5)", `{"type":"bpchar","length":5}`},
	{"u", "uuid", `{"type":"uuid"}`},
	{"d", "date", `{"type":"date"}`},
	{"tm", "time", `{"type":"time"}`},
	{"ts", "timestamp", `{"type":"timestamp"}`},
	{"tstz", "timestamptz", `{"type":"timestamptz"}`},
	{"iv", "interval", `{"type":"interval"}`},
	{"j", "json", `{"type":"json"}`},
	{"jb", "jsonb", `{"type":"jsonb"}`},
	{"bin", "bytea", `{"type":"bytea"}`},
	{"ia", "int4[]", `{"type":"int4","dims":1}`},
	{"ia2", "int4[][]", `{"type":"int4","dims":2}`},
	{"ta", "text[]", `{"type":"text","dims":1}`},
	{"e", "mood", `{"type":"mood"}`},
}

// valueRows are SQL literals per column (absent: NULL), keyed by id. Row 1
// is all NULL. Literals use standard_conforming_strings (backslashes are
// literal) unless written as E'…'.
var valueRows = map[int]map[string]string{
	1: {},
	2: {
		"i2": "32767", "i4": "2147483647", "i8": "9223372036854775807",
		"num":  "'123456789012345678901234567890.123456789000'",
		"num2": "'12345678.90'", "f4": "'NaN'", "f8": "'NaN'", "b": "true",
		"t":  `E'quote" apostrophe'' backslash\\ newline\n tab\t cr\r ctl\x01 del\x7f snow\u2603 emoji\U0001F600 ls\u2028 slash/ dot.'`,
		"vc": `'ab/cd.e"g'`,
		"c5": "'ab'",
		"u":  "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
		"d":  "'2024-02-29'", "tm": "'23:59:59.999999'",
		"ts": "'2024-01-31 12:00:00.123'", "tstz": "'2024-01-31 12:00:00.123+05:30'",
		"iv":  "'1 year 2 months 3 days 04:05:06.789'",
		"j":   `'{ "a" : 1 }'`,
		"jb":  `'{ "b" : [1, 2] , "a": {"c": null} }'`,
		"bin": `'\x00ff0001'`,
		"ia":  "'{1,2,3}'", "ia2": "'{{1,2},{3,4}}'",
		"ta": `'{"a b","with \"quote\"","back\\slash",NULL,"NULL","",plain,"comma,here","{brace}"}'`,
		"e":  "'happy'",
	},
	3: {
		"i2": "-32768", "i4": "-2147483648", "i8": "-9223372036854775808",
		"num":  "'-0.000000000000000000000000000001'",
		"num2": "'-0.01'", "f4": "'Infinity'", "f8": "'-Infinity'", "b": "false",
		"t": "''", "vc": "''", "c5": "''",
		"u": "'00000000-0000-0000-0000-000000000000'",
		"d": "'infinity'", "tm": "'00:00'", "ts": "'-infinity'", "tstz": "'infinity'",
		"iv": "'0'", "j": `'[1,  2 ,3]'`, "jb": "'[]'", "bin": `'\x'`,
		"ia": "'{}'", "ia2": "'{{NULL,5},{6,NULL}}'", "ta": "'{}'", "e": "'with space'",
	},
	4: {
		"i2": "0", "i4": "0", "i8": "0", "num": "'NaN'", "num2": "0",
		"f4": "'-0'", "f8": "'-0'", "b": "true",
		"t": "'NULL'", "vc": "'x'", "c5": "'abcde'",
		"u": "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
		"d": "'4713-01-01 BC'", "tm": "'24:00:00'",
		"ts": "'1999-12-31 23:59:59.999999'", "tstz": "'1970-01-01 00:00:00+00'",
		"iv":  "'-1 mon +1 day -00:00:01'",
		"j":   "'null'",
		"jb":  `'{"k": "é\u00e9 \"q\"", "n": 1.50}'`,
		"bin": `'\x5c27220a'`,
		"ia":  "'{NULL}'", "ia2": "'{{7}}'",
		"ta": `'{"  lead","trail  ","a\\\\b"}'`,
		"e":  `'quo"te'`,
	},
	5: {
		"num": "'Infinity'", "num2": "'-99999999.99'",
		"f4": "'1e-38'", "f8": "'1e-300'",
		"t":  `'back\slash//double/'`,
		"j":  `'{"a":"\u00e9\ud83d\ude00", "z" : "\u0000"}'`,
		"jb": `'{"a":"\u00e9\ud83d\ude00"}'`,
		"ia": "'{-2147483648,2147483647}'",
		"tm": "'12:34:56.5'",
		"iv": "'P1Y2M3DT4H5M6S'",
		"e":  "'sad'",
	},
	6: {
		"num": "'-Infinity'", "num2": "'0.10'",
		"f4": "'3.4028235e38'", "f8": "'1.7976931348623157e308'",
		"i8": "-1", "t": "'0.1'",
	},
	7: {
		"f4": "'0.1'", "f8": "'0.1'", "num": "'1.500'", "num2": "'1.5'",
		"iv": "'1 day 00:00:00.000001'",
		"ts": "'0001-01-01 00:00:00 BC'",
	},
}

// TestValuesRoundTripAsPostgresText checks protocol §5.5: every value is
// the Postgres text output of the type under Galvani's session settings,
// as a JSON string (null for NULL), identical from the snapshot and from
// replication, and the electric-schema header names every column's type.
func TestValuesRoundTripAsPostgresText(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	var ddl strings.Builder
	ddl.WriteString(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'with space', 'quo"te');` + "\n")
	ddl.WriteString("CREATE TABLE types (id int PRIMARY KEY")
	names := []string{"id"}
	for _, c := range valueColumns {
		fmt.Fprintf(&ddl, ", %s %s", c.name, c.sqlType)
		names = append(names, c.name)
	}
	ddl.WriteString(");\n")
	h := newHarness(t, harnessOptions{}, ddl.String())

	insert := func(idOffset int) string {
		var b strings.Builder
		for id, lits := range valueRows {
			fmt.Fprintf(&b, "INSERT INTO types (%s) VALUES (%d", strings.Join(names, ", "), id+idOffset)
			for _, c := range valueColumns {
				if lit, ok := lits[c.name]; ok {
					b.WriteString(", " + lit)
				} else {
					b.WriteString(", NULL")
				}
			}
			b.WriteString(");\n")
		}
		return b.String()
	}
	// Snapshot path: rows 1…7 exist before the shape.
	h.exec(t, insert(0))
	s := h.sync(t, "types")

	// electric-schema names each column's type.
	var schema map[string]any
	if err := json.Unmarshal([]byte(s.schema), &schema); err != nil {
		t.Fatalf("electric-schema %q does not parse: %v", s.schema, err)
	}
	wantSchema := map[string]any{"id": mustJSON(t, `{"type":"int4","pk_index":0,"not_null":true}`)}
	for _, c := range valueColumns {
		wantSchema[c.name] = mustJSON(t, c.schema)
	}
	if diff := cmp.Diff(wantSchema, schema); diff != "" {
		t.Errorf("electric-schema mismatch (-want +got):\n%s", diff)
	}

	// Replication path: the same values inserted while the client is live,
	// ids shifted by 100; then updates copying values between rows.
	h.exec(t, insert(100))
	s.waitFor(t, "live inserts", func() bool { return len(s.rows) == 2*len(valueRows) })

	query := "SELECT " + strings.Join(names, ", ") + " FROM types"
	check := func(stage string) {
		t.Helper()
		want := h.queryRows(t, query)
		got := s.rowsByColumn(t, "id")
		for id, row := range want {
			key := `"public"."types"/"` + id + `"`
			if _, ok := s.rows[key]; !ok {
				t.Errorf("%s: no row with key %s", stage, key)
			}
			if diff := cmp.Diff(row, got[id]); diff != "" {
				path := "snapshot"
				if n, _ := strconv.Atoi(id); n > 100 {
					path = "replication"
				}
				t.Errorf("%s: row id=%s (%s path) differs from Postgres text output (-want +got):\n%s", stage, id, path, diff)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: shape has %d rows, table %d", stage, len(got), len(want))
		}
	}
	check("after inserts")

	// Updates: row 101 (all NULL) takes row 2's values, row 102 becomes all
	// NULL, row 103 takes row 4's values; update messages carry them.
	var set, setNull strings.Builder
	for i, c := range valueColumns {
		if i > 0 {
			set.WriteString(", ")
			setNull.WriteString(", ")
		}
		fmt.Fprintf(&set, "%s = src.%s", c.name, c.name)
		fmt.Fprintf(&setNull, "%s = NULL", c.name)
	}
	n := len(s.log)
	h.exec(t, "UPDATE types SET "+set.String()+" FROM types src WHERE types.id = 101 AND src.id = 2;\n"+
		"UPDATE types SET "+setNull.String()+" WHERE id = 102;\n"+
		"UPDATE types SET "+set.String()+" FROM types src WHERE types.id = 103 AND src.id = 4;\n")
	s.waitMessages(t, n+3)
	check("after updates")
}
