package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

// syncTable is the initial-sync table: six columns.
const syncTable = `CREATE TABLE items (
	id bigint PRIMARY KEY,
	name text NOT NULL,
	email text NOT NULL,
	score int NOT NULL,
	created timestamptz NOT NULL,
	active bool NOT NULL)`

const syncRow = `g, 'name ' || g, 'user' || g || '@example.com', g % 1000, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g % 2 = 0`

// runInitialSync measures a new client's initial sync of a whole table:
// Galvani creates the shape (snapshot into the shape log) and serves it in
// chunks, the Go client reads and decodes every message, row values
// included, until up-to-date, prefetching the next chunk as it goes. The baseline is psql printing every row as JSON with COPY.
// Rounds alternate baseline and Galvani; the shape is deleted between
// Galvani rounds so each round takes a fresh snapshot.
func runInitialSync(ctx context.Context, e *Env, r *Report) error {
	const db = "initial_sync"
	url, err := e.CreateDB(ctx, db)
	if err != nil {
		return err
	}
	defer e.DropDB(ctx, db)
	rows := e.Scaled(1_000_000, 1000)
	e.Logf("loading %d rows", rows)
	if err := Exec(ctx, url, fmt.Sprintf(`%s; INSERT INTO items SELECT %s FROM generate_series(1, %d) g`, syncTable, syncRow, rows)); err != nil {
		return err
	}
	if err := Exec(ctx, url, `VACUUM ANALYZE items`); err != nil {
		return err
	}
	srv, err := e.NewServer("initialsync", url, "initialsync")
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.WaitActive(ctx); err != nil {
		return err
	}
	psql := psqlPath()
	c := newHTTPClient(2)
	defer c.CloseIdleConnections()

	const rounds = 3
	var base, gal, clientCPU []time.Duration
	var baseBytes int64
	var last SyncResult
	cpu0 := srv.CPUSeconds()
	for i := range rounds {
		t := time.Now()
		n, err := copyJSON(ctx, psql, url)
		if err != nil {
			return err
		}
		base = append(base, time.Since(t))
		baseBytes = n

		t = time.Now()
		res, err := syncShape(ctx, c, srv, ShapeQuery{Table: "items"}, true)
		if err != nil {
			return err
		}
		gal = append(gal, time.Since(t))
		clientCPU = append(clientCPU, res.ClientCPU)
		if res.Rows != rows {
			return fmt.Errorf("initial sync read %d rows, want %d", res.Rows, rows)
		}
		last = res
		e.Logf("  round %d: psql COPY %.2fs, galvani %.2fs (%d requests, %.0f MiB, client CPU %.2fs)", i+1, base[i].Seconds(), gal[i].Seconds(), res.Requests, mib(res.Bytes), res.ClientCPU.Seconds())
		if err := deleteShape(ctx, c, srv, "items", res.Handle); err != nil {
			return err
		}
	}
	cpu := (srv.CPUSeconds() - cpu0) / rounds
	b, g := median(base), median(gal)
	r.Results = append(r.Results, Result{
		Benchmark: fmt.Sprintf("Initial sync, %s rows × 6 columns, 1 client parsing all", groupThousands(int64(rows))),
		Baseline:  "psql COPY (SELECT row_to_json(t) FROM t) TO STDOUT",
		Unit:      "s", BaselineValue: b.Seconds(), Value: g.Seconds(),
		Ratio: ratio(g.Seconds(), b.Seconds()), Target: "≤ 2× baseline time", Met: met(g <= 2*b),
		Note: fmt.Sprintf("median of %d alternating rounds (psql %s; Galvani %s, the Go client using %s CPU-s to fetch and decode); Galvani served %.0f MiB in %d requests vs psql's %.0f MiB, %.1f server CPU-s per sync; ratio = Galvani time / psql time",
			rounds, durs(base), durs(gal), durs(clientCPU), mib(last.Bytes), last.Requests, mib(baseBytes), cpu),
		Extra: map[string]float64{"rows": float64(rows), "galvani_bytes": float64(last.Bytes), "psql_bytes": float64(baseBytes),
			"requests": float64(last.Requests), "server_cpu_s": cpu, "client_cpu_s": median(clientCPU).Seconds()},
	})
	return nil
}

// copyJSON runs the baseline and returns how many bytes psql printed.
func copyJSON(ctx context.Context, psql, url string) (int64, error) {
	cmd := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", `COPY (SELECT row_to_json(t) FROM items t) TO STDOUT`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	n, cerr := io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return n, fmt.Errorf("psql: %w", err)
	}
	return n, cerr
}

// psqlPath prefers the versioned binary: Debian's /usr/bin/psql is a Perl
// wrapper whose start-up would be counted in the baseline.
func psqlPath() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(dirs) > 0 {
		slices.Sort(dirs)
		return dirs[len(dirs)-1]
	}
	return "psql"
}

// deleteShape removes a shape (ELECTRIC_ENABLE_INTEGRATION_TESTING).
func deleteShape(ctx context.Context, c *http.Client, s *Server, table, handle string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, s.URL("/v1/shape?table="+table+"&handle="+handle), nil)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("DELETE shape: %s", resp.Status)
	}
	return nil
}

func median(d []time.Duration) time.Duration { return percentile(d, 0.5) }

func durs(d []time.Duration) string {
	s := ""
	for i, x := range d {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.2fs", x.Seconds())
	}
	return s
}
