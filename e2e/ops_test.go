package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// TestPrometheusMetrics: with ELECTRIC_PROMETHEUS_PORT set, /metrics on that
// port reports shapes, requests by status, replication and storage.
func TestPrometheusMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE m (id int PRIMARY KEY); INSERT INTO m SELECT generate_series(1, 10);`)
	port := freePort(t)
	srv := startServer(t, dbURL, "ELECTRIC_PROMETHEUS_PORT="+strconv.Itoa(port), "GALVANI_SCHEMA_CHECK_INTERVAL=200ms")
	handle, offset := syncToEnd(t, srv, "m")
	pgtest.Exec(t, dbURL, `INSERT INTO m VALUES (11)`)
	fetchChanges(t, srv, "m", handle, offset)
	want := []string{
		"galvani_shapes 1",
		`galvani_http_requests_total{code="200"}`,
		"galvani_replication_transactions_total",
		"galvani_changes_routed_total",
		"galvani_snapshot_rows_total 10",
		"galvani_storage_bytes",
		"galvani_replication_slot_retained_wal_bytes",
		"galvani_replication_lag_bytes",
		"galvani_clients_waiting 0",
		"galvani_replication_received_bytes_total",
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var missing []string
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q:\n%s", missing, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(srv.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the API port = %d, want 404", resp.StatusCode)
	}
}

// TestAdmissionControl: over ELECTRIC_MAX_CONCURRENT_REQUESTS a request gets
// 503 at once with retry-after 5-10 and the protocol's body; nothing is
// created.
func TestAdmissionControl(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE ac (id int PRIMARY KEY); CREATE TABLE ac2 (id int PRIMARY KEY);`)
	srv := startServer(t, dbURL, `ELECTRIC_MAX_CONCURRENT_REQUESTS={"initial":5,"existing":1}`)
	handle, offset := syncToEnd(t, srv, "ac")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // holds the one "existing" permit
		defer wg.Done()
		resp, err := http.Get(srv.url("/v1/shape?table=ac&handle=" + handle + "&offset=" + offset + "&live=true"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	resp, err := http.Get(srv.url("/v1/shape?table=ac&handle=" + handle + "&offset=" + offset + "&live=true"))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || body["code"] != "concurrent_request_limit_exceeded" ||
		body["message"] != "Concurrent existing request limit exceeded (limit: 1), please retry" {
		t.Errorf("second live request = %d %v, want 503 concurrent_request_limit_exceeded", resp.StatusCode, body)
	}
	if ra, _ := strconv.Atoi(resp.Header.Get("retry-after")); ra < 5 || ra > 10 {
		t.Errorf("retry-after = %q, want 5..10", resp.Header.Get("retry-after"))
	}
	if resp.Header.Get("electric-internal-known-error") != "true" {
		t.Error("no electric-internal-known-error header")
	}
	pgtest.Exec(t, dbURL, `INSERT INTO ac VALUES (1)`) // releases the held request
	wg.Wait()
}

// TestManualTablePublishing: with ELECTRIC_MANUAL_TABLE_PUBLISHING the
// server alters nothing; a table outside the publication, or without
// REPLICA IDENTITY FULL, gets a 503 saying so; once the operator publishes
// it, the shape works.
func TestManualTablePublishing(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE mp (id int PRIMARY KEY, v text); INSERT INTO mp VALUES (1, 'a');`)
	srv := startServer(t, dbURL, "ELECTRIC_MANUAL_TABLE_PUBLISHING=true")
	get := func() (int, string) {
		resp, err := http.Get(srv.url("/v1/shape?table=mp&offset=-1"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, `is missing from the publication`) {
		t.Errorf("unpublished table = %d %s, want 503 naming the publication", code, body)
	}
	pgtest.Exec(t, dbURL, `ALTER PUBLICATION electric_publication_default ADD TABLE mp`)
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, `replica identity set to FULL`) {
		t.Errorf("table without REPLICA IDENTITY FULL = %d %s, want 503 naming it", code, body)
	}
	var ident string
	conn := connect(t, dbURL)
	conn.QueryRow(t.Context(), `SELECT relreplident::text FROM pg_class WHERE relname = 'mp'`).Scan(&ident)
	if ident != "d" {
		t.Errorf("replica identity changed to %q in manual mode", ident)
	}
	pgtest.Exec(t, dbURL, `ALTER TABLE mp REPLICA IDENTITY FULL`)
	if code, body := get(); code != http.StatusOK {
		t.Errorf("published table = %d %s, want 200", code, body)
	}
}
