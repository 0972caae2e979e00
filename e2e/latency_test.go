package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// BenchmarkCommitToClient measures write-to-client latency: a client holds
// a live long-poll on a one-table shape; a single-row insert commits; the
// time from the commit's return to the client having the response is
// recorded. The baseline is the commit itself (round trip to Postgres,
// measured in the same loop), so the figures compare on a noisy machine.
//
//	go test -run '^$' -bench CommitToClient -benchtime 300x ./e2e/
func BenchmarkCommitToClient(b *testing.B) {
	_, dbURL := pgtest.NewDatabase(b)
	pgtest.Exec(b, dbURL, `CREATE TABLE lat (id bigserial PRIMARY KEY, v text)`)
	srv := startServer(b, dbURL, "ELECTRIC_LOG_LEVEL=warning")
	conn := connect(b, dbURL)
	ctx := context.Background()

	handle, offset := syncToEnd(b, srv, "lat")
	var commit, deliver []time.Duration
	for b.Loop() {
		type result struct {
			offset string
			at     time.Time
			err    error
		}
		done := make(chan result, 1)
		go func(off string) {
			resp, err := http.Get(srv.url(fmt.Sprintf("/v1/shape?table=lat&handle=%s&offset=%s&live=true", handle, off)))
			if err != nil {
				done <- result{err: err}
				return
			}
			io.ReadAll(resp.Body)
			resp.Body.Close()
			done <- result{offset: resp.Header.Get("electric-offset"), at: time.Now()}
		}(offset)
		time.Sleep(2 * time.Millisecond) // let the long-poll reach the server
		start := time.Now()
		if _, err := conn.Exec(ctx, `INSERT INTO lat (v) VALUES ('x')`); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		r := <-done
		if r.err != nil {
			b.Fatal(r.err)
		}
		if r.offset == offset {
			b.Fatalf("live request timed out without the change")
		}
		offset = r.offset
		commit = append(commit, committed.Sub(start))
		deliver = append(deliver, r.at.Sub(committed))
	}
	pct := func(d []time.Duration, p float64) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[int(float64(len(s)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(commit, 0.5), "commit-p50-ms")
	b.ReportMetric(pct(deliver, 0.5), "deliver-p50-ms")
	b.ReportMetric(pct(deliver, 0.9), "deliver-p90-ms")
	b.ReportMetric(pct(deliver, 0.99), "deliver-p99-ms")
}

// syncToEnd walks a shape from -1 to up-to-date and returns its handle and
// offset.
func syncToEnd(tb testing.TB, srv *server, table string) (string, string) {
	tb.Helper()
	handle, offset := "", "-1"
	for {
		url := fmt.Sprintf("/v1/shape?table=%s&offset=%s", table, offset)
		if handle != "" {
			url += "&handle=" + handle
		}
		resp, err := http.Get(srv.url(url))
		if err != nil {
			tb.Fatal(err)
		}
		var msgs []map[string]any
		err = json.NewDecoder(resp.Body).Decode(&msgs)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			tb.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
		}
		handle, offset = resp.Header.Get("electric-handle"), resp.Header.Get("electric-offset")
		if _, ok := resp.Header["Electric-Up-To-Date"]; ok {
			return handle, offset
		}
	}
}
