package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/e2e/nodeclient"
	"github.com/galvani-sync/galvani/internal/pgtest"
)

// crashKills is how many times TestCrashRecovery kills the server;
// GALVANI_CRASH_KILLS raises it (make soak runs 100).
func crashKills() int {
	if n, err := strconv.Atoi(os.Getenv("GALVANI_CRASH_KILLS")); err == nil && n > 0 {
		return n
	}
	return 10
}

// TestCrashRecovery kills the server with SIGKILL at random moments under a
// continuous random workload on several shapes, restarting it each time.
// Afterwards the official client (which followed all along) and the raw
// HTTP logs are checked: the same handles throughout, no must-refetch, no
// change lost (rows equal SELECT), none doubled (no insert of a key already
// present, no update or delete of a missing one), offsets strictly
// increasing.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `
		CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL, n int, price numeric(10,2), done boolean NOT NULL DEFAULT false, updated timestamptz, meta jsonb);
		INSERT INTO items SELECT i, 'item ' || i, i % 7, i * 1.5, i % 2 = 0, now(), jsonb_build_object('i', i) FROM generate_series(1, 300) i;
		CREATE TABLE late (a int, b text, v text, PRIMARY KEY (a, b));`)
	srv := startServer(t, dbURL, "ELECTRIC_LOG_LEVEL=info")

	type spec struct {
		shapeSpec
		params map[string]string
		cols   []string
	}
	specs := []spec{
		{shapeSpec{name: "items", table: "items", pk: []string{"id"}}, map[string]string{"table": "items"}, nil},
		{shapeSpec{name: "items-cols", table: "items", pk: []string{"id"}}, map[string]string{"table": "items", "columns": "id,title"}, []string{"id", "title"}},
		{shapeSpec{name: "items-full", table: "items", pk: []string{"id"}}, map[string]string{"table": "items", "replica": "full"}, nil},
		{shapeSpec{name: "late", table: "late", pk: []string{"a", "b"}}, map[string]string{"table": "late"}, nil},
	}
	cfg := nodeclient.Config{URL: srv.url("/v1/shape")}
	for _, s := range specs {
		cfg.Shapes = append(cfg.Shapes, nodeclient.ShapeConfig{Name: s.name, Params: s.params})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	client, err := nodeclient.Start(ctx, cfg, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Stop()

	// The workload runs while the server dies and comes back.
	conn := connect(t, dbURL)
	w := &workload{t: t, rng: rng, conn: conn, nextID: 301}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var workErr error
	txns := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if workErr = w.tryTransaction(); workErr != nil {
				return
			}
			txns++
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		}
	}()
	kills := crashKills()
	killRng := rand.New(rand.NewPCG(seed, 3))
	for i := range kills {
		time.Sleep(time.Duration(200+killRng.IntN(1300)) * time.Millisecond)
		srv.kill()
		if killRng.IntN(3) == 0 {
			time.Sleep(time.Duration(killRng.IntN(500)) * time.Millisecond)
		}
		srv.start()
		t.Logf("kill %d/%d done", i+1, kills)
	}
	close(stop)
	wg.Wait()
	if workErr != nil {
		t.Fatalf("workload: %v", workErr)
	}
	t.Logf("%d transactions committed across %d kills", txns, kills)

	// The client converges on the final state of every shape.
	handles := map[string]string{}
	refetches := 0
	for _, s := range specs {
		want := tableRows(t, conn, "public", s.table, s.pk)
		if s.cols != nil {
			want = projectRows(want, s.cols)
		}
		ev, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
			switch ev.Event {
			case nodeclient.EventMustRefetch:
				refetches++
			case nodeclient.EventError:
				t.Fatalf("client error on %s: %s", ev.Shape, ev.Text)
			case nodeclient.EventUpToDate:
				if h, ok := handles[ev.Shape]; ok && h != ev.Handle {
					t.Errorf("shape %s: handle changed from %s to %s", ev.Shape, h, ev.Handle)
				}
				handles[ev.Shape] = ev.Handle
				return ev.Shape == s.name && rowsEqual(ev.Rows, want) && rowsEqual(ev.ShapeRows, want)
			}
			return false
		})
		if err != nil {
			t.Fatalf("shape %s never matched SELECT after %d kills: %v", s.name, kills, err)
		}
		// The raw log, read from the start, replays to the same rows.
		got := replayLog(t, srv, s.params, ev.Handle)
		if !rowsEqual(got, want) {
			t.Errorf("shape %s: raw log replay differs from SELECT:\n%s", s.name, describeDiff(got, want))
		}
	}
	if refetches > 0 {
		t.Errorf("client saw %d must-refetch events; crashes must not invalidate shapes", refetches)
	}
}

func projectRows(rows map[string]Row, cols []string) map[string]Row {
	out := map[string]Row{}
	for k, r := range rows {
		p := Row{}
		for _, c := range cols {
			p[c] = r[c]
		}
		out[k] = p
	}
	return out
}

// replayLog reads a shape's whole log over HTTP from offset -1 and applies
// it strictly: an insert of a present key, an update or delete of a missing
// one, a repeated (lsn, op_position) or a non-increasing offset fails.
func replayLog(t *testing.T, srv *server, params map[string]string, handle string) map[string]Row {
	t.Helper()
	rows := map[string]Row{}
	offset := "-1"
	seen := map[string]bool{}
	var lastLSN int64 = -1
	var lastOp float64 = -1
	for {
		q := "offset=" + offset
		for k, v := range params {
			q += "&" + k + "=" + v
		}
		if offset != "-1" {
			q += "&handle=" + handle
		}
		resp, err := http.Get(srv.url("/v1/shape?" + q))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []struct {
			Key      string             `json:"key"`
			Value    map[string]*string `json:"value"`
			OldValue map[string]*string `json:"old_value"`
			Headers  struct {
				Operation string  `json:"operation"`
				Control   string  `json:"control"`
				LSN       string  `json:"lsn"`
				OpPos     float64 `json:"op_position"`
			} `json:"headers"`
		}
		err = json.NewDecoder(resp.Body).Decode(&msgs)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d, %v", q, resp.StatusCode, err)
		}
		if h := resp.Header.Get("electric-handle"); h != handle {
			t.Fatalf("GET %s: handle %s, want %s", q, h, handle)
		}
		for _, m := range msgs {
			if m.Headers.Control != "" {
				continue
			}
			if m.Headers.LSN != "" {
				id := m.Headers.LSN + "/" + fmt.Sprint(m.Headers.OpPos)
				if seen[id] {
					t.Fatalf("change %s appears twice in the log", id)
				}
				seen[id] = true
				lsn, _ := strconv.ParseInt(m.Headers.LSN, 10, 64)
				if lsn < lastLSN || (lsn == lastLSN && m.Headers.OpPos <= lastOp) {
					t.Fatalf("change %s after %d/%v: offsets must increase", id, lastLSN, lastOp)
				}
				lastLSN, lastOp = lsn, m.Headers.OpPos
			}
			_, present := rows[m.Key]
			switch m.Headers.Operation {
			case "insert":
				if present {
					t.Fatalf("insert of %s, already present: a duplicated change", m.Key)
				}
				rows[m.Key] = Row(m.Value)
			case "update":
				if !present {
					t.Fatalf("update of missing %s: a lost change", m.Key)
				}
				for c, v := range m.Value {
					rows[m.Key][c] = v
				}
			case "delete":
				if !present {
					t.Fatalf("delete of missing %s: a lost change", m.Key)
				}
				delete(rows, m.Key)
			}
		}
		next := resp.Header.Get("electric-offset")
		if _, ok := resp.Header["Electric-Up-To-Date"]; ok {
			return rows
		}
		offset = next
	}
}

// TestCrashDuringSnapshot kills the server while a large snapshot is being
// written: after restart no half-made shape remains on disk, and the shape
// is created afresh, whole.
func TestCrashDuringSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE snap (id int PRIMARY KEY, v text);
		INSERT INTO snap SELECT i, repeat('v', 200) FROM generate_series(1, 150000) i;`)
	srv := startServer(t, dbURL)
	go http.Get(srv.url("/v1/shape?table=snap&offset=-1"))
	shapesDir := filepath.Join(srv.storage, "shapes")
	deadline := time.Now().Add(20 * time.Second)
	for {
		entries, _ := os.ReadDir(shapesDir)
		if len(entries) > 0 {
			break // the snapshot is under way
		}
		if time.Now().After(deadline) {
			t.Fatal("snapshot never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	srv.kill()
	entries, _ := os.ReadDir(shapesDir)
	if len(entries) != 1 {
		t.Fatalf("%d shape dirs at the kill, want 1", len(entries))
	}
	if _, err := os.Stat(filepath.Join(shapesDir, entries[0].Name(), "meta.json")); err == nil {
		t.Fatal("the snapshot finished before the kill: the test proves nothing; give it more rows")
	}
	srv.start()
	entries, _ = os.ReadDir(shapesDir)
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(shapesDir, e.Name(), "meta.json")); err != nil {
			t.Errorf("half-made shape %s left on disk after restart", e.Name())
		}
	}
	handle, _ := syncToEnd(t, srv, "snap")
	rows := 0
	for off, end := "-1", false; !end; {
		msgs, next := fetchChanges(t, srv, "snap", handle, off)
		for _, m := range msgs {
			if m.Headers.Operation == "insert" {
				rows++
			}
			end = end || m.Headers.Control == "snapshot-end"
		}
		off = next
	}
	if rows != 150000 {
		t.Errorf("recreated shape has %d rows, want 150000", rows)
	}
}
