package where_test

import (
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/where"
)

// FuzzCompile: Compile never panics or hangs on any text and parameter;
// whatever it accepts renders to one safe expression and evaluates on any
// row without panicking.
func FuzzCompile(f *testing.F) {
	for _, tt := range compileErrorTests {
		if len(tt.where) < 1000 {
			f.Add(tt.where, "1")
		}
	}
	for _, tt := range evalTests {
		f.Add(tt.clause, "x")
	}
	f.Add("id = $1", "42")
	f.Add("tags @> $1", "{a,b}")
	f.Add("ts > $1", "2024-01-01 12:00+02")
	f.Fuzz(func(t *testing.T, text, param string) {
		for _, params := range [][]string{nil, {param}} {
			e, err := where.CompileWith(text, params, testRel, cOpts)
			if err != nil {
				if _, ok := err.(*where.Error); !ok {
					t.Fatalf("CompileWith(%q, %q) error %T %v, want *where.Error", text, params, err, err)
				}
				continue
			}
			if e.Normalized() == "" {
				t.Fatalf("CompileWith(%q, %q).Normalized() is empty", text, params)
			}
			checkRendered(t, e)
			for _, row := range []pg.Row{testRow, nullRow} {
				if _, err := e.Eval(row); err != nil && strings.HasPrefix(err.Error(), "internal error") {
					t.Fatalf("CompileWith(%q, %q).Eval: %v", text, params, err)
				}
			}
		}
	})
}

// fuzzClauses are evaluated on fuzzed rows by FuzzEval.
var fuzzClauses = []string{
	"name = 'Alice' OR name LIKE '%a_' OR name ILIKE 'b%' OR lower(name) = 'x' OR name || 'x' = 'y'",
	"n > 1 OR n / 3 = 0.5 OR n ^ 2 > 4 OR n % 2 = 1 OR n::int4 = 3 OR n::float8 = 1",
	"f8 > 1 OR f8 * 2 = 5 OR f8 ^ 0.5 > 1 OR |/ f8 > 1 OR f8::int8 = 3 OR f8::numeric = 1",
	"ts > '2024-01-01' OR ts + iv > '2025-01-01' OR ts::date = d OR ts - tsn > iv OR timezone('Europe/Paris', ts) > tsn",
	"tags @> '{a}' OR tags[1] = 'a' OR tags[1:2] = '{a}' OR array_append(tags, name) && '{x}' OR 'a' = ANY(tags)",
	"ints @> '{1}' OR ints[2] > 1 OR array_ndims(ints) = 1 OR 3 = ALL(ints) OR ints || 4 = '{4}'",
	"iv > '1 day' OR iv * 2 < '1 year' OR justify_interval(iv) = iv OR t + iv > '12:00' OR d + iv > ts",
	"u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' OR b = '\\x00' OR b LIKE 'a%' OR j::numeric > 1 OR flag",
	"i2 + i2 > 10 OR i8 * 2 > 0 OR id / i2 > 0 OR i2 << id > 0 OR (id & 7) = 1 OR d - 1 < '2000-01-01'",
}

// FuzzEval: Eval never panics on any column text, even text Postgres
// would never print, and reports bad text as an error.
func FuzzEval(f *testing.F) {
	f.Add(uint8(0), "Alice", "1.50", "2.5", "2024-01-31 12:00:00+00", "{a,b}", "P1D")
	f.Add(uint8(3), "", "NaN", "-Infinity", "infinity", "{}", "PT0S")
	f.Add(uint8(4), "x", "1e1000", "1e-400", "0044-03-15 00:00:00+00 BC", `[0:1]={"a b",NULL}`, "P-1Y-2M3DT-4H")
	f.Add(uint8(5), "é", "-0.000", "4.9e-324", "294276-12-31 23:59:59+00", "{{1,2},{3,4}}", "P1000000Y")
	f.Fuzz(func(t *testing.T, which uint8, name, num, fl, ts, arr, iv string) {
		e := mustCompile(t, fuzzClauses[int(which)%len(fuzzClauses)])
		row := make(pg.Row, len(testRow))
		copy(row, testRow)
		row[1] = pg.Value{Text: name}
		row[3] = pg.Value{Text: num}
		row[4] = pg.Value{Text: fl}
		row[8] = pg.Value{Text: ts}
		row[9] = pg.Value{Text: ts}
		row[10] = pg.Value{Text: ts}
		row[12] = pg.Value{Text: iv}
		row[15] = pg.Value{Text: arr}
		row[16] = pg.Value{Text: arr}
		row[13] = pg.Value{Text: name}
		row[14] = pg.Value{Text: name}
		row[17] = pg.Value{Text: num}
		row[6] = pg.Value{Text: num}
		row[7] = pg.Value{Text: fl}
		if _, err := e.Eval(row); err != nil && strings.HasPrefix(err.Error(), "internal error") {
			t.Fatalf("Eval(%q) on %v: %v", fuzzClauses[int(which)%len(fuzzClauses)], row, err)
		}
	})
}
