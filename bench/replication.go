package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"
)

// The replication benchmarks write a workload's WAL once, with every
// consumer's slot already in place and every consumer stopped, then let
// each consumer drain the same WAL alone: the baseline drain, Galvani with
// one shape, Galvani with many shapes, a second Galvani with one shape, the
// baseline again (symmetric in time, so a drifting load cancels). A consumer's
// figure is the workload's rows divided by the time from its start (for
// Galvani: from the moment it logs "galvani serving", shapes loaded) to the
// workload's last commit being durable in its shape logs (the
// global_last_seen_lsn of /v1/health reaching the commit).

// repTable is the replicated table: six columns, like the initial-sync one.
const repTable = `CREATE TABLE rep (
	id bigint PRIMARY KEY,
	k int NOT NULL,
	name text NOT NULL,
	email text NOT NULL,
	score int NOT NULL,
	created timestamptz NOT NULL)`

// repRow is the SELECT list generating row g of rep; k cycles through
// [0, shapes) so each row matches exactly one `k = $1` shape.
func repRow(shapes int) string {
	return fmt.Sprintf(`g, g %% %d, 'name ' || g, 'user' || g || '@example.com', g %% 1000, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'`, shapes)
}

// workload writes WAL and returns the LSN that its last transaction's
// commit is at or after, and how many rows it inserted.
type workload struct {
	name string
	run  func(ctx context.Context, url string) (pglogrepl.LSN, int, error)
}

// oneTxn inserts rows rows [first, first+rows) in one transaction.
func oneTxn(table, rowSQL string, first, rows int) workload {
	return workload{
		name: groupThousands(int64(rows)) + " inserts in 1 txn",
		run: func(ctx context.Context, url string) (pglogrepl.LSN, int, error) {
			conn, err := Connect(ctx, url)
			if err != nil {
				return 0, 0, err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			tx, err := conn.Begin(ctx)
			if err != nil {
				return 0, 0, err
			}
			defer tx.Rollback(context.WithoutCancel(ctx))
			if _, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s SELECT %s FROM generate_series(%d, %d) g`, table, rowSQL, first, first+rows-1)); err != nil {
				return 0, 0, err
			}
			lsn, err := insertLSN(ctx, tx.QueryRow)
			if err != nil {
				return 0, 0, err
			}
			return lsn, rows, tx.Commit(ctx)
		},
	}
}

// manyTxns inserts rows rows, each in its own transaction (a DO block
// committing after every row, so no client round trip per row), then one
// marker row in a last transaction whose commit LSN bounds them all.
func manyTxns(table, rowSQL string, first, rows int) workload {
	return workload{
		name: groupThousands(int64(rows)) + " single-row txns",
		run: func(ctx context.Context, url string) (pglogrepl.LSN, int, error) {
			conn, err := Connect(ctx, url)
			if err != nil {
				return 0, 0, err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			do := fmt.Sprintf(`DO $$ BEGIN FOR g IN %d..%d LOOP INSERT INTO %s SELECT %s; COMMIT; END LOOP; END $$`, first, first+rows-2, table, rowSQL)
			if _, err := conn.PgConn().Exec(ctx, do).ReadAll(); err != nil {
				return 0, 0, err
			}
			tx, err := conn.Begin(ctx)
			if err != nil {
				return 0, 0, err
			}
			defer tx.Rollback(context.WithoutCancel(ctx))
			if _, err := tx.Exec(ctx, fmt.Sprintf(`INSERT INTO %s SELECT %s FROM generate_series(%d, %d) g`, table, rowSQL, first+rows-1, first+rows-1)); err != nil {
				return 0, 0, err
			}
			lsn, err := insertLSN(ctx, tx.QueryRow)
			if err != nil {
				return 0, 0, err
			}
			return lsn, rows, tx.Commit(ctx)
		},
	}
}

type rowScanner interface{ Scan(...any) error }

// insertLSN reads the current WAL insert position from inside the
// transaction: its commit record will be written after it.
func insertLSN[R rowScanner](ctx context.Context, query func(context.Context, string, ...any) R) (pglogrepl.LSN, error) {
	var s string
	if err := query(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&s); err != nil {
		return 0, err
	}
	return pglogrepl.ParseLSN(s)
}

// catchUp is one Galvani consumer run.
type catchUp struct {
	Rows         int
	Elapsed      time.Duration
	FirstByte    time.Duration // when the first WAL data arrived (±100 ms)
	Routed       float64       // galvani_changes_routed_total at the end
	ServerCPU    float64       // CPU seconds of the server process
	WALSenderCPU float64
	RSS          int64
}

func (c catchUp) rate() float64 { return float64(c.Rows) / c.Elapsed.Seconds() }

// streamRate is the rate once data flows: rows over the time after the
// first byte.
func (c catchUp) streamRate() float64 { return float64(c.Rows) / (c.Elapsed - c.FirstByte).Seconds() }

// measureCatchUp starts srv (stopped, its slot holding the workload's WAL)
// and waits until its shapes are durable up to the commit at until.
// onServing, when set, runs once the server serves (to start a profiler).
func measureCatchUp(ctx context.Context, srv *Server, until pglogrepl.LSN, rows int, onServing func(pid int) func()) (catchUp, error) {
	if err := srv.Start(ctx); err != nil {
		return catchUp{}, err
	}
	defer srv.Stop()
	stopHook := func() {}
	if onServing != nil {
		stopHook = onServing(srv.PID())
	}
	c := newHTTPClient(1)
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Minute)
	// The first byte of WAL data is noted from the metrics, polled every
	// 100 ms: before it, Postgres is still decoding (a large transaction
	// is sent only once its commit is decoded).
	var firstByte time.Duration
	nextMetrics := time.Now()
	for {
		if firstByte == 0 && time.Now().After(nextMetrics) {
			if v, err := srv.Metric(ctx, "galvani_replication_received_bytes_total"); err == nil && v > 0 {
				firstByte = time.Since(srv.Serving)
			}
			nextMetrics = time.Now().Add(100 * time.Millisecond)
		}
		h, err := srv.Health(ctx, c)
		if err == nil && h.Replication.GlobalLSN != "" {
			if lsn, err := pglogrepl.ParseLSN(h.Replication.GlobalLSN); err == nil && lsn >= until {
				break
			}
		}
		if !srv.Running() {
			stopHook()
			return catchUp{}, fmt.Errorf("galvani %s exited:\n%s", srv.Name, srv.LogTail())
		}
		if time.Now().After(deadline) {
			stopHook()
			return catchUp{}, fmt.Errorf("galvani %s did not catch up within 20 minutes:\n%s", srv.Name, srv.LogTail())
		}
		if err := pause(ctx, 5*time.Millisecond); err != nil {
			stopHook()
			return catchUp{}, err
		}
	}
	res := catchUp{Rows: rows, Elapsed: time.Since(srv.Serving), FirstByte: firstByte}
	stopHook()
	res.WALSenderCPU = procCPU(slotPID(ctx, srv.DBURL, srv.Slot()))
	res.ServerCPU = srv.CPUSeconds()
	res.RSS, _ = srv.RSS()
	res.Routed, _ = srv.Metric(ctx, "galvani_changes_routed_total")
	if err := advanceRestartLSN(ctx, srv, until); err != nil {
		return res, err
	}
	return res, nil
}

// tickTable is added to each measured server's publication without a
// shape: a transaction on it moves the server's acknowledged position.
const tickTable = `CREATE TABLE tick (id bigserial PRIMARY KEY)`

// advanceRestartLSN moves the restart_lsn of srv's slot past until, so
// that its next start does not decode the workload just measured again
// (Postgres decodes from restart_lsn, which only moves when a
// running-transactions record, written by CHECKPOINT, is followed by an
// acknowledgement). Without this, a server measured on a second workload
// would first re-read the first one, which a fresh baseline slot does not.
func advanceRestartLSN(ctx context.Context, srv *Server, until pglogrepl.LSN) error {
	conn, err := Connect(ctx, srv.DBURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := conn.Exec(ctx, `CHECKPOINT`); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `INSERT INTO tick DEFAULT VALUES`); err != nil {
			return err
		}
		for range 20 {
			var restart string
			if err := conn.QueryRow(ctx, `SELECT coalesce(restart_lsn::text, '0/0') FROM pg_replication_slots WHERE slot_name = $1`, srv.Slot()).Scan(&restart); err != nil {
				return err
			}
			if lsn, err := pglogrepl.ParseLSN(restart); err == nil && lsn >= until {
				return nil
			}
			if err := pause(ctx, 50*time.Millisecond); err != nil {
				return err
			}
		}
	}
	srv.env.Logf("  warning: slot %s restart_lsn did not pass %s", srv.Slot(), until)
	return nil
}

// addTick puts the tick table into srv's publication (created by srv with
// its first shape).
func addTick(ctx context.Context, srv *Server) error {
	return Exec(ctx, srv.DBURL, "ALTER PUBLICATION electric_publication_"+srv.StreamID+" ADD TABLE tick")
}

// prepareServer starts a server, creates its shapes, and stops it.
func prepareServer(ctx context.Context, e *Env, srv *Server, queries []ShapeQuery) error {
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.WaitActive(ctx); err != nil {
		return err
	}
	if _, err := createShapes(ctx, e, srv, queries, 16, time.Time{}); err != nil {
		return err
	}
	if err := srv.Stop(); err != nil {
		return err
	}
	return addTick(ctx, srv)
}

// runReplication measures WAL → durable shape log throughput for two
// workloads: 1M inserts in one transaction and 200k single-row
// transactions (at scale 1).
func runReplication(ctx context.Context, e *Env, r *Report) error {
	const db = "replication"
	url, err := e.CreateDB(ctx, db)
	if err != nil {
		return err
	}
	defer e.DropDB(ctx, db)
	many := e.Scaled(10_000, 10)
	if err := Exec(ctx, url, repTable+`; `+tickTable+`; CREATE PUBLICATION bench_drain FOR TABLE rep`); err != nil {
		return err
	}

	// Two one-shape servers and the many-shape one run in the order
	// drain, one A, many, one B, drain: every comparison is symmetric in
	// time, so a load that drifts during the run cancels out.
	oneA, err := e.NewServer("rep-1a", url, "rep1a")
	if err != nil {
		return err
	}
	oneB, err := e.NewServer("rep-1b", url, "rep1b")
	if err != nil {
		return err
	}
	tenk, err := e.NewServer("rep-many", url, "repmany")
	if err != nil {
		return err
	}
	e.Logf("creating 1 whole-table shape (twice) and %d `k = $1` shapes", many)
	for _, one := range []*Server{oneA, oneB} {
		if err := prepareServer(ctx, e, one, []ShapeQuery{{Table: "rep"}}); err != nil {
			return err
		}
	}
	queries := make([]ShapeQuery, many)
	for i := range queries {
		queries[i] = ShapeQuery{Table: "rep", Where: "k = $1", Params: []string{strconv.Itoa(i)}}
	}
	t := time.Now()
	if err := prepareServer(ctx, e, tenk, queries); err != nil {
		return err
	}
	e.Logf("created %d shapes in %.0fs", many, time.Since(t).Seconds())

	big := e.Scaled(1_000_000, 1000)
	small := e.Scaled(200_000, 200)
	row := repRow(many)
	for _, w := range []workload{oneTxn("rep", row, 1, big), manyTxns("rep", row, big+1, small)} {
		if err := waitSlotInactive(ctx, url, "bench_drain"); err != nil {
			return err
		}
		if err := Exec(ctx, url, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'bench_drain';
			SELECT pg_create_logical_replication_slot('bench_drain', 'pgoutput')`); err != nil {
			return err
		}
		e.Logf("workload: %s", w.name)
		t := time.Now()
		until, rows, err := w.run(ctx, url)
		if err != nil {
			return err
		}
		e.Logf("  written in %.1fs", time.Since(t).Seconds())
		if err := replicationRound(ctx, e, r, url, w.name, until, rows, oneA, oneB, tenk, many); err != nil {
			return err
		}
	}
	return nil
}

// replicationRound drains one workload's WAL with every consumer and
// records the results.
func replicationRound(ctx context.Context, e *Env, r *Report, url, name string, until pglogrepl.LSN, rows int, oneA, oneB, tenk *Server, many int) error {
	drain := func(label string) (drainStats, error) {
		d, err := drainSlot(ctx, url, "bench_drain", "bench_drain", until)
		if err != nil {
			return d, err
		}
		if d.Rows != rows {
			return d, fmt.Errorf("drain counted %d rows, want %d", d.Rows, rows)
		}
		e.Logf("  %s: %d rows in %.2fs (first row after %.1fs)", label, d.Rows, d.Elapsed.Seconds(), d.FirstByte.Seconds())
		return d, nil
	}
	run := func(srv *Server, label string) (catchUp, error) {
		g, err := measureCatchUp(ctx, srv, until, rows, nil)
		if err != nil {
			return g, err
		}
		e.Logf("  galvani, %s: %.2fs (first byte after %.1fs; server %.1f CPU-s, walsender %.1f CPU-s)", label, g.Elapsed.Seconds(), g.FirstByte.Seconds(), g.ServerCPU, g.WALSenderCPU)
		return g, nil
	}
	d1, err := drain("drain")
	if err != nil {
		return err
	}
	ga, err := run(oneA, "1 shape")
	if err != nil {
		return err
	}
	gm, err := run(tenk, groupThousands(int64(many))+" shapes")
	if err != nil {
		return err
	}
	gb, err := run(oneB, "1 shape again")
	if err != nil {
		return err
	}
	d2, err := drain("drain again")
	if err != nil {
		return err
	}

	base := float64(2*rows) / (d1.Elapsed + d2.Elapsed).Seconds()
	one := float64(2*rows) / (ga.Elapsed + gb.Elapsed).Seconds()
	// Once rows flow: the time after the first one arrived, when Postgres
	// has decoded (for one big transaction, all of it).
	baseStream := float64(2*rows) / (d1.Elapsed - d1.FirstByte + d2.Elapsed - d2.FirstByte).Seconds()
	oneStream := float64(2*rows) / (ga.Elapsed - ga.FirstByte + gb.Elapsed - gb.FirstByte).Seconds()
	note1 := fmt.Sprintf("drains %.2fs and %.2fs, Galvani %.2fs and %.2fs (run before and after the many-shape server); Galvani %.1f server CPU-s, its walsender %.1f CPU-s (the drain's %.1f). First row after %.1fs (drain) and %.1fs (Galvani): Postgres decoding; once rows flowed, drain %s rows/s, Galvani %s rows/s (%.2f×)",
		d1.Elapsed.Seconds(), d2.Elapsed.Seconds(), ga.Elapsed.Seconds(), gb.Elapsed.Seconds(), (ga.ServerCPU+gb.ServerCPU)/2, (ga.WALSenderCPU+gb.WALSenderCPU)/2, (d1.WALSenderCPU+d2.WALSenderCPU)/2,
		(d1.FirstByte+d2.FirstByte).Seconds()/2, (ga.FirstByte+gb.FirstByte).Seconds()/2, groupThousands(int64(baseStream)), groupThousands(int64(oneStream)), ratio(oneStream, baseStream))
	for _, g := range []catchUp{ga, gb} {
		if g.Routed != float64(rows) {
			note1 += fmt.Sprintf("; WARNING: %0.f changes routed, want %d", g.Routed, rows)
		}
	}
	r.Results = append(r.Results, Result{
		Benchmark: "Replication → durable log, 1 shape, " + name,
		Baseline:  "pgoutput drain (pglogrepl), same WAL",
		Unit:      "rows/s", BaselineValue: base, Value: one,
		Ratio: ratio(one, base), Target: "≥ 0.5× baseline", Met: met(one >= 0.5*base),
		Note: note1,
		Extra: map[string]float64{"rows": float64(rows),
			"drain1_s": d1.Elapsed.Seconds(), "drain2_s": d2.Elapsed.Seconds(), "galvani_a_s": ga.Elapsed.Seconds(), "galvani_b_s": gb.Elapsed.Seconds(),
			"drain_first_row_s": (d1.FirstByte + d2.FirstByte).Seconds() / 2, "galvani_first_byte_s": (ga.FirstByte + gb.FirstByte).Seconds() / 2,
			"drain_stream_rows_per_s": baseStream, "galvani_stream_rows_per_s": oneStream,
			"server_cpu_s": (ga.ServerCPU + gb.ServerCPU) / 2, "walsender_cpu_s": (ga.WALSenderCPU + gb.WALSenderCPU) / 2, "drain_walsender_cpu_s": (d1.WALSenderCPU + d2.WALSenderCPU) / 2},
	})
	noteM := fmt.Sprintf("%s shapes `k = $1`, each change matching one; %.2fs (first byte after %.1fs), %.1f server CPU-s, RSS %.0f MiB after; %.2f× the drain",
		groupThousands(int64(many)), gm.Elapsed.Seconds(), gm.FirstByte.Seconds(), gm.ServerCPU, mib(gm.RSS), ratio(gm.rate(), base))
	if gm.Routed != float64(rows) {
		noteM += fmt.Sprintf("; WARNING: %0.f changes routed, want %d", gm.Routed, rows)
	}
	r.Results = append(r.Results, Result{
		Benchmark: "Replication → durable log, " + groupThousands(int64(many)) + " shapes, " + name,
		Baseline:  "the 1-shape runs, same WAL",
		Unit:      "rows/s", BaselineValue: one, Value: gm.rate(),
		Ratio: ratio(gm.rate(), one), Target: "≥ 0.8× the 1-shape run", Met: met(gm.rate() >= 0.8*one),
		Note: noteM,
		Extra: map[string]float64{"galvani_s": gm.Elapsed.Seconds(), "first_byte_s": gm.FirstByte.Seconds(), "server_cpu_s": gm.ServerCPU, "walsender_cpu_s": gm.WALSenderCPU,
			"shapes": float64(many), "rss_mib": mib(gm.RSS), "ratio_to_drain": ratio(gm.rate(), base), "stream_rows_per_s": gm.streamRate()},
	})
	return nil
}
