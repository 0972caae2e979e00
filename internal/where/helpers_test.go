package where_test

import (
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/where"
)

// testRel is the relation most tests compile against.
var testRel = &pg.Relation{
	Schema: "public",
	Name:   "items",
	PK:     []int{0},
	Columns: []pg.Column{
		{Name: "id", TypeName: "int4", TypeKind: 'b'},                     // 0
		{Name: "name", TypeName: "text", TypeKind: 'b'},                   // 1
		{Name: "flag", TypeName: "bool", TypeKind: 'b'},                   // 2
		{Name: "n", TypeName: "numeric", TypeKind: 'b'},                   // 3
		{Name: "f8", TypeName: "float8", TypeKind: 'b'},                   // 4
		{Name: "f4", TypeName: "float4", TypeKind: 'b'},                   // 5
		{Name: "i2", TypeName: "int2", TypeKind: 'b'},                     // 6
		{Name: "i8", TypeName: "int8", TypeKind: 'b'},                     // 7
		{Name: "ts", TypeName: "timestamptz", TypeKind: 'b'},              // 8
		{Name: "tsn", TypeName: "timestamp", TypeKind: 'b'},               // 9
		{Name: "d", TypeName: "date", TypeKind: 'b'},                      // 10
		{Name: "t", TypeName: "time", TypeKind: 'b'},                      // 11
		{Name: "iv", TypeName: "interval", TypeKind: 'b'},                 // 12
		{Name: "u", TypeName: "uuid", TypeKind: 'b'},                      // 13
		{Name: "b", TypeName: "bytea", TypeKind: 'b'},                     // 14
		{Name: "tags", TypeName: "text", TypeKind: 'b', IsArray: true},    // 15
		{Name: "ints", TypeName: "int4", TypeKind: 'b', IsArray: true},    // 16
		{Name: "j", TypeName: "jsonb", TypeKind: 'b'},                     // 17
		{Name: "v", TypeName: "varchar", TypeKind: 'b'},                   // 18
		{Name: "mood", TypeName: "mood", TypeKind: 'e'},                   // 19
		{Name: "Mixed Case", TypeName: "text", TypeKind: 'b'},             // 20
		{Name: "geo", TypeName: "point", TypeKind: 'b'},                   // 21
		{Name: "nums", TypeName: "numeric", TypeKind: 'b', IsArray: true}, // 22
	},
}

// testRow is a row of testRel as Postgres prints it.
var testRow = pg.Row{
	{Text: "5"},
	{Text: "Alice"},
	{Text: "t"},
	{Text: "1.50"},
	{Text: "2.5"},
	{Text: "0.1"},
	{Text: "7"},
	{Text: "9000000000"},
	{Text: "2024-01-31 12:00:00.5+00"},
	{Text: "2024-01-31 12:00:00"},
	{Text: "2024-01-31"},
	{Text: "12:30:00"},
	{Text: "P1DT2H"},
	{Text: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{Text: `\x616263`},
	{Text: `{a,"b c",NULL}`},
	{Text: "{1,2,3}"},
	{Text: `{"a": 1}`},
	{Text: "vee"},
	{Text: "happy"},
	{Text: "M"},
	{Text: "(1,2)"},
	{Text: "{1.0,NaN}"},
}

// nullRow has every column NULL.
var nullRow = func() pg.Row {
	r := make(pg.Row, len(testRel.Columns))
	for i := range r {
		r[i] = pg.Value{Null: true}
	}
	return r
}()

// cOpts compiles under the C collation, as the test databases use.
var cOpts = where.Options{DefaultCollation: "C"}

func mustCompile(t testing.TB, text string, params ...string) *where.Expr {
	t.Helper()
	e, err := where.CompileWith(text, params, testRel, cOpts)
	if err != nil {
		t.Fatalf("CompileWith(%q, %q) = %v", text, params, err)
	}
	return e
}
