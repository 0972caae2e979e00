package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Benchmark is one entry of the suite. Run appends its results to the
// report; an error is recorded and the suite goes on.
type Benchmark struct {
	Name string
	Run  func(ctx context.Context, e *Env, r *Report) error
}

// All returns the suite in the order it runs: cheap and CPU-bound first,
// the memory-hungry ones (many clients, many shapes) last, profiles at the
// end so they never disturb a measurement.
func All() []Benchmark {
	return []Benchmark{
		{"replication", runReplication},
		{"curve", runMatchingCurve},
		{"initialsync", runInitialSync},
		{"fanout", runFanout},
		{"idleclients", runIdleClients},
		{"shapes", runShapes},
		{"profile", runProfiles},
	}
}

// Run runs the benchmarks named in only (all when empty) and returns the
// report.
func Run(ctx context.Context, e *Env, only []string) *Report {
	r := &Report{Facts: e.Facts, Profiles: map[string]Profile{}}
	start := time.Now()
	for _, b := range All() {
		if len(only) > 0 && !slices.Contains(only, b.Name) {
			continue
		}
		if ctx.Err() != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: not run: %v", b.Name, ctx.Err()))
			continue
		}
		e.Logf("== %s", b.Name)
		t := time.Now()
		if err := runOne(ctx, e, r, b); err != nil {
			e.Logf("%s failed: %v", b.Name, err)
			r.Errors = append(r.Errors, b.Name+": "+firstLines(err.Error(), 12))
		}
		e.Logf("== %s done in %.0fs", b.Name, time.Since(t).Seconds())
	}
	r.Seconds = time.Since(start).Seconds()
	return r
}

func runOne(ctx context.Context, e *Env, r *Report, b Benchmark) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return b.Run(ctx, e, r)
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, "\n")
}
