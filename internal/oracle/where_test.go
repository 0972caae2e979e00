package oracle_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/galvani-sync/galvani/internal/oracle"
	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/pgtest"
	"github.com/galvani-sync/galvani/internal/where"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "replay the oracle run with this seed (0 picks one)")
	casesFlag = flag.Int("oracle.cases", 2000, "number of clause × row-set cases of TestWhereOracle")
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// sessionSettings are the settings of Galvani's connections, under which
// column values are printed (pg.Value) and literals are read.
const sessionSettings = `SET DateStyle = 'ISO, DMY'; SET TimeZone = 'UTC'; SET extra_float_digits = 1;
SET IntervalStyle = 'iso_8601'; SET bytea_output = 'hex'; SET statement_timeout = '10s'`

const rowsPerTable = 24

// pgResult is the outcome of running a query in Postgres.
type pgResult struct {
	ids []int64
	err error
}

type runner struct {
	ctx  context.Context
	conn *pgconn.PgConn
}

func (r *runner) query(sql string, args []string) pgResult {
	vals := make([][]byte, len(args))
	for i, a := range args {
		vals[i] = []byte(a)
	}
	res := r.conn.ExecParams(r.ctx, sql, vals, nil, nil, nil).Read()
	if res.Err != nil {
		return pgResult{err: res.Err}
	}
	var ids []int64
	for _, row := range res.Rows {
		id, err := strconv.ParseInt(string(row[0]), 10, 64)
		if err != nil {
			return pgResult{err: err}
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return pgResult{ids: ids}
}

// fixture is a table with its rows as Postgres prints them.
type fixture struct {
	table *oracle.Table
	rel   *pg.Relation
	// staleRel is rel as the catalog described it before the last label
	// was added to each enum type (ALTER TYPE … ADD VALUE): one label,
	// chosen at random, is missing.
	staleRel *pg.Relation
	rows     []pg.Row
	ids      []int64
}

// staleRelation returns rel with one random label removed from each enum
// type.
func staleRelation(r *rand.Rand, rel *pg.Relation) *pg.Relation {
	out := *rel
	out.Columns = slices.Clone(rel.Columns)
	stale := map[pg.OID]*pg.Enum{}
	for i, c := range out.Columns {
		if c.Enum == nil {
			continue
		}
		if stale[c.Enum.OID] == nil {
			e := *c.Enum
			drop := r.IntN(len(e.Labels))
			e.Labels = slices.Delete(slices.Clone(e.Labels), drop, drop+1)
			stale[c.Enum.OID] = &e
		}
		out.Columns[i].Enum = stale[c.Enum.OID]
	}
	return &out
}

func newFixture(t *testing.T, r *rand.Rand, run *runner, name string) *fixture {
	t.Helper()
	tab := oracle.RandomTable(r, name, 17+r.IntN(10))
	for _, sql := range []string{tab.CreateSQL(), tab.InsertSQL(r, rowsPerTable)} {
		if err := run.conn.Exec(run.ctx, sql).Close(); err != nil {
			t.Fatalf("setting up %s: %v\n%s", name, err, sql)
		}
	}
	f := &fixture{table: tab, rel: tab.Relation()}
	f.staleRel = staleRelation(r, f.rel)
	res := run.conn.ExecParams(run.ctx, "SELECT * FROM "+pg.QuoteIdent(name)+" ORDER BY id", nil, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatalf("reading %s: %v", name, res.Err)
	}
	for _, vals := range res.Rows {
		row := make(pg.Row, len(vals))
		for i, v := range vals {
			if v == nil {
				row[i] = pg.Value{Null: true}
			} else {
				row[i] = pg.Value{Text: string(v)}
			}
		}
		id, _ := strconv.ParseInt(row[0].Text, 10, 64)
		f.rows = append(f.rows, row)
		f.ids = append(f.ids, id)
	}
	return f
}

// stats counts the outcomes of the cases.
type stats struct {
	cases, agreeRows, bothReject, evalErrorRows, pgErrorClauses int
	lenientRows                                                 int
	rejectedAccepted                                            map[string]int
	textDiffers                                                 int
	textDiffExamples                                            []string
	mismatches                                                  []string

	enumClauses, enumRows int // accepted clauses on enum columns, their agreeing rows
	// Clauses compiled against fixture.staleRel: how many, how many Compile
	// refused for naming the missing label, and their rows Eval left
	// undecided (ErrUnknownEnumLabel).
	staleCases, staleRefused, staleRows int
}

// allowedRejections are reasons Compile may refuse a clause Postgres
// accepts: parts of the language outside the supported subset.
var allowedRejections = []string{
	"is not supported", "unsupported", "not supported", "type conflict for", "text ordering",
	"could not identify a comparison function",
	// Galvani reads the ISO 8601 date/time forms only.
	"invalid input syntax for type date", "invalid input syntax for type time", "invalid input syntax for type timestamp",
	"invalid input syntax for type interval",
}

func rejectionClass(msg string) string {
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "At location") {
		msg = msg[i+2:]
	}
	for _, a := range allowedRejections {
		if strings.Contains(msg, a) {
			return a
		}
	}
	return ""
}

// TestWhereOracle compares where.Expr.Eval with Postgres on random tables
// and clauses. The rules:
//
//   - A clause Compile accepts must give, on every row, what Postgres
//     gives for SELECT id FROM t WHERE <Expr.SQL()>: Eval true exactly on
//     the rows Postgres returns. An Eval error counts as "not matching";
//     it must not happen on a row Postgres returns.
//   - When that query raises an error (a runtime error on some row: Eval
//     must then raise for that row or, where Postgres' planner evaluated
//     the conjuncts of a top-level AND in another order, reject it),
//     each row is queried alone and compared under the same rule.
//   - A clause Postgres rejects (as the user wrote it) must be rejected by
//     Compile. A clause Compile rejects while Postgres accepts is allowed
//     only for the unsupported parts of the language (allowedRejections);
//     their number is logged.
//   - For clauses without parameters, the user's text and Expr.SQL() must
//     select the same rows.
func TestWhereOracle(t *testing.T) {
	if testing.Short() {
		return
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))

	_, url := pgtest.NewDatabase(t)
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	run := &runner{ctx: ctx, conn: conn}
	if err := conn.Exec(ctx, sessionSettings).Close(); err != nil {
		t.Fatal(err)
	}

	createEnums(t, run)

	ncases := *casesFlag
	ntables := max(1, ncases/400)
	var fixtures []*fixture
	for i := range ntables {
		fixtures = append(fixtures, newFixture(t, r, run, fmt.Sprintf("t%d", i)))
	}
	gens := make([]*oracle.ClauseGen, len(fixtures))
	for i, f := range fixtures {
		gens[i] = oracle.NewClauseGen(r, f.table)
	}

	st := &stats{rejectedAccepted: map[string]int{}}
	start := time.Now()
	for i := range ncases {
		k := i % len(fixtures)
		cl := gens[k].Next()
		checkClause(t, run, fixtures[k], cl, st)
		if len(st.mismatches) >= 20 {
			break
		}
	}
	t.Logf("%d cases in %v: %d rows agreed, %d clauses rejected by both, %d Postgres runtime-error clauses, %d eval-error rows, %d leniently matched rows, %d clauses where the user's text and Expr.SQL differ in Postgres",
		st.cases, time.Since(start).Round(time.Millisecond), st.agreeRows, st.bothReject, st.pgErrorClauses, st.evalErrorRows, st.lenientRows, st.textDiffers)
	t.Logf("%d accepted clauses use enum columns (%d of their rows agreed)", st.enumClauses, st.enumRows)
	t.Logf("%d clauses compiled with a label missing from each enum type: %d refused for naming it, %d rows left undecided (ErrUnknownEnumLabel)",
		st.staleCases, st.staleRefused, st.staleRows)
	total := 0
	var classes []string
	for c, n := range st.rejectedAccepted {
		total += n
		classes = append(classes, fmt.Sprintf("%q: %d", c, n))
	}
	sort.Strings(classes)
	for _, ex := range st.textDiffExamples {
		t.Logf("parameter typing differs: %s", ex)
	}
	t.Logf("%d clauses rejected by Compile but accepted by Postgres (outside the supported subset): %s", total, strings.Join(classes, ", "))
	for _, m := range st.mismatches {
		t.Error(m)
	}
	if len(st.mismatches) > 0 {
		for _, f := range fixtures {
			t.Logf("table %s: %s", f.table.Name, f.table.CreateSQL())
		}
	}
	if len(st.mismatches) > 0 {
		t.Logf("replay with -seed=%d", seed)
	}
}

// createEnums creates the enum types of oracle.EnumTypes and checks that
// Postgres sorts their labels as the generator declares.
func createEnums(t *testing.T, run *runner) {
	t.Helper()
	for _, e := range oracle.EnumTypes {
		for _, sql := range e.DDL {
			if err := run.conn.Exec(run.ctx, sql).Close(); err != nil {
				t.Fatalf("creating enum %s: %v\n%s", e.SQL, err, sql)
			}
		}
		res := run.conn.ExecParams(run.ctx, "SELECT enumlabel FROM pg_enum WHERE enumtypid = $1::regtype ORDER BY enumsortorder",
			[][]byte{[]byte(e.SQL)}, nil, nil, nil).Read()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		var labels []string
		for _, row := range res.Rows {
			labels = append(labels, string(row[0]))
		}
		if !slices.Equal(labels, e.Labels) {
			t.Fatalf("enum %s sorts its labels %q, the generator declares %q", e.SQL, labels, e.Labels)
		}
	}
}

func describe(f *fixture, cl oracle.Clause) string {
	return fmt.Sprintf("clause %q params %q on table %s", cl.Where, cl.Params, f.table.Name)
}

func rowText(f *fixture, i int, e *where.Expr) string {
	var parts []string
	for _, c := range e.Columns() {
		v := f.rows[i][c]
		if v.Null {
			parts = append(parts, f.rel.Columns[c].Name+"=NULL")
		} else {
			parts = append(parts, f.rel.Columns[c].Name+"="+strconv.Quote(v.Text))
		}
	}
	return fmt.Sprintf("row id=%d {%s}", f.ids[i], strings.Join(parts, ", "))
}

func checkClause(t *testing.T, run *runner, f *fixture, cl oracle.Clause, st *stats) {
	before := len(st.mismatches)
	checkClauseRows(run, f, cl, st)
	if extra := len(st.mismatches) - before; extra > 1 {
		st.mismatches[before] += fmt.Sprintf(" (and %d more rows)", extra-1)
		st.mismatches = st.mismatches[:before+1]
	}
}

// checkClauseRows checks one clause. Every eighth clause is compiled
// against the fixture's stale relation, whose enum types lack a label the
// rows may hold (the catalog read before ALTER TYPE … ADD VALUE): Compile
// may then refuse the missing label, and Eval may leave a row undecided
// with ErrUnknownEnumLabel, but must otherwise agree with Postgres.
func checkClauseRows(run *runner, f *fixture, cl oracle.Clause, st *stats) {
	st.cases++
	rel, stale := f.rel, st.cases%8 == 0
	if stale {
		rel = f.staleRel
		st.staleCases++
	}
	from := " FROM " + pg.QuoteIdent(f.table.Name)
	user := run.query("SELECT id"+from+" WHERE "+cl.Where, cl.Params)
	e, cerr := where.CompileWith(cl.Where, cl.Params, rel, where.Options{DefaultCollation: "C"})
	if cerr != nil {
		if user.err != nil {
			st.bothReject++
			return
		}
		werr := cerr.(*where.Error)
		msg := werr.Message
		if stale && strings.Contains(msg, "invalid input value for enum") {
			st.staleRefused++
			return
		}
		class := rejectionClass(msg)
		if class == "" && werr.Evaluation() {
			// A constant part always raises; Postgres raises it only when
			// a row reaches it (or while planning).
			class = "constant expression raises"
		}
		if class == "" {
			st.mismatches = append(st.mismatches, fmt.Sprintf("Compile rejected what Postgres accepts: %s: %s", describe(f, cl), msg))
			return
		}
		st.rejectedAccepted[class]++
		return
	}
	sql, args := e.SQL()
	ours := run.query("SELECT id"+from+" WHERE "+sql, args)
	usesEnum := false
	for _, c := range e.Columns() {
		usesEnum = usesEnum || f.rel.Columns[c].TypeKind == 'e'
	}
	if usesEnum {
		st.enumClauses++
		agreed := st.agreeRows
		defer func() { st.enumRows += st.agreeRows - agreed }()
	}

	if user.err != nil && ours.err == nil {
		// Postgres rejects the text as written but runs Expr.SQL: only
		// acceptable when parameter typing is what differs.
		if len(cl.Params) == 0 {
			st.mismatches = append(st.mismatches, fmt.Sprintf("Compile accepted what Postgres rejects (%v): %s; Expr.SQL() = %q", user.err, describe(f, cl), sql))
			return
		}
		st.textDiffers++
		if len(st.textDiffExamples) < 5 {
			st.textDiffExamples = append(st.textDiffExamples, fmt.Sprintf("%s: Postgres: %v", describe(f, cl), user.err))
		}
	}
	if user.err == nil && ours.err == nil && !slices.Equal(user.ids, ours.ids) {
		if len(cl.Params) == 0 {
			st.mismatches = append(st.mismatches, fmt.Sprintf("Expr.SQL() %q selects %v, the user's text %v: %s", sql, ours.ids, user.ids, describe(f, cl)))
			return
		}
		st.textDiffers++
		if len(st.textDiffExamples) < 5 {
			st.textDiffExamples = append(st.textDiffExamples, fmt.Sprintf("%s: Expr.SQL() selects %v, Postgres %v", describe(f, cl), ours.ids, user.ids))
		}
	}

	// Evaluate every row.
	type outcome struct {
		match bool
		err   error
	}
	got := make([]outcome, len(f.rows))
	undecided := make([]bool, len(f.rows))
	for i, row := range f.rows {
		m, err := e.Eval(row)
		got[i] = outcome{m, err}
		switch {
		case errors.Is(err, where.ErrUnknownEnumLabel) && stale:
			undecided[i] = true
			st.staleRows++
		case errors.Is(err, where.ErrUnknownEnumLabel):
			st.mismatches = append(st.mismatches, fmt.Sprintf("Eval error %q with every label known: %s; %s", err, describe(f, cl), rowText(f, i, e)))
		case err != nil:
			st.evalErrorRows++
		}
	}
	if ours.err == nil {
		for i := range f.rows {
			inPG := slices.Contains(ours.ids, f.ids[i])
			switch {
			case undecided[i]:
			case got[i].err != nil && inPG:
				st.mismatches = append(st.mismatches, fmt.Sprintf("Eval error %q on a row Postgres returns: %s; %s; Expr.SQL() = %q %q", got[i].err, describe(f, cl), rowText(f, i, e), sql, args))
			case got[i].err != nil:
				st.lenientRows++
			case got[i].match != inPG:
				st.mismatches = append(st.mismatches, fmt.Sprintf("Eval = %v, Postgres %v: %s; %s; Expr.SQL() = %q %q", got[i].match, inPG, describe(f, cl), rowText(f, i, e), sql, args))
			default:
				st.agreeRows++
			}
		}
		return
	}
	// Postgres raised an error: find the rows that raise it.
	st.pgErrorClauses++
	idArg := "$" + strconv.Itoa(len(args)+1) + "::int8"
	for i := range f.rows {
		if undecided[i] {
			continue
		}
		// The subquery (kept by OFFSET 0) isolates the row without giving
		// the planner index conditions that could prove the clause true
		// and drop it.
		one := run.query("SELECT id FROM (SELECT *"+from+" WHERE id = "+idArg+" OFFSET 0) AS "+pg.QuoteIdent(f.table.Name)+" WHERE "+sql,
			append(append([]string{}, args...), strconv.FormatInt(f.ids[i], 10)))

		switch {
		case one.err != nil && got[i].err != nil:
			st.agreeRows++
		case one.err != nil && !got[i].match:
			st.lenientRows++
		case one.err != nil:
			st.mismatches = append(st.mismatches, fmt.Sprintf("Eval = true, Postgres raises %v: %s; %s", one.err, describe(f, cl), rowText(f, i, e)))
		case got[i].err != nil && len(one.ids) == 0:
			st.lenientRows++
		case got[i].err != nil:
			st.mismatches = append(st.mismatches, fmt.Sprintf("Eval error %q on a row Postgres returns: %s; %s; Expr.SQL() = %q %q", got[i].err, describe(f, cl), rowText(f, i, e), sql, args))
		case got[i].match != (len(one.ids) == 1):
			st.mismatches = append(st.mismatches, fmt.Sprintf("Eval = %v, Postgres %v: %s; %s", got[i].match, len(one.ids) == 1, describe(f, cl), rowText(f, i, e)))
		default:
			st.agreeRows++
		}
	}
}
