package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/e2e/nodeclient"
	"github.com/galvani-sync/galvani/internal/pgtest"
)

// followItems starts the official client on table t and waits until it
// equals SELECT.
func followItems(t *testing.T, ctx context.Context, srv *server, dbURL, table string) (*nodeclient.Process, func() map[string]Row, nodeclient.Event) {
	t.Helper()
	client, err := nodeclient.Start(ctx, nodeclient.Config{
		URL:    srv.url("/v1/shape"),
		Shapes: []nodeclient.ShapeConfig{{Name: table, Params: map[string]string{"table": table}}},
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Stop() })
	// A fresh connection each time: the tests restart Postgres.
	want := func() map[string]Row {
		conn := connect(t, dbURL)
		defer conn.Close(context.Background())
		return tableRows(t, conn, "public", table, []string{"id"})
	}
	ev, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
		return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want())
	})
	if err != nil {
		t.Fatal(err)
	}
	return client, want, ev
}

func health(t *testing.T, srv *server) (int, string) {
	resp, err := http.Get(srv.url("/v1/health"))
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct{ Status string }
	json.Unmarshal(b, &body)
	return resp.StatusCode, body.Status
}

// TestPostgresRestartMidStream: Postgres restarts under a following client;
// the server reports it is not active meanwhile, reconnects on its own,
// resumes from the acknowledged LSN, and the client converges with the same
// handle and no refetch.
func TestPostgresRestartMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE pr (id int PRIMARY KEY, v text); INSERT INTO pr SELECT i, 'v' FROM generate_series(1, 50) i;`)
	srv := startServer(t, dbURL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client, want, first := followItems(t, ctx, srv, dbURL, "pr")
	pgtest.Exec(t, dbURL, `INSERT INTO pr VALUES (100, 'before restart')`)

	cluster := pgtest.Cluster(t)
	if err := cluster.Kill(); err != nil { // a crash, not a clean shutdown
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, status := health(t, srv)
		if code == http.StatusAccepted && status != "active" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/v1/health still %d %q 10s after Postgres died", code, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cluster.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, dbURL, `UPDATE pr SET v = 'after restart' WHERE id <= 10; DELETE FROM pr WHERE id = 50`)
	ev, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
		if ev.Event == nodeclient.EventMustRefetch || ev.Event == nodeclient.EventError {
			t.Fatalf("client got %s after a Postgres restart", ev.Event)
		}
		return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want())
	})
	if err != nil {
		t.Fatalf("client did not converge after the Postgres restart: %v", err)
	}
	if ev.Handle != first.Handle {
		t.Errorf("handle changed from %s to %s", first.Handle, ev.Handle)
	}
	if code, status := health(t, srv); code != http.StatusOK || status != "active" {
		t.Errorf("/v1/health = %d %q after recovery, want 200 active", code, status)
	}
}

// TestSlotDroppedInvalidatesShapes: a replication slot dropped behind the
// server's back means changes were lost; the server recreates the slot and
// invalidates every shape, and the client refetches and converges.
func TestSlotDroppedInvalidatesShapes(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE sd (id int PRIMARY KEY, v text); INSERT INTO sd SELECT i, 'v' FROM generate_series(1, 20) i;`)
	srv := startServer(t, dbURL, "ELECTRIC_REPLICATION_STREAM_ID=slotdrop")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, want, first := followItems(t, ctx, srv, dbURL, "sd")

	conn := connect(t, dbURL)
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The server reconnects quickly: terminate its walsender and drop
		// the slot in one statement, retrying until the drop wins.
		_, err := conn.Exec(ctx, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'electric_slot_slotdrop' AND active_pid IS NOT NULL`)
		if err == nil {
			_, err = conn.Exec(ctx, `SELECT pg_drop_replication_slot('electric_slot_slotdrop')`)
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("could not drop the slot: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Written while no slot exists: lost to the stream, so only a refetch
	// can bring it.
	pgtest.Exec(t, dbURL, `INSERT INTO sd VALUES (99, 'while the slot was gone')`)
	if _, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool { return ev.Event == nodeclient.EventMustRefetch }); err != nil {
		t.Fatalf("no must-refetch after the slot was dropped: %v", err)
	}
	ev, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
		return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want())
	})
	if err != nil {
		t.Fatalf("client did not converge: %v", err)
	}
	if ev.Handle == first.Handle {
		t.Errorf("handle %s reused after the slot was recreated", ev.Handle)
	}
}

// TestGracefulShutdown: SIGTERM with a live request in flight makes the
// server finish or release it, make everything durable, acknowledge it to
// Postgres and exit 0 within a bounded time.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE gs (id int PRIMARY KEY)`)
	srv := startServer(t, dbURL, "ELECTRIC_REPLICATION_STREAM_ID=graceful", "ELECTRIC_LONG_POLL_TIMEOUT=20s")
	pgtest.Exec(t, dbURL, `INSERT INTO gs SELECT generate_series(1, 1000)`)
	conn := connect(t, dbURL)
	var walAfterWrite string
	if err := conn.QueryRow(context.Background(), `SELECT pg_current_wal_lsn()::text`).Scan(&walAfterWrite); err != nil {
		t.Fatal(err)
	}
	handle, offset := syncToEnd(t, srv, "gs")
	done := make(chan error, 1)
	go func() { // held at the head until shutdown
		resp, err := http.Get(srv.url("/v1/shape?table=gs&handle=" + handle + "&offset=" + offset + "&live=true"))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	srv.cmd.Process.Signal(os.Interrupt)
	select {
	case <-srv.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("no exit 15s after SIGINT")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shutdown took %v, want under 10s", took)
	}
	if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGINT, want 0", code)
	}
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Error("the live request was neither answered nor released by the shutdown")
	}
	var acked bool
	err := conn.QueryRow(context.Background(),
		`SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE slot_name = 'electric_slot_graceful'`, walAfterWrite).Scan(&acked)
	if err != nil {
		t.Fatal(err)
	}
	if !acked {
		t.Errorf("slot not acknowledged past the last write (%s) after a clean shutdown", walAfterWrite)
	}
}

// TestWALRetentionIsReported: /v1/health reports how much WAL the slot
// retains and the acknowledgement lag, and the server warns above the
// configured threshold.
func TestWALRetentionIsReported(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	srv := startServer(t, dbURL, "GALVANI_SCHEMA_CHECK_INTERVAL=200ms", "GALVANI_WAL_RETAINED_WARN=1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(srv.url("/v1/health"))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Status      string
			Replication map[string]any
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		_, hasRetained := body.Replication["retained_wal_bytes"]
		_, hasLag := body.Replication["lag_bytes"]
		if body.Status == "active" && hasRetained && hasLag && strings.Contains(srv.logText(), "retains a lot of WAL") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %+v and no retention warning after 10s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestInvalidatedSlotIsRecreated: a slot Postgres invalidated for keeping
// too much WAL (max_slot_wal_keep_size) cannot stream; the server drops
// and recreates it and invalidates every shape, and the client resyncs.
func TestInvalidatedSlotIsRecreated(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE lost (id int PRIMARY KEY, v text); INSERT INTO lost VALUES (1, 'a');`)
	srv := startServer(t, dbURL, "ELECTRIC_REPLICATION_STREAM_ID=lostslot")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client, want, first := followItems(t, ctx, srv, dbURL, "lost")

	srv.stop() // the slot goes inactive, so Postgres may invalidate it
	setKeep := func(sql string) {
		pgtest.Exec(t, dbURL, sql) // one statement at a time: ALTER SYSTEM refuses a transaction
		pgtest.Exec(t, dbURL, `SELECT pg_reload_conf()`)
	}
	setKeep(`ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'`)
	t.Cleanup(func() { setKeep(`ALTER SYSTEM RESET max_slot_wal_keep_size`) })
	conn := connect(t, dbURL)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var status string
		if err := conn.QueryRow(ctx, `SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'electric_slot_lostslot'`).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status == "lost" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot still %q after generating WAL", status)
		}
		// Push WAL past the limit and let a checkpoint invalidate the slot.
		pgtest.Exec(t, dbURL, `INSERT INTO lost SELECT g, repeat('x', 1000) FROM generate_series(1000, 3000) g ON CONFLICT (id) DO UPDATE SET v = excluded.v`)
		pgtest.Exec(t, dbURL, `SELECT pg_switch_wal()`)
		pgtest.Exec(t, dbURL, `CHECKPOINT`)
	}
	setKeep(`ALTER SYSTEM RESET max_slot_wal_keep_size`)
	srv.start()
	if _, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool { return ev.Event == nodeclient.EventMustRefetch }); err != nil {
		t.Fatalf("no must-refetch after the slot was invalidated: %v", err)
	}
	ev, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
		return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want())
	})
	if err != nil {
		t.Fatalf("client did not converge: %v", err)
	}
	if ev.Handle == first.Handle {
		t.Error("handle reused after the slot was recreated")
	}
	if !strings.Contains(srv.logText(), "invalidated by Postgres") {
		t.Error("the server did not report the invalidated slot")
	}
}
