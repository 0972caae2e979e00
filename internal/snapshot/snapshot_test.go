package snapshot_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/pgtest"
	"github.com/galvani-sync/galvani/internal/snapshot"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// items is the relation of the test table, its columns in attribute order.
var items = &pg.Relation{Schema: "public", Name: "items", PK: []int{0}, Columns: []pg.Column{
	{Name: "id"}, {Name: "title"}, {Name: "n"}, {Name: "at"}, {Name: "tags"}, {Name: "note"},
}}

const itemsTable = `
	CREATE TABLE items (id int PRIMARY KEY, title text, n numeric, at timestamptz, tags text[], note text);
	SET timezone = 'UTC';
	INSERT INTO items VALUES
		(1, 'plain', 1.50, '2024-01-01 00:00:00+00', '{a,b}', NULL),
		(2, '', NULL, NULL, '{}', 'tab	and
newline, "quotes" and \backslash'),
		(3, 'ünïcödé ✓ 😀', -7, '2024-06-30 12:34:56.789+00', '{"with space",NULL}', '');
`

// TestTakeReadsRowsAsText checks that rows arrive in the text output of
// each type, NULL as Null (and an empty string as an empty string), and
// that values stay valid after the call that delivered them: each row
// owns its text.
func TestTakeReadsRowsAsText(t *testing.T) {
	if testing.Short() {
		return
	}
	pool := newPool(t)
	var got [][]pg.Value
	var snaps int
	err := snapshot.Take(context.Background(), pool, snapshot.Query{
		Relation:   items,
		OrderBy:    `"id"`,
		OnSnapshot: func(pg.Snapshot, pg.LSN) error { snaps++; return nil },
		OnRow: func(row pg.Row) error {
			got = append(got, append([]pg.Value(nil), row...))
			return nil
		},
	})
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	null := pg.Value{Null: true}
	text := func(s string) pg.Value { return pg.Value{Text: s} }
	want := [][]pg.Value{
		{text("1"), text("plain"), text("1.50"), text("2024-01-01 00:00:00+00"), text("{a,b}"), null},
		{text("2"), text(""), null, null, text("{}"), text("tab\tand\nnewline, \"quotes\" and \\backslash")},
		{text("3"), text("ünïcödé ✓ 😀"), text("-7"), text("2024-06-30 12:34:56.789+00"), text(`{"with space",NULL}`), text("")},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	if snaps != 1 {
		t.Errorf("OnSnapshot called %d times, want 1", snaps)
	}
}

// TestTakeWhereLimitAndRetry checks a filtered, limited query with a
// parameter, and that ErrRetry from OnSnapshot takes a fresh snapshot
// before any row is read.
func TestTakeWhereLimitAndRetry(t *testing.T) {
	if testing.Short() {
		return
	}
	pool := newPool(t)
	var ids []string
	attempts := 0
	err := snapshot.Take(context.Background(), pool, snapshot.Query{
		Relation: items,
		Where:    `"id" >= $1::int`,
		Args:     []any{"2"},
		OrderBy:  `"id" DESC`,
		Limit:    1,
		OnSnapshot: func(pg.Snapshot, pg.LSN) error {
			if attempts++; attempts == 1 {
				return snapshot.ErrRetry
			}
			return nil
		},
		OnRow: func(row pg.Row) error {
			ids = append(ids, row[0].Text)
			return nil
		},
	})
	if err != nil {
		t.Fatalf("Take: %v", err)
	}
	if !cmp.Equal(ids, []string{"3"}) || attempts != 2 {
		t.Errorf("Take read ids %v in %d attempts; want [3] in 2", ids, attempts)
	}

	stop := errors.New("stop")
	err = snapshot.Take(context.Background(), pool, snapshot.Query{
		Relation:   items,
		OnSnapshot: func(pg.Snapshot, pg.LSN) error { return nil },
		OnRow:      func(pg.Row) error { return stop },
	})
	if !errors.Is(err, stop) {
		t.Errorf("Take with a failing OnRow: %v, want %v", err, stop)
	}
}

func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	_, url := pgtest.NewDatabase(t)
	pgtest.Exec(t, url, itemsTable)
	pool, err := pgxpool.New(context.Background(), url+"&timezone=UTC")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
