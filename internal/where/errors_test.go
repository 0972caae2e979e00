package where_test

import (
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/internal/where"
)

// compileErrorTests give the exact message of every kind of refusal
// (protocol §2.2, §13.1–§13.4). Locations count characters of the where
// text, from 0.
var compileErrorTests = []struct {
	name   string
	where  string
	params []string
	opts   *where.Options // nil: C collation
	want   string
}{
	// Parsing (§13.1).
	{name: "syntax error", where: "id +", want: "At location 4: syntax error at end of input"},
	{name: "syntax error mid-text", where: "id = = 1", want: `At location 5: syntax error at or near "="`},
	{name: "syntax error after multi-byte characters", where: "name = '日本' AND AND", want: `At location 16: syntax error at or near "AND"`},
	{name: "empty", where: "", want: "At location 0: syntax error at end of input"},
	{name: "statement split", where: "id = 1; DROP TABLE items", want: `unescaped ";" causing statement split`},
	{name: "ORDER BY", where: "id = 1 ORDER BY id", want: "malformed query ending with SQL clauses"},
	{name: "LIMIT", where: "id = 1 LIMIT 1", want: "malformed query ending with SQL clauses"},
	{name: "GROUP BY", where: "id = 1 GROUP BY id", want: "malformed query ending with SQL clauses"},
	{name: "UNION", where: "true UNION SELECT 1", want: "malformed query ending with SQL clauses"},
	{name: "NUL", where: "id = 1\x00", want: "where clause must not contain NUL characters"},
	{name: "too long", where: strings.Repeat(" ", where.MaxLength) + "true", want: "where clause is too long (max 65536 bytes)"},
	{name: "parentheses are not nesting", where: strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200) + " = 1", want: "At location 405: operator does not exist: bool = int4"},
	{name: "too deep", where: strings.Repeat("NOT ", 200) + "true", want: "At location 600: where clause is nested too deeply (max 150 levels)"},
	{name: "too many nodes", where: strings.Repeat("id = 1 AND ", 3000) + "true", want: "At location 18326: where clause is too complex (max 5000 nodes)"},

	// References and the result type.
	{name: "unknown column", where: "foo = 1", want: "At location 0: unknown reference foo"},
	{name: "unknown quoted column", where: `"Foo" = 1`, want: `At location 0: unknown reference "Foo"`},
	{name: "unquoted names fold to lower case", where: `ID = 1 AND "Mixed Case" = 'M' AND mixed = 1`, want: "At location 34: unknown reference mixed"},
	{name: "location counts characters", where: "name = 'é' AND bar = 1", want: "At location 15: unknown reference bar"},
	{name: "qualified column", where: "items.id = 1", want: "At location 0: unknown reference items.id"},
	{name: "star", where: "items.* IS NULL", want: "At location 0: * is not supported in this context"},
	{name: "column of unsupported type", where: "geo IS NULL", want: "At location 0: column geo has unsupported type point"},
	{name: "not boolean", where: "id", want: "WHERE clause must return a boolean"},
	{name: "arithmetic is not boolean", where: "id + 1", want: "WHERE clause must return a boolean"},
	{name: "untyped literal read as boolean", where: "'maybe'", want: `At location 0: invalid input syntax for type boolean: "maybe"`},
	{name: "AND of a number", where: "id AND true", want: "At location 0: argument of AND must be type bool, not type int4"},
	{name: "IS TRUE of a number", where: "id IS TRUE", want: "At location 0: argument of IS TRUE must be type bool, not type int4"},

	// Parameters (§13.4).
	{name: "parameter not provided", where: "id = $2", params: []string{"1"}, want: "At location 5: parameter $2 was not provided"},
	{name: "no parameters at all", where: "id = $1", want: "At location 5: parameter $1 was not provided"},
	{name: "parameter not used", where: "id = $1", params: []string{"1", "2"}, want: "At location 0: parameter value for $2 was not used"},
	{name: "parameter type conflict", where: "id = $1 AND name = $1", params: []string{"1"}, want: "At location 19: type conflict for $1: text and int4"},
	{name: "parameter of the wrong syntax", where: "id = $1", params: []string{"abc"}, want: `At location 5: invalid input syntax for type integer: "abc"`},
	{name: "parameter out of range", where: "i2 = $1", params: []string{"40000"}, want: `At location 5: value "40000" is out of range for type smallint`},

	// Types and casts (§13.2).
	{name: "unsupported cast type", where: "id::money > 0", want: "At location 4: unsupported type money"},
	{name: "schema-qualified type", where: "id::public.int4 > 0", want: "At location 4: unsupported type public.int4"},
	{name: "cast without a cast", where: "flag::date IS NULL", want: "At location 4: cannot cast type bool to date"},
	{name: "invalid literal", where: "id = 'abc'", want: `At location 5: invalid input syntax for type integer: "abc"`},
	{name: "invalid date literal", where: "d = '2024-02-30'", want: `At location 4: date/time field value out of range: "2024-02-30"`},
	{name: "current time literal", where: "ts > 'now'", want: `At location 5: the date/time value "now" depends on the current time and is not allowed`},
	{name: "non-constant text to date", where: "name::date > '2024-01-01'", want: "At location 4: casting non-constant text to date is not supported"},
	{name: "enum compared, labels unknown", where: "mood = 'happy'", want: "At location 5: operators on enum values are not supported when the enum's labels are unknown; cast the enum to text"},
	{name: "jsonb operator", where: "j @> '{}'", want: "At location 2: operator jsonb @> jsonb is not supported"},
	{name: "bad typmod", where: "id::int4(3) = 1", want: "At location 4: type modifier is not allowed for type int4"},
	{name: "bit string", where: "B'101' IS NULL", want: "At location 0: bit string literals are not supported"},

	// Operators and functions (§13.3).
	{name: "operator does not exist", where: "id + true = 1", want: "At location 3: operator does not exist: int4 + bool"},
	{name: "operator is not unique", where: "'a' @> 'b'", want: "At location 4: operator is not unique: unknown @> unknown"},
	{name: "regular expressions", where: "name ~ 'x'", want: "At location 5: operator text ~ text is not supported"},
	{name: "ANY of a non-array", where: "id = ANY(id)", want: "At location 3: op ANY/ALL (array) requires array on right side"},
	{name: "unknown function", where: "foo(id) = 1", want: "At location 0: unknown or unsupported function foo/1"},
	{name: "side-effecting function", where: "pg_sleep(1) IS NULL", want: "At location 0: unknown or unsupported function pg_sleep/1"},
	{name: "schema-qualified function", where: "public.lower(name) = 'a'", want: "At location 0: unknown or unsupported function public.lower/1"},
	{name: "function of the wrong type", where: "lower(id) = 'a'", want: "At location 0: function lower(int4) does not exist"},
	{name: "ilike is not a function", where: "ilike(name, 'a')", want: "At location 0: unknown or unsupported function ilike/2"},
	{name: "non-deterministic function", where: "ts > now()", want: "At location 5: unknown or unsupported function now/0"},
	{name: "CURRENT_DATE", where: "d = CURRENT_DATE", want: "At location 4: non-deterministic functions are not supported (the value depends on the current time or session)"},
	{name: "aggregate", where: "count(*) > 1", want: "At location 0: aggregation is not supported in this context"},
	{name: "window function", where: "row_number() OVER () > 1", want: "At location 0: aggregation is not supported in this context"},
	{name: "VARIADIC", where: "concat(VARIADIC ARRAY['a']) = 'a'", want: "At location 0: VARIADIC is not supported"},
	{name: "CASE", where: "CASE WHEN flag THEN true END", want: "At location 0: CASE expressions are not supported"},
	{name: "COLLATE", where: `name COLLATE "C" < 'b'`, want: "At location 5: COLLATE is not supported"},
	{name: "SIMILAR TO", where: "name SIMILAR TO 'a%'", want: "At location 5: SIMILAR TO is not supported"},
	{name: "row comparison", where: "(id, id) = (1, 1)", want: "At location 0: row expressions are not supported"},
	{name: "subscript of a scalar", where: "id[1] = 1", want: "At location 0: cannot subscript type int4 because it does not support subscripting"},
	{name: "text subscript", where: "ints['x'] = 1", want: `At location 5: invalid input syntax for type integer: "x"`},
	{name: "empty ARRAY", where: "ARRAY[] = ints", want: "At location 0: cannot determine type of empty array"},
	{name: "ARRAY of mismatched types", where: "ARRAY[1, 'x'::text] = ints", want: "At location 9: ARRAY types int4 and text cannot be matched"},
	{name: "COALESCE of mismatched types", where: "COALESCE(id, name) = 'x'", want: "At location 13: COALESCE types int4 and text cannot be matched"},
	{name: "GREATEST of jsonb", where: "GREATEST(j, j) IS NULL", want: "At location 0: could not identify a comparison function for type jsonb"},

	// Subqueries are not supported yet (§13.6).
	{name: "IN subquery", where: "id IN (SELECT 1)", want: "At location 3: subqueries (`IN (SELECT ...)`) are not supported yet"},
	{name: "EXISTS", where: "EXISTS (SELECT 1)", want: "At location 0: only `value IN (SELECT ...)` sublinks are supported right now, and subqueries are not supported yet"},

	// Constants Postgres evaluates while planning.
	{name: "division by zero", where: "id > 1/0", want: "At location 6: division by zero"},
	{name: "overflow", where: "id > 2147483647 + 1", want: "At location 16: integer out of range"},
	{name: "bad escape", where: "name LIKE 'a' ESCAPE 'xy'", want: "At location 5: invalid escape string"},

	// Collation (see the package doc).
	{name: "text ordering, collation unknown", where: "name < 'b'", opts: &where.Options{}, want: `At location 5: text ordering (<) is only supported under the "C" collation, and the collation is unknown`},
	{name: "text ordering, en_US", where: "name BETWEEN 'a' AND 'b'", opts: &where.Options{DefaultCollation: "en_US.UTF-8"}, want: `At location 5: text ordering (>=) is only supported under the "C" collation, not "en_US.UTF-8"`},
	{name: "GREATEST of text, en_US", where: "GREATEST(name, 'x') = 'x'", opts: &where.Options{DefaultCollation: "en_US.UTF-8"}, want: `At location 0: text ordering (GREATEST) is only supported under the "C" collation, not "en_US.UTF-8"`},
	{name: "text array ordering, column collation", where: "tags > '{a}'", opts: &where.Options{DefaultCollation: "C", ColumnCollations: colls(15, "de_DE")}, want: `At location 5: text ordering (>) is only supported under the "C" collation, not "de_DE"`},
	{name: "lower under Turkish", where: "lower(name) = 'i'", opts: &where.Options{DefaultCollation: "tr_TR.UTF-8"}, want: `At location 0: lower is not supported under collation "tr_TR.UTF-8"`},
}

// colls returns column collations with column i set to name.
func colls(i int, name string) []string {
	c := make([]string, i+1)
	c[i] = name
	return c
}

func TestCompileErrors(t *testing.T) {
	for _, tt := range compileErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			opts := cOpts
			if tt.opts != nil {
				opts = *tt.opts
			}
			e, err := where.CompileWith(tt.where, tt.params, testRel, opts)
			if err == nil {
				t.Fatalf("CompileWith(%q, %q) = %q, want error %q", tt.where, tt.params, e.Normalized(), tt.want)
			}
			werr, ok := err.(*where.Error)
			if !ok {
				t.Fatalf("CompileWith(%q) error %T %v, want *where.Error", tt.where, err, err)
			}
			if werr.Field != "where" || werr.Message != tt.want {
				t.Errorf("CompileWith(%q, %q) = %s: %q, want where: %q", tt.where, tt.params, werr.Field, werr.Message, tt.want)
			}
		})
	}
}

// TestCompileWithoutOptions: Compile knows no collation, so text ordering
// is refused while equality, LIKE and ordering of other types work.
func TestCompileWithoutOptions(t *testing.T) {
	for _, ok := range []string{"name = 'a'", "name LIKE 'a%'", "id < 3", "tags @> '{a}'", "lower(name) = 'alice'", "ts > '2024-01-01'"} {
		if _, err := where.Compile(ok, nil, testRel); err != nil {
			t.Errorf("Compile(%q) = %v, want success", ok, err)
		}
	}
	if _, err := where.Compile("name > 'a'", nil, testRel); err == nil {
		t.Errorf("Compile(%q) succeeded, want a collation refusal", "name > 'a'")
	}
}

// TestEvaluationErrors: Error.Evaluation tells errors Postgres raises
// evaluating constants from refusals.
func TestEvaluationErrors(t *testing.T) {
	_, err := where.CompileWith("id > 1/0", nil, testRel, cOpts)
	if err == nil || !err.(*where.Error).Evaluation() {
		t.Errorf("CompileWith(id > 1/0) = %v, want an evaluation error", err)
	}
	_, err = where.CompileWith("foo = 1", nil, testRel, cOpts)
	if err == nil || err.(*where.Error).Evaluation() {
		t.Errorf("CompileWith(foo = 1) = %v, want a non-evaluation error", err)
	}
}
