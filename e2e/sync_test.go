package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/galvani-sync/galvani/e2e/nodeclient"
	"github.com/galvani-sync/galvani/internal/pgtest"
)

// shapeSpec is a shape the client syncs and how to read it from Postgres.
type shapeSpec struct {
	name, table string
	pk          []string
	sse         bool // live mode by server-sent events instead of long-poll
	// A filtered shape: where clause, its parameters and the columns.
	where   string
	params  []string
	columns string // "" for every column
}

// shapeParams returns the shape's request parameters.
func (s shapeSpec) shapeParams() map[string]string {
	p := map[string]string{"table": s.table}
	if s.where != "" {
		p["where"] = s.where
	}
	for i, v := range s.params {
		p[fmt.Sprintf("params[%d]", i+1)] = v
	}
	if s.columns != "" {
		p["columns"] = s.columns
	}
	return p
}

// rows reads what the shape must hold from Postgres.
func (s shapeSpec) rows(t testing.TB, conn *pgx.Conn) map[string]Row {
	cols := "*"
	if s.columns != "" {
		cols = s.columns
	}
	args := make([]any, len(s.params))
	for i, p := range s.params {
		args[i] = p
	}
	return queryRows(t, conn, "public", s.table, s.pk, cols, s.where, args...)
}

// TestOfficialClientFollowsRandomWorkload is the core promise: the official
// @electric-sql/client syncs whole-table shapes — one seeded before the
// server started (followed by long-poll and by SSE), one on a table created
// afterwards — through random
// multi-table transactions and a kill -9 of the server, and after every
// up-to-date its rows equal a state Postgres actually had, ending equal to
// SELECT after each transaction. No must-refetch happens: a restart keeps
// handles and offsets.
func TestOfficialClientFollowsRandomWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `
		CREATE TABLE items (
			id bigint PRIMARY KEY, title text NOT NULL, n int, price numeric(10,2),
			done boolean NOT NULL DEFAULT false, updated timestamptz, meta jsonb);
		INSERT INTO items
		SELECT i, 'item ' || i, i % 7, (i * 1.25)::numeric(10,2), i % 2 = 0,
		       '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 minute',
		       jsonb_build_object('i', i)
		FROM generate_series(1, 1000) i;`)

	srv := startServer(t, dbURL)
	// A table created after the server started.
	pgtest.Exec(t, dbURL, `CREATE TABLE late (a int, b text, v text, PRIMARY KEY (a, b));
		INSERT INTO late VALUES (1, 'x', 'first');`)

	shapes := []shapeSpec{
		{name: "items", table: "items", pk: []string{"id"}},
		{name: "late", table: "late", pk: []string{"a", "b"}},
		{name: "items-sse", table: "items", pk: []string{"id"}, sse: true},
		// Filtered shapes: updates move rows in and out of them.
		{name: "items-n", table: "items", pk: []string{"id"}, where: "n > $1 AND done", params: []string{"3"}},
		{name: "items-title", table: "items", pk: []string{"id"}, where: "title LIKE 'new%' OR id IN (1, 2, 3)", columns: "id,title,n"},
		{name: "late-a", table: "late", pk: []string{"a", "b"}, where: "a BETWEEN $1 AND $2", params: []string{"5", "12"}},
	}
	cfg := nodeclient.Config{URL: srv.url("/v1/shape")}
	for _, s := range shapes {
		cfg.Shapes = append(cfg.Shapes, nodeclient.ShapeConfig{Name: s.name, Params: s.shapeParams(), LiveSSE: s.sse})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	client, err := nodeclient.Start(ctx, cfg, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Stop()

	conn := connect(t, dbURL)
	w := &workload{t: t, rng: rng, conn: conn, nextID: 1001}
	c := newChecker(t, client, conn, shapes)
	c.record()
	c.converge(ctx)
	handles := c.handles()

	const txns = 50
	for i := 0; i < txns; i++ {
		start := time.Now()
		w.randomTransaction()
		c.record()
		if i == txns/2 {
			srv.kill()
			// A write while the server is down must arrive after restart.
			w.randomTransaction()
			c.record()
			srv.start()
		}
		c.converge(ctx)
		t.Logf("txn %d converged in %v", i, time.Since(start))
	}
	if got := c.handles(); fmt.Sprint(got) != fmt.Sprint(handles) {
		t.Errorf("handles changed across restart: %v, want %v", got, handles)
	}
	if c.refetches > 0 {
		t.Errorf("client saw %d must-refetch events; a restart must not invalidate shapes", c.refetches)
	}
}

// workload makes random transactions of inserts, updates and deletes over
// both tables.
type workload struct {
	t      *testing.T
	rng    *rand.Rand
	conn   *pgx.Conn
	nextID int
}

func (w *workload) randomTransaction() {
	w.t.Helper()
	if err := w.tryTransaction(); err != nil {
		w.t.Fatal(err)
	}
}

// tryTransaction is randomTransaction for goroutines other than the test's.
func (w *workload) tryTransaction() error {
	ctx := context.Background()
	tx, err := w.conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for range 1 + w.rng.IntN(8) {
		var sql string
		var args []any
		id := 1 + w.rng.IntN(w.nextID)
		switch w.rng.IntN(9) {
		case 0, 1:
			w.nextID++
			sql, args = `INSERT INTO items VALUES ($1, $2, $3, $4, $5, now(), $6)`,
				[]any{w.nextID, fmt.Sprintf("new %d", w.nextID), w.rng.IntN(100), fmt.Sprintf("%d.%02d", w.rng.IntN(1000), w.rng.IntN(100)), w.rng.IntN(2) == 0, `{"new": true}`}
		case 2:
			sql, args = `UPDATE items SET title = title || '+', n = n + 1 WHERE id = $1`, []any{id}
		case 3:
			sql, args = `UPDATE items SET done = NOT done, meta = NULL WHERE id % 97 = $1`, []any{id % 97}
		case 4:
			sql, args = `DELETE FROM items WHERE id = $1`, []any{id}
		case 5:
			w.nextID++
			sql, args = `UPDATE items SET id = $1 WHERE id = $2`, []any{w.nextID, id}
		case 6:
			sql, args = `INSERT INTO late VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, []any{w.rng.IntN(20), fmt.Sprintf("k/%d", w.rng.IntN(3)), "v"}
		case 7:
			sql, args = `UPDATE late SET v = v || '.' WHERE a = $1`, []any{w.rng.IntN(20)}
		case 8:
			sql, args = `DELETE FROM late WHERE a = $1`, []any{w.rng.IntN(20)}
		}
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("%s %v: %w", sql, args, err)
		}
	}
	return tx.Commit(ctx)
}

// checker keeps every state Postgres had after each transaction and checks
// the client's up-to-date states against them.
type checker struct {
	t         *testing.T
	client    *nodeclient.Process
	conn      *pgx.Conn
	shapes    []shapeSpec
	history   map[string][]map[string]Row
	matched   map[string]int // index into history of the client's last state
	handle    map[string]string
	refetches int
}

func newChecker(t *testing.T, client *nodeclient.Process, conn *pgx.Conn, shapes []shapeSpec) *checker {
	return &checker{t: t, client: client, conn: conn, shapes: shapes,
		history: map[string][]map[string]Row{}, matched: map[string]int{}, handle: map[string]string{}}
}

func (c *checker) record() {
	for _, s := range c.shapes {
		hist := append(c.history[s.name], s.rows(c.t, c.conn))
		c.history[s.name] = hist
		if _, ok := c.matched[s.name]; !ok {
			c.matched[s.name] = -1
		}
		// A transaction that left this table alone leaves the client's
		// state current: no new up-to-date is owed.
		if n := len(hist); n > 1 && c.matched[s.name] == n-2 && rowsEqual(hist[n-1], hist[n-2]) {
			c.matched[s.name] = n - 1
		}
	}
}

func (c *checker) handles() map[string]string {
	out := map[string]string{}
	for k, v := range c.handle {
		out[k] = v
	}
	return out
}

// converge reads client events until every shape's state equals the
// latest recorded state. Each up-to-date state must equal a recorded state
// no older than the previous match: the client never shows rows Postgres
// never had, nor goes back in time.
func (c *checker) converge(ctx context.Context) {
	c.t.Helper()
	done := func() bool {
		for _, s := range c.shapes {
			if c.matched[s.name] != len(c.history[s.name])-1 {
				return false
			}
		}
		return true
	}
	for !done() {
		ev, err := c.client.WaitFor(ctx, func(ev nodeclient.Event) bool {
			return ev.Event == nodeclient.EventUpToDate || ev.Event == nodeclient.EventMustRefetch || ev.Event == nodeclient.EventError
		})
		if err != nil {
			c.t.Fatalf("waiting for the client: %v\nstate: %s", err, c.status())
		}
		switch ev.Event {
		case nodeclient.EventError:
			c.t.Fatalf("client error on %s: %s", ev.Shape, ev.Text)
		case nodeclient.EventMustRefetch:
			c.refetches++
			c.matched[ev.Shape] = -1
			continue
		}
		hist := c.history[ev.Shape]
		found := -1
		for j := max(c.matched[ev.Shape], 0); j < len(hist); j++ {
			if rowsEqual(ev.Rows, hist[j]) {
				found = j
			}
		}
		if found < 0 {
			c.t.Fatalf("shape %s: client state at up-to-date (offset %s) equals no state Postgres had since the last match; vs latest:\n%s",
				ev.Shape, ev.Offset, describeDiff(ev.Rows, hist[len(hist)-1]))
		}
		if !rowsEqual(ev.ShapeRows, ev.Rows) {
			c.t.Fatalf("shape %s: the client's Shape differs from its stream:\n%s", ev.Shape, describeDiff(ev.ShapeRows, ev.Rows))
		}
		if h, ok := c.handle[ev.Shape]; ok && h != ev.Handle && c.refetches == 0 {
			c.t.Errorf("shape %s: handle changed from %s to %s", ev.Shape, h, ev.Handle)
		}
		c.handle[ev.Shape] = ev.Handle
		c.matched[ev.Shape] = found
	}
}

func (c *checker) status() string {
	var parts []string
	for _, s := range c.shapes {
		parts = append(parts, fmt.Sprintf("%s at %d/%d", s.name, c.matched[s.name], len(c.history[s.name])-1))
	}
	return strings.Join(parts, ", ")
}
