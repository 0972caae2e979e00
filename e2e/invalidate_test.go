package e2e

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/e2e/nodeclient"
	"github.com/galvani-sync/galvani/internal/pgtest"
)

// TestInvalidationMakesOfficialClientRefetch: DELETE /v1/shape and TRUNCATE
// each invalidate the shape; the official client gets must-refetch, syncs
// the new shape under a new handle and ends equal to SELECT.
func TestInvalidationMakesOfficialClientRefetch(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE inv (id int PRIMARY KEY, v text);
		INSERT INTO inv SELECT i, 'v' || i FROM generate_series(1, 20) i;`)
	srv := startServer(t, dbURL, "ELECTRIC_ENABLE_INTEGRATION_TESTING=true", "GALVANI_SCHEMA_CHECK_INTERVAL=300ms")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := nodeclient.Start(ctx, nodeclient.Config{
		URL:    srv.url("/v1/shape"),
		Shapes: []nodeclient.ShapeConfig{{Name: "inv", Params: map[string]string{"table": "inv"}}},
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Stop()
	conn := connect(t, dbURL)
	pk := []string{"id"}
	want := func() map[string]Row { return tableRows(t, conn, "public", "inv", pk) }
	first, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
		return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want())
	})
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name   string
		action func()
	}{
		{"delete", func() {
			req, _ := http.NewRequest(http.MethodDelete, srv.url("/v1/shape?table=inv"), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("DELETE /v1/shape = %d, want 202", resp.StatusCode)
			}
			pgtest.Exec(t, dbURL, `INSERT INTO inv VALUES (100, 'after delete')`)
		}},
		{"truncate", func() {
			pgtest.Exec(t, dbURL, `TRUNCATE inv; INSERT INTO inv VALUES (7, 'after truncate'), (8, 'x')`)
		}},
		{"add column", func() {
			pgtest.Exec(t, dbURL, `ALTER TABLE inv ADD COLUMN extra int DEFAULT 5; INSERT INTO inv VALUES (9, 'y', 6)`)
		}},
		{"change column type", func() {
			pgtest.Exec(t, dbURL, `ALTER TABLE inv ALTER COLUMN extra TYPE bigint; UPDATE inv SET extra = 7 WHERE id = 9`)
		}},
		{"drop column", func() {
			pgtest.Exec(t, dbURL, `ALTER TABLE inv DROP COLUMN extra; UPDATE inv SET v = 'z' WHERE id = 9`)
		}},
		{"replica identity", func() {
			pgtest.Exec(t, dbURL, `ALTER TABLE inv REPLICA IDENTITY DEFAULT; UPDATE inv SET v = 'w' WHERE id = 9`)
		}},
		{"primary key change without writes", func() {
			pgtest.Exec(t, dbURL, `ALTER TABLE inv DROP CONSTRAINT inv_pkey, ADD PRIMARY KEY (id, v)`)
			pk = []string{"id", "v"}
		}},
	}
	handle := first.Handle
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.action()
			if _, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool { return ev.Event == nodeclient.EventMustRefetch }); err != nil {
				t.Fatalf("no must-refetch after %s: %v", step.name, err)
			}
			ev, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
				return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want()) && rowsEqual(ev.ShapeRows, want())
			})
			if err != nil {
				t.Fatalf("client did not converge after %s: %v", step.name, err)
			}
			if ev.Handle == handle {
				t.Errorf("handle %s reused after %s", handle, step.name)
			}
			handle = ev.Handle
		})
	}
}

// TestDroppedOrRenamedTableInvalidatesShape: DROP TABLE and renames send
// nothing on the replication stream; the schema check finds them, the old
// handle is no longer served and a refetch reports the missing table.
func TestDroppedOrRenamedTableInvalidatesShape(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE gone1 (id int PRIMARY KEY); CREATE TABLE gone2 (id int PRIMARY KEY);`)
	srv := startServer(t, dbURL, "GALVANI_SCHEMA_CHECK_INTERVAL=300ms")
	for _, tt := range []struct{ table, ddl string }{
		{"gone1", `DROP TABLE gone1`},
		{"gone2", `ALTER TABLE gone2 RENAME TO renamed2`},
	} {
		t.Run(tt.ddl, func(t *testing.T) {
			handle, offset := syncToEnd(t, srv, tt.table)
			pgtest.Exec(t, dbURL, tt.ddl)
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := http.Get(srv.url("/v1/shape?table=" + tt.table + "&handle=" + handle + "&offset=" + offset))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				// A live request waiting at the time gets 409; later
				// requests fail validation (400: the table does not exist).
				if resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusBadRequest {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("old handle still served %d 10s after %s", resp.StatusCode, tt.ddl)
				}
				time.Sleep(100 * time.Millisecond)
			}
			resp, err := http.Get(srv.url("/v1/shape?table=" + tt.table + "&offset=-1"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("refetch of %s after %s = %d, want 400 (table does not exist)", tt.table, tt.ddl, resp.StatusCode)
			}
		})
	}
}

// TestMaxShapesEvictsLeastRecentlyUsed: above ELECTRIC_MAX_SHAPES the least
// recently used shape is evicted; its clients get 409 and a refetch works.
func TestMaxShapesEvictsLeastRecentlyUsed(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE ea (id int PRIMARY KEY); CREATE TABLE eb (id int PRIMARY KEY); CREATE TABLE ec (id int PRIMARY KEY);`)
	srv := startServer(t, dbURL, "ELECTRIC_MAX_SHAPES=2")
	ha, oa := syncToEnd(t, srv, "ea")
	hb, ob := syncToEnd(t, srv, "eb")
	time.Sleep(10 * time.Millisecond)
	syncToEnd(t, srv, "ea") // ea is now more recently used than eb
	syncToEnd(t, srv, "ec")
	status := func(table, handle, offset string) int {
		resp, err := http.Get(srv.url("/v1/shape?table=" + table + "&handle=" + handle + "&offset=" + offset))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Eviction follows the creation that exceeded the limit. (Asking for
	// eb with its old handle recreates it, evicting another: check last.)
	time.Sleep(300 * time.Millisecond)
	if got := status("ea", ha, oa); got != http.StatusOK {
		t.Errorf("ea (recently used) = %d, want 200", got)
	}
	if got := status("eb", hb, ob); got != http.StatusConflict {
		t.Errorf("eb (least recently used) = %d, want 409: not evicted", got)
	}
}

// TestOversizedTransactionInvalidates: a transaction above
// ELECTRIC_EXPERIMENTAL_MAX_TXN_SIZE invalidates the shapes it touches;
// the refetched shape holds its rows.
func TestOversizedTransactionInvalidates(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE tb (id int PRIMARY KEY, v text); INSERT INTO tb VALUES (1, 'small');`)
	srv := startServer(t, dbURL, "ELECTRIC_EXPERIMENTAL_MAX_TXN_SIZE=10KB")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, want, first := followItems(t, ctx, srv, dbURL, "tb")
	pgtest.Exec(t, dbURL, `INSERT INTO tb VALUES (2, 'fits')`)
	pgtest.Exec(t, dbURL, `INSERT INTO tb SELECT i, repeat('x', 100) FROM generate_series(3, 500) i`)
	if _, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool { return ev.Event == nodeclient.EventMustRefetch }); err != nil {
		t.Fatalf("no must-refetch after an oversized transaction: %v", err)
	}
	ev, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
		return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want())
	})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Handle == first.Handle {
		t.Error("handle reused")
	}
}
