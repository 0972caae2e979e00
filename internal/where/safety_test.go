package where_test

import (
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/galvani-sync/galvani/internal/where"
)

// allowedFunctions are the only function names Expr.SQL may contain: the
// allow-listed functions and the type-named casts.
var allowedFunctions = map[string]bool{
	"lower": true, "upper": true, "like": true, "notlike": true, "like_escape": true, "concat": true,
	"array_cat": true, "array_append": true, "array_prepend": true, "array_ndims": true, "timezone": true,
	"justify_days": true, "justify_hours": true, "justify_interval": true,
	"bool": true, "int2": true, "int4": true, "int8": true, "float4": true, "float8": true, "numeric": true,
	"text": true, "varchar": true, "uuid": true, "bytea": true, "jsonb": true, "date": true, "time": true,
	"timestamp": true, "timestamptz": true, "interval": true,
}

// checkRendered parses Expr.SQL as Postgres would and checks it is one
// expression whose functions are all allow-listed and qualified, and that
// no parameter value appears in it.
func checkRendered(t *testing.T, e *where.Expr) {
	t.Helper()
	sql, args := e.SQL()
	res, err := pg_query.Parse("SELECT 1 WHERE " + sql)
	if err != nil {
		t.Fatalf("SQL() = %q does not parse: %v", sql, err)
	}
	if len(res.Stmts) != 1 {
		t.Fatalf("SQL() = %q holds %d statements", sql, len(res.Stmts))
	}
	sel := res.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || len(sel.FromClause) > 0 || sel.LimitCount != nil || len(sel.SortClause) > 0 {
		t.Fatalf("SQL() = %q is not a single where expression", sql)
	}
	j, _ := pg_query.ParseToJSON("SELECT 1 WHERE " + sql)
	for _, name := range funcNames(j) {
		if !allowedFunctions[name] {
			t.Errorf("SQL() = %q calls %s", sql, name)
		}
	}
	for _, a := range args {
		if len(a) > 3 && strings.Contains(sql, a) {
			t.Errorf("SQL() = %q contains the parameter value %q", sql, a)
		}
	}
}

// funcNames extracts the last part of every "funcname" of a JSON parse
// tree (crudely, which is enough for a test).
func funcNames(j string) []string {
	var out []string
	for {
		i := strings.Index(j, `"funcname":[`)
		if i < 0 {
			return out
		}
		j = j[i+len(`"funcname":[`):]
		end := strings.Index(j, "]")
		part := j[:end]
		k := strings.LastIndex(part, `"sval":"`)
		name := part[k+len(`"sval":"`):]
		out = append(out, name[:strings.Index(name, `"`)])
	}
}

// TestInjectionThroughParams: parameter values are bound, never spliced:
// SQL carries $n placeholders and Normalized quotes the values.
func TestInjectionThroughParams(t *testing.T) {
	values := []string{
		"'; DROP TABLE items; --",
		`\'; DROP TABLE items; --`,
		`it''s`,
		`back\slash\`,
		"$1",
		"$2; SELECT pg_sleep(10)",
		"E'\\x27'",
		"\"quoted\"",
		"line\nbreak",
		"日本語'--",
	}
	for _, v := range values {
		e := mustCompile(t, "name = $1 OR v = $1", v)
		sql, args := e.SQL()
		if len(args) != 1 || args[0] != v {
			t.Errorf("SQL() args = %q, want [%q]", args, v)
		}
		checkRendered(t, e)
		if strings.Contains(sql, "DROP") || strings.Contains(sql, "pg_sleep") {
			t.Errorf("SQL() = %q contains the parameter's text", sql)
		}
		// The normalised clause reads back with the value as one literal.
		norm := e.Normalized()
		res, err := pg_query.Parse("SELECT 1 WHERE " + norm)
		if err != nil || len(res.Stmts) != 1 {
			t.Fatalf("Normalized() = %q does not parse as one statement: %v", norm, err)
		}
		var lits []string
		j, _ := pg_query.ParseToJSON("SELECT 1 WHERE " + norm)
		_ = j
		w := res.Stmts[0].Stmt.GetSelectStmt().WhereClause.GetBoolExpr()
		for _, a := range w.Args {
			lits = append(lits, a.GetAExpr().Rexpr.GetTypeCast().Arg.GetAConst().GetSval().GetSval())
		}
		if len(lits) != 2 || lits[0] != v || lits[1] != v {
			t.Errorf("Normalized() = %q reads back as literals %q, want %q twice", norm, lits, v)
		}
		if got, err := e.Eval(testRow); err != nil || got {
			t.Errorf("Eval = %v, %v; want false", got, err)
		}
	}
}

// TestLiteralsLookingLikeParams: $1 inside a literal is text, not a
// parameter.
func TestLiteralsLookingLikeParams(t *testing.T) {
	e := mustCompile(t, "name = '$1' OR name = E'\\'$2'")
	sql, args := e.SQL()
	if len(args) != 0 {
		t.Errorf("SQL() args = %q, want none", args)
	}
	res, err := pg_query.Parse("SELECT 1 WHERE " + sql)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := pg_query.ParseToJSON("SELECT 1 WHERE " + sql)
	if strings.Contains(j, "ParamRef") || len(res.Stmts) != 1 {
		t.Errorf("SQL() = %q has parameters", sql)
	}
}

// TestSideEffectsRefused: functions with side effects, session state or
// time dependence never compile, however they are spelled.
func TestSideEffectsRefused(t *testing.T) {
	for _, c := range []string{
		"pg_sleep(1) IS NULL",
		"pg_catalog.pg_sleep(1) IS NULL",
		`"pg_sleep"(1) IS NULL`,
		"pg_terminate_backend(1)",
		"pg_cancel_backend(pg_backend_pid())",
		"current_setting('search_path') = 'x'",
		"set_config('search_path', 'evil', false) = 'x'",
		"lo_import('/etc/passwd') > 0",
		"pg_read_file('/etc/passwd') = ''",
		"dblink('x', 'y') IS NULL",
		"nextval('s') > 0",
		"random() > 0.5",
		"clock_timestamp() > ts",
		"txid_current() > 0",
		"id = (SELECT 1)",
		"EXISTS (SELECT pg_sleep(1))",
		"id OPERATOR(public.=) 1",
		"name = current_user",
		"name = lower(current_setting('x'))",
		"ts > now()",
		"(name || 'x')::regclass IS NULL",
	} {
		if e, err := where.CompileWith(c, nil, testRel, cOpts); err == nil {
			sql, _ := e.SQL()
			t.Errorf("CompileWith(%q) = %q, want refusal", c, sql)
		}
	}
}

// TestRenderedSQL: every clause of the evaluation tests renders to one
// safe expression.
func TestRenderedSQL(t *testing.T) {
	for _, tt := range evalTests {
		if e, err := where.CompileWith(tt.clause, nil, testRel, cOpts); err == nil {
			checkRendered(t, e)
		}
	}
}
