package where_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/where"
)

// The enum tests use this schema (as Postgres 15 has it):
//
//	CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
//	ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
//	ALTER TYPE mood ADD VALUE 'awful' BEFORE 'sad';
//	CREATE SCHEMA other;
//	CREATE TYPE other.hue AS ENUM ('red', 'ok', 'blue');
//	CREATE TABLE items (id int4, m mood, m2 mood, am mood[], h other.hue, t text, ah other.hue[]);
//
// so mood sorts awful < sad < meh < ok < happy, unlike text.
var (
	moodType  = &pg.Enum{OID: 16390, Schema: "public", Name: "mood", Labels: []string{"awful", "sad", "meh", "ok", "happy"}}
	hueType   = &pg.Enum{OID: 16400, Schema: "other", Name: "hue", Labels: []string{"red", "ok", "blue"}}
	enumRel   = enumRelation(moodType)
	enumRow   = pg.Row{{Text: "1"}, {Text: "ok"}, {Text: "sad"}, {Text: "{happy,NULL,awful}"}, {Text: "ok"}, {Text: "meh"}, {Text: "{red}"}}
	enumNulls = pg.Row{{Text: "2"}, {Null: true}, {Null: true}, {Null: true}, {Null: true}, {Null: true}, {Null: true}}
)

func enumRelation(mood *pg.Enum) *pg.Relation {
	return &pg.Relation{Schema: "public", Name: "items", PK: []int{0}, Columns: []pg.Column{
		{Name: "id", TypeName: "int4", TypeKind: 'b'},
		{Name: "m", TypeOID: mood.OID, TypeName: "mood", TypeKind: 'e', Enum: mood},
		{Name: "m2", TypeOID: mood.OID, TypeName: "mood", TypeKind: 'e', Enum: mood},
		{Name: "am", TypeOID: 16389, TypeName: "mood", TypeKind: 'e', IsArray: true, Dims: 1, Enum: mood},
		{Name: "h", TypeOID: hueType.OID, TypeName: "hue", TypeKind: 'e', Enum: hueType},
		{Name: "t", TypeOID: 25, TypeName: "text", TypeKind: 'b'},
		{Name: "ah", TypeOID: 16399, TypeName: "hue", TypeKind: 'e', IsArray: true, Dims: 1, Enum: hueType},
	}}
}

// enumEvalTests give what Postgres 15 returns for SELECT <clause> FROM
// items on enumRow, and on enumNulls when nulls is set.
var enumEvalTests = []struct {
	clause string
	params []string
	want   string
	nulls  string
}{
	// Equality with labels, parameters and columns.
	{clause: "m = 'ok'", want: "t", nulls: "NULL"},
	{clause: "'ok' = m AND m <> 'sad' AND m != 'happy'", want: "t"},
	{clause: "m = $1", params: []string{"ok"}, want: "t"},
	{clause: "$1 <> m", params: []string{"awful"}, want: "t"},
	{clause: "m = m2", want: "f", nulls: "NULL"},
	{clause: "h = 'ok'", want: "t"},
	{clause: "m = 'ok'::mood AND 'ok'::public.mood = m AND CAST('ok' AS mood) = m", want: "t"},
	{clause: "m IS DISTINCT FROM 'ok'", want: "f", nulls: "t"},
	{clause: "m IS NOT DISTINCT FROM m2", want: "f", nulls: "t"},
	{clause: "m IS DISTINCT FROM NULL", want: "t", nulls: "f"},
	{clause: "NULLIF(m, 'ok') IS NULL AND COALESCE(NULL, m) = 'ok'", want: "t"},

	// IN and ANY/ALL.
	{clause: "m IN ('ok', 'sad')", want: "t", nulls: "NULL"},
	{clause: "m IN ('awful', 'meh')", want: "f"},
	{clause: "m NOT IN ('sad')", want: "t"},
	{clause: "m IN (m2, 'ok')", want: "t"},
	{clause: "m IN ($1, $2)", params: []string{"happy", "ok"}, want: "t"},
	{clause: "m = ANY('{sad,ok}')", want: "t"},
	{clause: "m = ANY(am)", want: "NULL"},
	{clause: "m < ANY(am)", want: "t"},
	{clause: "m > ALL(am)", want: "f"},
	{clause: "m > ALL('{awful,sad}')", want: "t"},
	{clause: "'awful' = ANY(am)", want: "t"},

	// Ordering follows the labels' sort order, not text order.
	{clause: "m < 'happy'", want: "t", nulls: "NULL"},
	{clause: "m > 'sad' AND m > 'meh' AND m >= 'ok' AND m <= 'ok'", want: "t"},
	{clause: "m::text > 'sad'", want: "f"},
	{clause: "m > m2", want: "t"},
	{clause: "'happy'::mood > m", want: "t"},
	{clause: "m BETWEEN 'sad' AND 'happy'", want: "t"},
	{clause: "m NOT BETWEEN 'happy' AND 'sad'", want: "t"},
	{clause: "m BETWEEN SYMMETRIC 'happy' AND 'sad'", want: "t"},
	{clause: "m BETWEEN 'happy' AND 'sad'", want: "f"},
	{clause: "GREATEST(m, m2, 'meh') = 'ok' AND LEAST(m, 'awful') = 'awful'", want: "t"},
	{clause: "GREATEST(m, 'happy') = 'happy'", want: "t", nulls: "t"},

	// Casts and text.
	{clause: "m::text = 'ok' AND m::varchar = 'ok' AND text(m) = 'ok'", want: "t"},
	{clause: "h::text = m::text", want: "t"},
	{clause: "m || '!' = 'ok!' AND '¡' || m = '¡ok'", want: "t"},
	{clause: "concat(m, am) = 'ok{happy,NULL,awful}'", want: "t"},
	{clause: "am::text = '{happy,NULL,awful}'", want: "t"},
	{clause: "'{ok,\"awful\"}'::mood[] = ARRAY['ok', 'awful']::mood[]", want: "t"},

	// Arrays of enums.
	{clause: "am @> '{awful}' AND am @> ARRAY['happy'::mood]", want: "t", nulls: "NULL"},
	{clause: "am @> ARRAY[m]", want: "f"},
	{clause: "am <@ '{happy,awful,ok}'", want: "f"},
	{clause: "'{happy}' <@ am", want: "t"},
	{clause: "am && '{ok,happy}'", want: "t"},
	{clause: "am[1] = 'happy' AND am[2] IS NULL AND am[1] > m", want: "t"},
	{clause: "am = '{happy,NULL,awful}'", want: "t"},
	{clause: "am < '{happy,ok}'", want: "f"},
	{clause: "am > '{happy}'", want: "t"},
	{clause: "am[3:3] < '{sad}'", want: "t"},
	{clause: "ARRAY[m, m2] = '{ok,sad}'", want: "t"},
	{clause: "array_append(am, m) @> '{ok}' AND array_ndims(am) = 1", want: "t"},
	{clause: "ah = '{red}' AND ah[1] < 'blue'", want: "t"},
	{clause: "GREATEST(am, '{happy,ok}') = am", want: "t"},
}

func TestEnumEval(t *testing.T) {
	for _, tt := range enumEvalTests {
		t.Run(tt.clause, func(t *testing.T) {
			e, err := where.CompileWith(tt.clause, tt.params, enumRel, cOpts)
			if err != nil {
				t.Fatalf("CompileWith(%q, %q) = %v", tt.clause, tt.params, err)
			}
			check := func(row pg.Row, want string) {
				t.Helper()
				ok, err := e.Eval(row)
				got := "f"
				switch {
				case err != nil:
					got = "error: " + err.Error()
				case ok:
					got = "t"
				}
				// Eval reports only whether the row matches: NULL is "f".
				if want == "NULL" {
					want = "f"
				}
				if got != want {
					t.Errorf("Eval(%q) on %v = %s, want %s", tt.clause, row, got, want)
				}
			}
			check(enumRow, tt.want)
			if tt.nulls != "" {
				check(enumNulls, tt.nulls)
			}
		})
	}
}

// TestEnumEvalNull distinguishes NULL from false where Eval cannot: NOT
// of a NULL comparison stays NULL.
func TestEnumEvalNull(t *testing.T) {
	for _, clause := range []string{"NOT (m = ANY(am))", "NOT (m < m2)"} {
		e, err := where.CompileWith(clause, nil, enumRel, cOpts)
		if err != nil {
			t.Fatal(err)
		}
		row := enumRow
		if clause == "NOT (m < m2)" {
			row = enumNulls
		}
		if ok, err := e.Eval(row); ok || err != nil {
			t.Errorf("Eval(%q) = %v, %v; want false (NULL), nil", clause, ok, err)
		}
	}
}

// enumCompileErrors are clauses Postgres refuses on the enum schema, with
// Postgres' message (Galvani's own where marked).
var enumCompileErrors = []struct {
	clause string
	params []string
	want   string
}{
	{clause: "m = 'xyz'", want: `At location 4: invalid input value for enum mood: "xyz"`},
	{clause: "m = 'OK'", want: `At location 4: invalid input value for enum mood: "OK"`},
	{clause: "m = 'ok '", want: `At location 4: invalid input value for enum mood: "ok "`},
	{clause: "m = $1", params: []string{"xyz"}, want: `At location 4: invalid input value for enum mood: "xyz"`},
	{clause: "m IN ('ok', 'nope')", want: `At location 12: invalid input value for enum mood: "nope"`},
	{clause: "m = ANY('{ok,nope}')", want: `At location 8: invalid input value for enum mood: "nope"`},
	{clause: "am @> '{nope}'", want: `At location 6: invalid input value for enum mood: "nope"`},
	{clause: "h = 'sad'", want: `At location 4: invalid input value for enum other.hue: "sad"`},
	{clause: "'nope'::mood IS NULL", want: `At location 0: invalid input value for enum mood: "nope"`},
	{clause: "m BETWEEN 'sad' AND 'nope'", want: `At location 20: invalid input value for enum mood: "nope"`},
	{clause: "m = h", want: `At location 2: operator does not exist: mood = other.hue`},
	{clause: "m < h", want: `At location 2: operator does not exist: mood < other.hue`},
	{clause: "m = 'ok'::text", want: `At location 2: operator does not exist: mood = text`},
	{clause: "m = t", want: `At location 2: operator does not exist: mood = text`},
	{clause: "m = 1", want: `At location 2: operator does not exist: mood = int4`},
	{clause: "m = ANY(ah)", want: `At location 2: operator does not exist: mood = other.hue`},
	{clause: "am @> ah", want: `At location 3: operator does not exist: mood[] @> other.hue[]`},
	{clause: "am = 'ok'", want: `At location 5: malformed array literal: "ok"`},
	{clause: "m::int4 = 1", want: `At location 1: cannot cast type mood to int4`},
	{clause: "m::other.hue = 'ok'", want: `At location 1: cannot cast type mood to other.hue`},
	{clause: "GREATEST(m, h) = 'ok'", want: `At location 12: GREATEST could not convert type other.hue to mood`},
	{clause: "m = $1 AND h = $1", params: []string{"ok"}, want: `At location 15: type conflict for $1: other.hue and mood`},
	{clause: "'ok'::mood(2) = m", want: `At location 6: type modifier is not allowed for type mood`},
	// Galvani's own refusals.
	{clause: "t::mood = 'ok'", want: `At location 1: casting non-constant text to mood is not supported`},
	{clause: "'ok'::nosuch.mood = m", want: `At location 6: unsupported type nosuch.mood`},
	{clause: "mood('ok') = m", want: `At location 0: unknown or unsupported function mood/1`},
}

func TestEnumCompileErrors(t *testing.T) {
	for _, tt := range enumCompileErrors {
		t.Run(tt.clause, func(t *testing.T) {
			e, err := where.CompileWith(tt.clause, tt.params, enumRel, cOpts)
			var werr *where.Error
			if !errors.As(err, &werr) || werr.Message != tt.want {
				t.Fatalf("CompileWith(%q, %q) = %v, %v; want the error %q", tt.clause, tt.params, e, err, tt.want)
			}
		})
	}
}

// TestEnumRender: parameters of enum type are bound and cast to the
// schema-qualified type; casts name it the same way; the normalised form
// types parameter values with it.
func TestEnumRender(t *testing.T) {
	tests := []struct {
		clause     string
		params     []string
		sql        string
		normalized string
	}{
		{"m = $1", []string{"ok"}, `("m" OPERATOR(pg_catalog.=) ($1::"public"."mood"))`, `m = 'ok'::public.mood`},
		{"am @> $1", []string{"{ok}"}, `("am" OPERATOR(pg_catalog.@>) ($1::"public"."mood"[]))`, `am @> '{ok}'::public.mood[]`},
		{"h < 'ok'::other.hue", nil, `("h" OPERATOR(pg_catalog.<) ('ok')::"other"."hue")`, `h < 'ok'::other.hue`},
		{"m IN ('ok', 'it''s')", nil, "", ""},
	}
	for _, tt := range tests[:3] {
		e, err := where.CompileWith(tt.clause, tt.params, enumRel, cOpts)
		if err != nil {
			t.Fatalf("CompileWith(%q) = %v", tt.clause, err)
		}
		if sql, args := e.SQL(); sql != tt.sql || !reflect.DeepEqual(args, tt.params) {
			t.Errorf("SQL() of %q = %s, %q; want %s, %q", tt.clause, sql, args, tt.sql, tt.params)
		}
		if got := e.Normalized(); got != tt.normalized {
			t.Errorf("Normalized() of %q = %s, want %s", tt.clause, got, tt.normalized)
		}
	}
	// A label with a quote is still a quoted literal (and not a label).
	if _, err := where.CompileWith(tests[3].clause, nil, enumRel, cOpts); err == nil || !strings.Contains(err.Error(), `"it's"`) {
		t.Errorf("CompileWith(%q) = %v, want the invalid-label error", tests[3].clause, err)
	}
	// Subset parameters follow the shape's.
	e, err := where.CompileWith("m = $1 OR am @> $2", []string{"ok", "{sad}"}, enumRel, cOpts)
	if err != nil {
		t.Fatal(err)
	}
	sql, _, err := e.SQLFrom(2)
	if want := `(("m" OPERATOR(pg_catalog.=) ($3::"public"."mood")) OR ("am" OPERATOR(pg_catalog.@>) ($4::"public"."mood"[])))`; err != nil || sql != want {
		t.Errorf("SQLFrom(2) = %s, %v; want %s", sql, err, want)
	}
}

// TestEnumConditions: equality on enum columns is indexable, labels being
// canonical text.
func TestEnumConditions(t *testing.T) {
	e, err := where.CompileWith("m IN ('ok', 'sad') AND h = 'ok'", nil, enumRel, cOpts)
	if err != nil {
		t.Fatal(err)
	}
	conds, ok := e.Conditions()
	if want := []where.Cond{{Column: 4, Value: "ok"}}; !ok || !reflect.DeepEqual(conds, want) {
		t.Errorf("Conditions() = %v, %v; want %v, true", conds, ok, want)
	}
	e, err = where.CompileWith("am @> '{ok,\"happy\"}' AND m > 'sad'", nil, enumRel, cOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Inclusions(), []where.Inclusion{{Column: 3, Elements: []string{"ok", "happy"}}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Inclusions() = %v, want %v", got, want)
	}
}

// TestEnumNewLabel: a row may hold a label added to the type (ALTER TYPE
// … ADD VALUE) after the clause was compiled. Equality needs no position,
// so it is decided exactly; ordering needs the label's position, so Eval
// reports ErrUnknownEnumLabel instead of guessing.
func TestEnumNewLabel(t *testing.T) {
	grown := &pg.Enum{OID: moodType.OID, Schema: "public", Name: "mood", Labels: []string{"awful", "sad", "meh", "ok", "new", "happy"}}
	row := pg.Row{{Text: "1"}, {Text: "new"}, {Text: "sad"}, {Text: "{new,ok}"}, {Text: "ok"}, {Text: "new"}, {Text: "{red}"}}
	tests := []struct {
		clause string
		want   string // "t", "f" or "stale"
	}{
		{"m = 'ok'", "f"},
		{"m <> 'ok'", "t"},
		{"m IN ('ok', 'sad')", "f"},
		{"m NOT IN ('ok', 'sad')", "t"},
		{"m IS DISTINCT FROM m2", "t"},
		{"m = ANY('{ok,happy}')", "f"},
		{"am @> '{ok}' AND NOT am <@ '{ok}' AND am && '{ok}'", "t"},
		{"am = '{ok}'", "f"},
		{"m::text = t", "t"},
		{"m < 'happy'", "stale"},
		{"m = 'ok' OR m2 < 'ok'", "stale"}, // any read of mood: the clause orders mood
		{"m > ALL('{awful}')", "stale"},
		{"GREATEST(m, 'ok') = 'ok'", "stale"},
		{"am > '{ok}'", "stale"},
		{"h < 'blue' AND m = 'ok'", "f"}, // hue is ordered, mood is not
	}
	for _, tt := range tests {
		t.Run(tt.clause, func(t *testing.T) {
			e, err := where.CompileWith(tt.clause, nil, enumRel, cOpts)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := e.Eval(row)
			switch tt.want {
			case "stale":
				var ee *where.EvalError
				if !errors.Is(err, where.ErrUnknownEnumLabel) || !errors.As(err, &ee) {
					t.Errorf("Eval(%q) = %v, %v; want an *EvalError wrapping ErrUnknownEnumLabel", tt.clause, ok, err)
				}
			default:
				if err != nil || ok != (tt.want == "t") {
					t.Errorf("Eval(%q) = %v, %v; want %s", tt.clause, ok, err, tt.want)
				}
			}
			// Compiled against the grown type, the same clause decides
			// every row.
			e2, err := where.CompileWith(tt.clause, nil, enumRelation(grown), cOpts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e2.Eval(row); err != nil {
				t.Errorf("Eval(%q) with the current labels = %v", tt.clause, err)
			}
		})
	}
	// A clause may not name a label the compiled type lacks.
	if _, err := where.CompileWith("m = 'new'", nil, enumRel, cOpts); err == nil {
		t.Errorf("CompileWith(m = 'new') with the old labels succeeded")
	}
}

// TestEnumLabelsUnknown: an enum column whose labels the catalog did not
// give (Column.Enum nil, as in relations stored before labels were read)
// supports only the cast to text.
func TestEnumLabelsUnknown(t *testing.T) {
	rel := enumRelation(moodType)
	for i := range rel.Columns {
		if rel.Columns[i].TypeName == "mood" {
			rel.Columns[i].Enum = nil
		}
	}
	for _, clause := range []string{"m::text = 'ok'", "COALESCE(m, m2)::text = 'ok'"} {
		if _, err := where.CompileWith(clause, nil, rel, cOpts); err != nil {
			t.Errorf("CompileWith(%q) with unknown labels: %v", clause, err)
		}
	}
	for clause, want := range map[string]string{
		"m = 'ok'":          "At location 2: operators on enum values are not supported when the enum's labels are unknown; cast the enum to text",
		"am IS NULL":        "At location 0: column am has unsupported type mood[]",
		"'ok'::mood = 'ok'": "At location 6: unsupported type mood",
	} {
		var werr *where.Error
		if _, err := where.CompileWith(clause, nil, rel, cOpts); !errors.As(err, &werr) || werr.Message != want {
			t.Errorf("CompileWith(%q) = %v, want %q", clause, err, want)
		}
	}
}

// TestEnumRenderedSQL: clauses on enums render to one safe expression;
// enum type names from the catalog are quoted however odd, label
// parameters are bound and never spliced.
func TestEnumRenderedSQL(t *testing.T) {
	for _, tt := range enumEvalTests {
		e, err := where.CompileWith(tt.clause, tt.params, enumRel, cOpts)
		if err != nil {
			t.Fatal(err)
		}
		checkRendered(t, e)
	}
	odd := &pg.Enum{OID: 1, Schema: `s"; DROP TABLE x; --`, Name: `m"ood) OR (true`, Labels: []string{"a'; DROP TABLE x; --", `b\`, "c"}}
	rel := &pg.Relation{Schema: "public", Name: "items", PK: []int{0}, Columns: []pg.Column{
		{Name: "id", TypeName: "int4", TypeKind: 'b'},
		{Name: "m", TypeName: odd.Name, TypeKind: 'e', Enum: odd},
	}}
	for _, label := range odd.Labels {
		e, err := where.CompileWith(`m = $1 OR m > 'c'::"s""; DROP TABLE x; --"."m""ood) OR (true"`, []string{label}, rel, cOpts)
		if err != nil {
			t.Fatal(err)
		}
		checkRendered(t, e)
		sql, args := e.SQL()
		if want := `(("m" OPERATOR(pg_catalog.=) ($1::"s""; DROP TABLE x; --"."m""ood) OR (true")) OR ("m" OPERATOR(pg_catalog.>) ('c')::"s""; DROP TABLE x; --"."m""ood) OR (true"))`; sql != want || len(args) != 1 || args[0] != label {
			t.Errorf("SQL() = %s, %q\nwant %s, [%q]", sql, args, want, label)
		}
		if ok, err := e.Eval(pg.Row{{Text: "1"}, {Text: label}}); err != nil || !ok {
			t.Errorf("Eval on label %q = %v, %v; want true", label, ok, err)
		}
	}
}
