package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/galvani-sync/galvani/client"
	"github.com/galvani-sync/galvani/internal/oracle"
	"github.com/galvani-sync/galvani/internal/pgtest"
)

// TestWhereShapes is the end-to-end differential test of where shapes
// (protocol §13, §5.6): on a random table (every scalar type, array
// columns, NULL-heavy rows) it opens shapes with random where clauses,
// parameters, column subsets and replica modes, plus fixed shapes the
// router's index serves (id = $1, id IN (…), an OR of equalities,
// array @> and = ANY), all with values the workload hits. It then runs
// random transactions of inserts, deletes, updates that copy values
// between rows (so rows move into and out of shapes) and primary-key
// changes, and opens a few more random shapes halfway through. After
// each transaction every Go client shape must be up to date and equal
// SELECT <columns> FROM t WHERE <clause>: Postgres is the oracle. No
// shape may change handle: these changes never invalidate one.
//
// Clauses Postgres refuses (or fails on for some row) are not opened;
// clauses Galvani refuses must be outside the supported subset (the
// reasons TestWhereOracle allows). Every run logs its seed;
// GALVANI_WHERE_SEED=<n> replays it, and GALVANI_WHERE_TXNS=<n> sets the
// number of transactions (default 40).
func TestWhereShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	seed := rand.Uint64()
	if s := os.Getenv("GALVANI_WHERE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GALVANI_WHERE_SEED=%q: %v", s, err)
		}
		seed = n
	}
	txns := 40
	if n, err := strconv.Atoi(os.Getenv("GALVANI_WHERE_TXNS")); err == nil && n > 0 {
		txns = n
	}
	t.Logf("seed %d (replay with GALVANI_WHERE_SEED=%d)", seed, seed)
	start := time.Now()

	_, dbURL := pgtest.NewDatabase(t)
	conn := connect(t, dbURL)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `SET statement_timeout = '10s'`); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	tab := whereTable(r)
	pool := &oracle.Table{Name: tab.Name + "_pool", Columns: tab.Columns}
	var setup []string
	for _, e := range oracle.EnumTypes {
		setup = append(setup, e.DDL...)
	}
	for _, sql := range append(setup, tab.CreateSQL(), tab.InsertSQL(r, whereInitialRows), pool.CreateSQL(), pool.InsertSQL(r, wherePoolRows)) {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("seed %d: set up the table: %v\n%s", seed, err, sql)
		}
	}
	t.Logf("table: %s", tab.CreateSQL())

	srv := startServer(t, dbURL)
	c, _ := goClient(t, srv)
	wt := &whereTest{t: t, seed: seed, conn: conn, tab: tab, client: c, r: r, gen: oracle.NewClauseGen(r, tab), rejected: map[string]int{}}

	hot, hotCols := wt.fixedShapes()
	fixed := len(wt.shapes)
	if n := wt.randomShapes(whereRandomShapes, "random"); n < 12 {
		t.Fatalf("seed %d: only %d random where shapes were accepted, want at least 12", seed, n)
	}
	t.Logf("%d fixed and %d random shapes open in %v", fixed, len(wt.shapes)-fixed, time.Since(start).Round(time.Millisecond))

	w := &whereWorkload{r: rand.New(rand.NewPCG(seed, 2)), tab: tab, pool: pool, hot: hot, hotCol: hotCols, nextID: whereInitialRows + 1}
	for id := int64(1); id <= whereInitialRows; id++ {
		w.live = append(w.live, id)
	}
	tableKeys := wt.tableKeys()
	for i := range txns {
		if i == txns/2 {
			// Shapes created while the table changes.
			wt.randomShapes(whereLateShapes, "late")
		}
		stmts := w.transaction()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sql := range stmts {
			if _, err := tx.Exec(ctx, sql); err != nil {
				t.Fatalf("seed %d: transaction %d: %s: %v", seed, i, sql, err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatalf("seed %d: transaction %d: commit: %v", seed, i, err)
		}
		newKeys := wt.tableKeys()
		for _, s := range wt.shapes {
			want, dontCare := wt.selectShape(s)
			s.countMoves(want, tableKeys, newKeys)
			wt.waitShape(s, want, dontCare, fmt.Sprintf("after transaction %d:\n  %s", i, strings.Join(stmts, ";\n  ")))
		}
		tableKeys = newKeys
	}

	t.Logf("%d random clauses drawn: %d rejected by Postgres, %d selecting no or every row skipped, %d rejected by Galvani (outside the supported subset): %v",
		wt.drawn, wt.pgRejected, wt.trivial, wt.rejectedTotal(), wt.rejected)
	var in, out int
	var changed []string
	for _, s := range wt.shapes {
		if h := s.shape.Handle(); h != s.handle {
			t.Errorf("seed %d: %s: handle %s changed to %s; inserts, updates and deletes must not invalidate a shape", seed, s, s.handle, h)
		}
		in += s.movedIn
		out += s.movedOut
		if s.changes > 0 {
			changed = append(changed, fmt.Sprintf("%s: %d changes (%d in, %d out)", s, s.changes, s.movedIn, s.movedOut))
		} else {
			changed = append(changed, fmt.Sprintf("%s: unchanged", s))
		}
	}
	t.Logf("%d transactions in %v; %d rows moved into shapes and %d out of them by updates; %d SELECTs raised an error and were compared row by row:\n%s",
		txns, time.Since(start).Round(time.Millisecond), in, out, wt.rowByRow, strings.Join(changed, "\n"))
	if in == 0 || out == 0 {
		t.Errorf("seed %d: updates moved %d rows into shapes and %d out of them; the workload must move rows both ways", seed, in, out)
	}
}

const (
	whereInitialRows = 40
	wherePoolRows    = 60
	// whereRandomShapes is how many random where shapes the test opens
	// before the workload, and whereLateShapes how many halfway through;
	// each time drawing at most whereMaxClauses clauses.
	whereRandomShapes = 16
	whereLateShapes   = 4
	whereMaxClauses   = 200
)

// whereTable returns a random table with every scalar type and at least
// one array column whose elements are not enums (for the fixed shapes).
func whereTable(r *rand.Rand) *oracle.Table {
	tab := oracle.RandomTable(r, "wt", len(oracle.ScalarTypes)+1+r.IntN(5))
	if !slices.ContainsFunc(tab.Columns, plainArray) {
		var elems []string
		for _, e := range oracle.ArrayElemTypes {
			if oracle.Enum(e) == nil {
				elems = append(elems, e)
			}
		}
		tab.Columns = append(tab.Columns, oracle.Column{Name: "arr", Type: elems[r.IntN(len(elems))] + "[]"})
	}
	return tab
}

// plainArray reports whether c is an array column of a built-in element
// type.
func plainArray(c oracle.Column) bool {
	return oracle.IsArray(c.Type) && oracle.Enum(oracle.Elem(c.Type)) == nil
}

// whereTest holds the shapes under test and what opening them found.
type whereTest struct {
	t      *testing.T
	seed   uint64
	conn   *pgx.Conn
	tab    *oracle.Table
	client *client.Client
	r      *rand.Rand
	gen    *oracle.ClauseGen
	shapes []*whereShape

	drawn, pgRejected, trivial int
	rejected                   map[string]int // Galvani's refusals, by class
	rowByRow                   int            // SELECTs that raised an error
}

func (wt *whereTest) rejectedTotal() int {
	n := 0
	for _, v := range wt.rejected {
		n += v
	}
	return n
}

// whereShape is a running shape and its definition.
type whereShape struct {
	name    string
	where   string
	params  []string
	columns []string // nil for every column
	replica string
	shape   *client.Shape
	handle  string // when opened

	mu     sync.Mutex
	runErr error
	exited bool

	lastWant                   map[string]Row
	changes, movedIn, movedOut int
}

func (s *whereShape) String() string {
	return fmt.Sprintf("shape %s: where %q params %q columns %q replica %q", s.name, s.where, s.params, s.columns, s.replica)
}

// selectList is the SELECT list of the shape's columns.
func (wt *whereTest) selectList(cols []string) string {
	if cols == nil {
		return "*"
	}
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

func (wt *whereTest) rowKey(id string) string {
	return `"public"."` + wt.tab.Name + `"/"` + strings.ReplaceAll(id, "/", "//") + `"`
}

// query runs sql with untyped text parameters and returns the rows by row
// key.
func (wt *whereTest) query(sql string, params []string) (map[string]Row, error) {
	vals := make([][]byte, len(params))
	for i, p := range params {
		vals[i] = []byte(p)
	}
	res := wt.conn.PgConn().ExecParams(context.Background(), sql, vals, nil, nil, nil).Read()
	if res.Err != nil {
		return nil, res.Err
	}
	out := map[string]Row{}
	for _, raw := range res.Rows {
		row := Row{}
		for i, f := range res.FieldDescriptions {
			if raw[i] == nil {
				row[f.Name] = nil
			} else {
				v := string(raw[i])
				row[f.Name] = &v
			}
		}
		out[wt.rowKey(*row["id"])] = row
	}
	return out, nil
}

// selectShape returns what the shape must hold: SELECT <columns> FROM t
// WHERE <clause>. When Postgres raises an error on some row (division by
// zero, overflow), each row is selected alone: a row that raises is not
// in the snapshot Postgres would take and Galvani need not hold it (its
// evaluation may fail on it too); those keys are returned as dontCare.
func (wt *whereTest) selectShape(s *whereShape) (want map[string]Row, dontCare map[string]bool) {
	wt.t.Helper()
	from := " FROM " + pgx.Identifier{wt.tab.Name}.Sanitize()
	rows, err := wt.query("SELECT "+wt.selectList(s.columns)+from+" WHERE "+s.where, s.params)
	if err == nil {
		return rows, nil
	}
	wt.rowByRow++
	ids, err2 := wt.query("SELECT id"+from, nil)
	if err2 != nil {
		wt.t.Fatal(err2)
	}
	want, dontCare = map[string]Row{}, map[string]bool{}
	idArg := "$" + strconv.Itoa(len(s.params)+1) + "::int8"
	for key, idRow := range ids {
		// The subquery (kept by OFFSET 0) isolates the row without giving
		// the planner index conditions that could skip the clause.
		one, err := wt.query("SELECT "+wt.selectList(s.columns)+" FROM (SELECT *"+from+" WHERE id = "+idArg+" OFFSET 0) AS "+pgx.Identifier{wt.tab.Name}.Sanitize()+" WHERE "+s.where,
			append(slices.Clone(s.params), *idRow["id"]))
		switch {
		case err != nil:
			dontCare[key] = true
		case len(one) == 1:
			want[key] = one[key]
		}
	}
	return want, dontCare
}

// tableKeys returns the row keys of the table.
func (wt *whereTest) tableKeys() map[string]bool {
	wt.t.Helper()
	rows, err := wt.query("SELECT id FROM "+pgx.Identifier{wt.tab.Name}.Sanitize(), nil)
	if err != nil {
		wt.t.Fatal(err)
	}
	keys := map[string]bool{}
	for k := range rows {
		keys[k] = true
	}
	return keys
}

// countMoves records how the shape's rows changed: rows of the table that
// entered or left the shape while staying in the table moved (an update
// made them match or stop matching).
func (s *whereShape) countMoves(want map[string]Row, before, after map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.lastWant
	s.lastWant = want
	if prev == nil {
		return
	}
	if !rowsEqual(prev, want) {
		s.changes++
	}
	for k := range want {
		if _, ok := prev[k]; !ok && before[k] {
			s.movedIn++
		}
	}
	for k := range prev {
		if _, ok := want[k]; !ok && after[k] {
			s.movedOut++
		}
	}
}

// open requests a shape and follows it until its first up-to-date. It
// returns the server's 400 as a *client.FetchError; other failures end
// the test.
func (wt *whereTest) open(s *whereShape) *client.FetchError {
	wt.t.Helper()
	st, err := wt.client.Stream(client.ShapeRequest{Table: wt.tab.Name, Where: s.where, Params: s.params, Columns: s.columns, Replica: s.replica})
	if err != nil {
		wt.t.Fatalf("seed %d: %s: %v", wt.seed, s, err)
	}
	shape := client.NewShape(st, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		b, err := st.Next(ctx)
		var fe *client.FetchError
		if errors.As(err, &fe) && fe.Status == http.StatusBadRequest {
			st.Close()
			return fe
		}
		if err != nil {
			wt.t.Fatalf("seed %d: %s: opening the shape: %v", wt.seed, s, err)
		}
		shape.Apply(b)
		if b.UpToDate {
			break
		}
	}
	s.shape, s.handle = shape, shape.Handle()
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := shape.Run(runCtx)
		s.mu.Lock()
		s.runErr, s.exited = err, true
		s.mu.Unlock()
	}()
	wt.t.Cleanup(func() {
		stop()
		<-done
		if !errors.Is(s.runErr, context.Canceled) {
			wt.t.Errorf("%s: Shape.Run() = %v, want context.Canceled", s, s.runErr)
		}
	})
	wt.shapes = append(wt.shapes, s)
	return nil
}

// waitShape waits until the shape is up to date and holds want (rows in
// dontCare may be held or not).
func (wt *whereTest) waitShape(s *whereShape, want map[string]Row, dontCare map[string]bool, what string) {
	wt.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	base := want
	for {
		got := asRows(s.shape.Rows())
		if len(dontCare) > 0 {
			want = maps.Clone(base)
			for k := range dontCare {
				if g, ok := got[k]; ok {
					want[k] = g
				}
			}
		}
		if s.shape.UpToDate() && rowsEqual(got, want) {
			return
		}
		s.mu.Lock()
		exited, runErr := s.exited, s.runErr
		s.mu.Unlock()
		if exited || time.Now().After(deadline) {
			wt.t.Fatalf("seed %d (replay with GALVANI_WHERE_SEED=%d): %s never equalled SELECT %s; up to date %v, Run error %v:\n%s",
				wt.seed, wt.seed, s, what, s.shape.UpToDate(), runErr, describeDiff(got, want))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
