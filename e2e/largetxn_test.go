package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// largeTxnRows is the size of TestLargeTransaction's transaction;
// GALVANI_LARGE_TXN_ROWS changes it (make soak-large runs 1,000,000).
func largeTxnRows() int {
	if n, err := strconv.Atoi(os.Getenv("GALVANI_LARGE_TXN_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// peakRSS returns the process's peak resident set size in KiB (VmHWM).
func peakRSS(t testing.TB, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestLargeTransaction streams one transaction of many rows (inserts, then
// updates of all of them) through a shape; its changes go to the log as
// they arrive, so memory stays bounded by constants, not by the
// transaction. It checks every row arrived and reports the peak RSS; the
// bound is asserted by make soak-large on a build without the race
// detector (GALVANI_MAX_RSS_MIB).
func TestLargeTransaction(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	rows := largeTxnRows()
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE big (id int PRIMARY KEY, payload text NOT NULL, n int NOT NULL)`)
	srv := startServer(t, dbURL, "ELECTRIC_LOG_LEVEL=warning")
	handle, offset := syncToEnd(t, srv, "big")
	before := peakRSS(t, srv.cmd.Process.Pid)

	start := time.Now()
	pgtest.Exec(t, dbURL, fmt.Sprintf(`BEGIN;
		INSERT INTO big SELECT i, repeat('x', 100), 0 FROM generate_series(1, %d) i;
		UPDATE big SET n = 1;
		COMMIT;`, rows))
	committed := time.Since(start)

	// Walk the log until every row carries its update.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	got := map[string]bool{}
	updates := 0
	for updates < rows {
		if ctx.Err() != nil {
			t.Fatalf("only %d of %d updates arrived", updates, rows)
		}
		msgs, next := fetchChanges(t, srv, "big", handle, offset)
		for _, m := range msgs {
			switch m.Headers.Operation {
			case "insert":
				got[m.Key] = true
			case "update":
				if !got[m.Key] {
					t.Fatalf("update of %s before its insert", m.Key)
				}
				updates++
			}
		}
		offset = next
	}
	if len(got) != rows {
		t.Errorf("%d rows inserted, want %d", len(got), rows)
	}
	peak := peakRSS(t, srv.cmd.Process.Pid)
	t.Logf("%d-row transaction (%d changes): committed in %v, in the shape after %v; peak RSS %d MiB (before: %d MiB)",
		rows, 2*rows, committed, time.Since(start), peak/1024, before/1024)
	if limit, err := strconv.Atoi(os.Getenv("GALVANI_MAX_RSS_MIB")); err == nil && peak/1024 > limit {
		t.Errorf("peak RSS %d MiB exceeds GALVANI_MAX_RSS_MIB=%d", peak/1024, limit)
	}
}

// change is a data or control message as the tests read it.
type change struct {
	Key     string             `json:"key"`
	Value   map[string]*string `json:"value"`
	Headers struct {
		Operation string `json:"operation"`
		Control   string `json:"control"`
	} `json:"headers"`
}

// fetchChanges makes one catch-up request and returns its messages and the
// next offset.
func fetchChanges(t testing.TB, srv *server, table, handle, offset string) ([]change, string) {
	t.Helper()
	resp, err := http.Get(srv.url("/v1/shape?table=" + table + "&handle=" + handle + "&offset=" + offset))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET offset %s: %d", offset, resp.StatusCode)
	}
	var msgs []change
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil {
		t.Fatal(err)
	}
	return msgs, resp.Header.Get("electric-offset")
}
