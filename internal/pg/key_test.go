package pg_test

import (
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
)

// relation builds a relation whose columns are named c0, c1, … and whose key
// is the columns at indexes pk.
func relation(schema, name string, ncols int, pk ...int) *pg.Relation {
	rel := &pg.Relation{Schema: schema, Name: name, PK: pk}
	for i := range ncols {
		rel.Columns = append(rel.Columns, pg.Column{Name: "c" + string(rune('0'+i)), PKIndex: -1})
	}
	for n, i := range pk {
		rel.Columns[i].PKIndex = n
	}
	return rel
}

func text(s string) pg.Value { return pg.Value{Text: s} }

var null = pg.Value{Null: true}

// keyTests are the row keys of protocol §5.3.
var keyTests = []struct {
	name string
	rel  *pg.Relation
	row  pg.Row
	want string
}{
	{
		name: "single key column",
		rel:  relation("public", "items", 2, 0),
		row:  pg.Row{text("1"), text("hello")},
		want: `"public"."items"/"1"`,
	},
	{
		name: "composite key",
		rel:  relation("public", "t", 3, 0, 1),
		row:  pg.Row{text("a"), text("b"), text("ignored")},
		want: `"public"."t"/"a"/"b"`,
	},
	{
		name: "key order is primary-key order, not attribute order",
		rel:  relation("public", "t", 3, 2, 0),
		row:  pg.Row{text("a"), text("b"), text("c")},
		want: `"public"."t"/"c"/"a"`,
	},
	{
		name: "slashes in values are doubled",
		rel:  relation("hello", "world", 2, 0, 1),
		row:  pg.Row{text("test/test"), text("test")},
		want: `"hello"."world"/"test//test"/"test"`,
	},
	{
		name: "NULL part of a table without primary key",
		rel:  relation("public", "np", 3, 0, 1, 2),
		row:  pg.Row{text("1"), null, text("2")},
		want: `"public"."np"/"1"/_/"2"`,
	},
	{
		name: "empty string is quoted, unlike NULL",
		rel:  relation("public", "np", 2, 0, 1),
		row:  pg.Row{text(""), null},
		want: `"public"."np"/""/_`,
	},
	{
		name: "text that reads like NULL",
		rel:  relation("public", "t", 1, 0),
		row:  pg.Row{text("_")},
		want: `"public"."t"/"_"`,
	},
	{
		name: "dots doubled in schema and table names",
		rel:  relation("my.schema", "a.b.c", 1, 0),
		row:  pg.Row{text("1")},
		want: `"my..schema"."a..b..c"/"1"`,
	},
	{
		name: "slashes doubled in schema and table names",
		rel:  relation("s/x", "t//y", 1, 0),
		row:  pg.Row{text("1")},
		want: `"s//x"."t////y"/"1"`,
	},
	{
		name: "dots in values are not doubled",
		rel:  relation("public", "t", 1, 0),
		row:  pg.Row{text("1.5")},
		want: `"public"."t"/"1.5"`,
	},
	{
		name: "quotes are not escaped",
		rel:  relation(`we"ird`, `ta"ble`, 1, 0),
		row:  pg.Row{text(`say "hi"`)},
		want: `"we"ird"."ta"ble"/"say "hi""`,
	},
	{
		name: "non-ASCII passes through",
		rel:  relation("public", "größe", 1, 0),
		row:  pg.Row{text("日本/語")},
		want: `"public"."größe"/"日本//語"`,
	},
	{
		name: "no key columns",
		rel:  relation("public", "t", 1),
		row:  pg.Row{text("1")},
		want: `"public"."t"`,
	},
}

func TestAppendKey(t *testing.T) {
	for _, tt := range keyTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(pg.AppendKey(nil, tt.rel, tt.row)); got != tt.want {
				t.Errorf("AppendKey(nil, %s.%s, %v) = %s, want %s", tt.rel.Schema, tt.rel.Name, tt.row, got, tt.want)
			}
		})
	}
}

func TestAppendKeyKeepsPrefix(t *testing.T) {
	tt := keyTests[0]
	dst := make([]byte, 0, 64)
	dst = append(dst, "key="...)
	got := string(pg.AppendKey(dst, tt.rel, tt.row))
	if want := "key=" + tt.want; got != want {
		t.Errorf("AppendKey(%q, …) = %s, want %s", "key=", got, want)
	}
}

func TestQualifiedName(t *testing.T) {
	tests := []struct {
		schema, name, want string
	}{
		{"public", "items", `"public"."items"`},
		{"My Schema", "a.b", `"My Schema"."a.b"`},
		{`we"ird`, `"`, `"we""ird".""""`},
	}
	for _, tt := range tests {
		rel := &pg.Relation{Schema: tt.schema, Name: tt.name}
		if got := rel.QualifiedName(); got != tt.want {
			t.Errorf("Relation{Schema: %q, Name: %q}.QualifiedName() = %s, want %s", tt.schema, tt.name, got, tt.want)
		}
	}
}
