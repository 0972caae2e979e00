package where

import (
	"errors"
	"fmt"
	"strings"

	"github.com/galvani-sync/galvani/internal/pg"
)

// ErrUnknownEnumLabel is wrapped by the *EvalError that Eval returns when
// a row holds an enum label the clause was not compiled with (the type
// gained it by ALTER TYPE … ADD VALUE since) and the clause orders values
// of that enum type, so the label's position is needed and unknown. The
// row's outcome cannot be decided: the caller should recompile the clause
// against the current catalog or drop what depends on it, not treat the
// row as not matching. Clauses that only test enum values for equality
// (=, <>, IN, IS DISTINCT FROM, = ANY, @>, <@, &&) evaluate such rows
// exactly and never return it.
var ErrUnknownEnumLabel = errors.New("enum label unknown to the compiled where clause")

// enumType is a user-defined enum type, from pg.Column.Enum. One
// compilation creates one per enum type (by OID), shared by the columns
// of that type and their arrays, so that pgType equality is type
// identity. It is read-only once Compile returns.
type enumType struct {
	oid          pg.OID
	schema, name string
	known        bool           // labels were read from the catalog
	labels       []string       // in sort order (pg_enum.enumsortorder)
	pos          map[string]int // label → index in labels

	// ordered is set while compiling when the clause orders values of
	// the type (< > <= >=, BETWEEN, GREATEST/LEAST, ordering of enum
	// arrays): a row's label must then be one of labels.
	ordered bool
}

// labelsKnown reports whether the type's labels are known, which every
// use but the cast to text needs.
func (e *enumType) labelsKnown() bool { return e != nil && e.known }

func newEnumType(e *pg.Enum) *enumType {
	t := &enumType{oid: e.OID, schema: e.Schema, name: e.Name, known: true,
		labels: e.Labels, pos: make(map[string]int, len(e.Labels))}
	for i, l := range e.Labels {
		t.pos[l] = i
	}
	return t
}

// displayName is the type's name as Postgres' format_type_be prints it
// under the default search_path: qualified unless in public.
func (e *enumType) displayName() string {
	if e.schema == "" || e.schema == "public" || e.schema == "pg_catalog" {
		return identifier([]string{e.name})
	}
	return identifier([]string{e.schema, e.name})
}

// sqlName is the type's schema-qualified, quoted name for SQL text.
func (e *enumType) sqlName() string {
	return pg.QuoteIdent(e.schema) + "." + pg.QuoteIdent(e.name)
}

// input is enum_in: the label must be one of the type's labels, exactly.
func (e *enumType) input(s string) (datum, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, evalErrorf("invalid byte sequence for encoding \"UTF8\": 0x00")
	}
	if !e.labelsKnown() {
		return nil, evalErrorf("the labels of enum %s are unknown", e.displayName())
	}
	if _, ok := e.pos[s]; !ok {
		return nil, evalErrorf("invalid input value for enum %s: %s", e.displayName(), quoteForMessage(s))
	}
	return s, nil
}

// compare orders two labels by their sort order. A label missing from
// labels (added to the type after compiling) is only compared where the
// clause does not order the type (ordered is false), that is for
// equality, which is equality of labels.
func (e *enumType) compare(a, b string) int {
	if e != nil {
		pa, okA := e.pos[a]
		pb, okB := e.pos[b]
		if okA && okB {
			return cmpInt(pa, pb)
		}
	}
	return strings.Compare(a, b)
}

// checkRowLabel accepts a label read from a row. Labels added to the type
// after compiling are accepted while the clause only tests equality; when
// it orders the type, their position is unknown.
func (e *enumType) checkRowLabel(s string) error {
	if _, ok := e.pos[s]; ok || !e.ordered {
		return nil
	}
	return &EvalError{
		Message: "enum " + e.displayName() + " has label " + quoteForMessage(s) +
			", which is newer than the where clause; the clause must be compiled again",
		cause: ErrUnknownEnumLabel,
	}
}

// columnValue reads a column's text: inputValue, except that enum labels
// (also inside arrays) are checked by checkRowLabel, as a row may hold a
// label added to the type after the clause was compiled.
func columnValue(t pgType, s string) (datum, error) {
	e := elemOf(t)
	if e.id != tEnum || e.enum == nil {
		return inputValue(t, s)
	}
	v, err := inputValue(pgType{id: tText, array: t.array}, s)
	if err != nil {
		return nil, err
	}
	if !t.array {
		return v, e.enum.checkRowLabel(v.(string))
	}
	for _, x := range v.(*arrayVal).elems {
		if x == nil {
			continue
		}
		if err := e.enum.checkRowLabel(x.(string)); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// enumTypes holds the enum types one compilation knows: those of the
// relation's columns, by OID.
type enumTypes struct {
	byOID map[pg.OID]*enumType
	list  []*enumType
	// unlabelled holds the types of enum columns without labels, by
	// type OID and name, so that each is one type too.
	unlabelled map[string]*enumType
}

// newEnumTypes collects the enum types of rel's columns. A column of an
// enum type whose description the catalog did not give gets a type
// without labels, which supports only the cast to text.
func newEnumTypes(rel *pg.Relation) *enumTypes {
	ts := &enumTypes{byOID: map[pg.OID]*enumType{}, unlabelled: map[string]*enumType{}}
	for i := range rel.Columns {
		if e := rel.Columns[i].Enum; e != nil && rel.Columns[i].TypeKind == 'e' {
			if _, ok := ts.byOID[e.OID]; !ok {
				t := newEnumType(e)
				ts.byOID[e.OID] = t
				ts.list = append(ts.list, t)
			}
		}
	}
	return ts
}

// column returns the enum type of an enum column or array of enums.
func (ts *enumTypes) column(col *pg.Column) *enumType {
	if col.Enum != nil {
		return ts.byOID[col.Enum.OID]
	}
	key := fmt.Sprint(col.TypeOID, "/", col.TypeName)
	if ts.unlabelled[key] == nil {
		ts.unlabelled[key] = &enumType{name: col.TypeName, schema: "public"}
	}
	return ts.unlabelled[key]
}

// byName finds the enum type a cast names: schema.name, or a name that
// only one of the known enum types has.
func (ts *enumTypes) byName(parts []string) (*enumType, bool) {
	var found *enumType
	for _, t := range ts.list {
		if t.name != parts[len(parts)-1] || (len(parts) == 2 && t.schema != parts[0]) {
			continue
		}
		if found != nil {
			return nil, false // ambiguous without a search_path
		}
		found = t
	}
	return found, found != nil
}
