package bench

import (
	"context"
	"fmt"
	"strconv"
)

// runMatchingCurve measures what non-indexable shapes cost per change: the
// same one-transaction workload drained by Galvani with one whole-table
// shape (the baseline, run first and last) and with 10, 100 and 1,000
// `nS ILIKE $1` shapes, which the router cannot index, so every change is
// evaluated against every shape; each change matches exactly one of them.
func runMatchingCurve(ctx context.Context, e *Env, r *Report) error {
	const db = "curve"
	url, err := e.CreateDB(ctx, db)
	if err != nil {
		return err
	}
	defer e.DropDB(ctx, db)
	if err := Exec(ctx, url, `CREATE TABLE curve (
		id bigint PRIMARY KEY, n10 text NOT NULL, n100 text NOT NULL, n1000 text NOT NULL,
		email text NOT NULL, score int NOT NULL);`+tickTable); err != nil {
		return err
	}
	counts := []int{10, 100, 1000}
	refA, err := e.NewServer("curve-ref-a", url, "curverefa")
	if err != nil {
		return err
	}
	refB, err := e.NewServer("curve-ref-b", url, "curverefb")
	if err != nil {
		return err
	}
	for _, ref := range []*Server{refA, refB} {
		if err := prepareServer(ctx, e, ref, []ShapeQuery{{Table: "curve"}}); err != nil {
			return err
		}
	}
	servers := make([]*Server, len(counts))
	for i, n := range counts {
		if servers[i], err = e.NewServer("curve-"+strconv.Itoa(n), url, "curve"+strconv.Itoa(n)); err != nil {
			return err
		}
		col := "n" + strconv.Itoa(n)
		queries := make([]ShapeQuery, n)
		for j := range queries {
			// Upper case pattern, lower case data: a real case-insensitive match.
			queries[j] = ShapeQuery{Table: "curve", Where: col + " ILIKE $1", Params: []string{"N" + strconv.Itoa(j)}}
		}
		if err := prepareServer(ctx, e, servers[i], queries); err != nil {
			return err
		}
	}

	rows := e.Scaled(50_000, 500)
	w := oneTxn("curve", `g, 'n' || g % 10, 'n' || g % 100, 'n' || g % 1000, 'user' || g || '@example.com', g % 1000`, 1, rows)
	e.Logf("workload: %s", w.name)
	until, rows, err := w.run(ctx, url)
	if err != nil {
		return err
	}
	a, err := measureCatchUp(ctx, refA, until, rows, nil)
	if err != nil {
		return err
	}
	e.Logf("  1 shape: %.2fs", a.Elapsed.Seconds())
	runs := make([]catchUp, len(counts))
	for i, srv := range servers {
		if runs[i], err = measureCatchUp(ctx, srv, until, rows, nil); err != nil {
			return err
		}
		e.Logf("  %d ILIKE shapes: %.2fs (server %.1f CPU-s)", counts[i], runs[i].Elapsed.Seconds(), runs[i].ServerCPU)
	}
	b, err := measureCatchUp(ctx, refB, until, rows, nil)
	if err != nil {
		return err
	}
	e.Logf("  1 shape again: %.2fs", b.Elapsed.Seconds())
	base := float64(2*rows) / (a.Elapsed + b.Elapsed).Seconds()
	baseCPU := (a.ServerCPU + b.ServerCPU) / 2
	for i, n := range counts {
		g := runs[i]
		// Extra server CPU per change and per shape evaluated, over the
		// one-shape run.
		perShape := (g.ServerCPU - baseCPU) / float64(rows) / float64(n) * 1e9
		note := fmt.Sprintf("%s shapes `n%d ILIKE $1`; %.2fs vs %.2fs/%.2fs for 1 shape; server CPU %.1f s vs %.1f s → %.0f ns of CPU per change per shape",
			groupThousands(int64(n)), n, g.Elapsed.Seconds(), a.Elapsed.Seconds(), b.Elapsed.Seconds(), g.ServerCPU, baseCPU, perShape)
		if g.Routed != float64(rows) {
			// The counter counts (change, candidate shape) pairs, not
			// the changes the clause admitted.
			note += fmt.Sprintf("; galvani_changes_routed_total = %s (%d changes × candidate shapes)", groupThousands(int64(g.Routed)), rows)
		}
		r.Results = append(r.Results, Result{
			Benchmark: fmt.Sprintf("Matching cost, %s non-indexable shapes, %s", groupThousands(int64(n)), w.name),
			Baseline:  "the 1-shape run, same WAL",
			Unit:      "rows/s", BaselineValue: base, Value: g.rate(), Ratio: ratio(g.rate(), base),
			Target: "report the curve",
			Note:   note,
			Extra: map[string]float64{"shapes": float64(n), "galvani_s": g.Elapsed.Seconds(), "server_cpu_s": g.ServerCPU,
				"baseline_cpu_s": baseCPU, "cpu_ns_per_change_per_shape": perShape, "ref_a_s": a.Elapsed.Seconds(), "ref_b_s": b.Elapsed.Seconds()},
		})
	}
	return nil
}
