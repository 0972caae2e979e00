package oracle

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/galvani-sync/galvani/internal/pg"
)

// ScalarTypes are the column types of where clauses (protocol §13.2), by
// pg_type name, and the enum types of EnumTypes by their SQL names. Array
// columns use the same names with "[]".
var ScalarTypes = []string{
	"bool", "int2", "int4", "int8", "float4", "float8", "numeric", "text", "varchar",
	"uuid", "date", "time", "timestamp", "timestamptz", "interval", "bytea", "jsonb",
	"mood", "other.hue",
}

// ArrayElemTypes are the element types of generated array columns.
var ArrayElemTypes = []string{"bool", "int2", "int4", "int8", "float8", "numeric", "text", "varchar", "uuid", "date", "timestamptz", "mood", "other.hue"}

// EnumType is an enum type of the generated schema.
type EnumType struct {
	SQL          string // the name as written in DDL and casts
	Schema, Name string
	OID          pg.OID // a stand-in OID, unique among EnumTypes
	// Labels are in sort order: ADD VALUE … BEFORE/AFTER in DDL makes it
	// differ from the creation order and from text order.
	Labels []string
	DDL    []string // statements creating the type, to run one by one
}

// EnumTypes are the enum types generated tables use. Their labels share
// some texts, sort differently from text, and include array-quoting edge
// cases (the empty label, "NULL", commas, quotes, backslashes, spaces).
var EnumTypes = []EnumType{
	{
		SQL: "mood", Schema: "public", Name: "mood", OID: 1,
		Labels: []string{"first", "zz", "b", "between", "a", "Mid", "", "NULL", "a,b", `q"uo`, `back\slash`, "with space", "é", "last"},
		DDL: []string{
			`CREATE TYPE mood AS ENUM ('zz', 'b', 'a', 'Mid', '', 'NULL', 'a,b', 'q"uo', 'back\slash', 'with space', 'é')`,
			`ALTER TYPE mood ADD VALUE 'first' BEFORE 'zz'`,
			`ALTER TYPE mood ADD VALUE 'between' AFTER 'b'`,
			`ALTER TYPE mood ADD VALUE 'last'`,
		},
	},
	{
		SQL: "other.hue", Schema: "other", Name: "hue", OID: 2,
		Labels: []string{"red", "zz", "b", "green"},
		DDL: []string{
			`CREATE SCHEMA other`,
			`CREATE TYPE other.hue AS ENUM ('red', 'zz', 'b', 'green')`,
		},
	},
}

// Enum returns the enum type named ty (its SQL name), or nil.
func Enum(ty string) *EnumType {
	for i := range EnumTypes {
		if EnumTypes[i].SQL == ty {
			return &EnumTypes[i]
		}
	}
	return nil
}

// Column is a generated column: its name and where-language type name
// ("int4", "text[]", …).
type Column struct {
	Name string
	Type string
}

// Elem returns the element type of an array column type, or the type.
func Elem(t string) string { return strings.TrimSuffix(t, "[]") }

// IsArray reports whether t is an array type name.
func IsArray(t string) bool { return strings.HasSuffix(t, "[]") }

// Table is a generated table: an int8 primary key "id" followed by
// columns of random types.
type Table struct {
	Name    string
	Columns []Column // excluding id
}

// columnNames are candidate names; some need quoting, one is a keyword.
var columnNames = []string{
	"a", "b", "c", "d", "e", "f", "g", "h", "k", "m", "x", "y", "z", "val", "num", "txt", "tags", "at",
	"Mixed", "with space", "quo\"te", "select", "é", "order",
}

// RandomTable returns a table with ncols columns: every scalar type at
// least once when ncols allows, then random array and scalar types.
func RandomTable(r *rand.Rand, name string, ncols int) *Table {
	t := &Table{Name: name}
	used := map[string]bool{"id": true}
	pick := func() string {
		for {
			n := columnNames[r.IntN(len(columnNames))]
			if r.IntN(4) == 0 {
				n = fmt.Sprintf("%s%d", n, r.IntN(10))
			}
			if !used[n] {
				used[n] = true
				return n
			}
		}
	}
	types := append([]string{}, ScalarTypes...)
	r.Shuffle(len(types), func(i, j int) { types[i], types[j] = types[j], types[i] })
	for len(types) < ncols {
		if r.IntN(2) == 0 {
			types = append(types, ArrayElemTypes[r.IntN(len(ArrayElemTypes))]+"[]")
		} else {
			types = append(types, ScalarTypes[r.IntN(len(ScalarTypes))])
		}
	}
	for _, ty := range types[:ncols] {
		t.Columns = append(t.Columns, Column{Name: pick(), Type: ty})
	}
	return t
}

// ColumnsOf returns the table's columns of type ty.
func (t *Table) ColumnsOf(ty string) []Column {
	var out []Column
	for _, c := range t.Columns {
		if c.Type == ty {
			out = append(out, c)
		}
	}
	return out
}

// CreateSQL returns the CREATE TABLE statement.
func (t *Table) CreateSQL() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + pg.QuoteIdent(t.Name) + " (id int8 PRIMARY KEY")
	for _, c := range t.Columns {
		b.WriteString(", " + pg.QuoteIdent(c.Name) + " " + c.Type)
	}
	b.WriteString(")")
	return b.String()
}

// Relation returns the table as the catalog would describe it.
func (t *Table) Relation() *pg.Relation {
	rel := &pg.Relation{Schema: "public", Name: t.Name, PK: []int{0}}
	rel.Columns = append(rel.Columns, pg.Column{Name: "id", TypeName: "int8", TypeKind: 'b', PKIndex: 0, NotNull: true})
	for _, c := range t.Columns {
		col := pg.Column{Name: c.Name, TypeName: Elem(c.Type), TypeKind: 'b', PKIndex: -1, IsArray: IsArray(c.Type)}
		if col.IsArray {
			col.Dims = 1
		}
		if e := Enum(Elem(c.Type)); e != nil {
			col.TypeName, col.TypeKind = e.Name, 'e'
			col.Enum = &pg.Enum{OID: e.OID, Schema: e.Schema, Name: e.Name, Labels: e.Labels}
		}
		rel.Columns = append(rel.Columns, col)
	}
	return rel
}

// InsertSQL returns an INSERT of nrows random rows (NULL-heavy), with ids
// 1..nrows.
func (t *Table) InsertSQL(r *rand.Rand, nrows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + pg.QuoteIdent(t.Name) + " VALUES ")
	for i := 1; i <= nrows; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d", i)
		for _, c := range t.Columns {
			b.WriteString(", ")
			if r.IntN(100) < 30 {
				b.WriteString("NULL")
				continue
			}
			b.WriteString(QuoteLiteral(RandomValue(r, c.Type)) + "::" + c.Type)
		}
		b.WriteString(")")
	}
	return b.String()
}

// QuoteLiteral quotes s as an SQL string literal (standard_conforming_strings).
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
