// Command galvani-bench runs Galvani's benchmark suite (package bench): each
// benchmark next to a baseline measured in the same run, printed as a
// Markdown table of ratios and written to bench/results/<timestamp>.json.
//
//	go run ./bench/cmd/galvani-bench [-only replication,shapes] [-micro]
//
// BENCH_SCALE (default 1) scales row counts, clients and shapes. The exit
// status is 1 only when a benchmark failed with an error; a missed target
// is a result, not a failure.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/galvani-sync/galvani/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "galvani-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	only := flag.String("only", "", "comma-separated benchmarks to run (default all): "+names())
	micro := flag.Bool("micro", false, "also run the micro-benchmarks (go test -bench ./bench/) and include them in the results")
	results := flag.String("results", "", "directory for the JSON results (default bench/results in the module)")
	flag.Parse()

	scale, err := bench.ParseScale(os.Getenv(bench.ScaleEnv))
	if err != nil {
		return err
	}
	env, err := bench.Setup(ctx, bench.Config{Scale: scale, Log: os.Stderr})
	if err != nil {
		return err
	}
	defer env.Close(ctx)

	var sel []string
	if *only != "" {
		sel = strings.Split(*only, ",")
	}
	var microResults []bench.Micro
	var microErr error
	if *micro {
		microResults, microErr = bench.RunMicro(ctx, env, os.Stderr)
	}
	report := bench.Run(ctx, env, sel)
	report.Micro = microResults
	if microErr != nil {
		report.Errors = append(report.Errors, "micro-benchmarks: "+microErr.Error())
	}
	fmt.Println()
	report.PrintTable(os.Stdout)
	report.PrintProfiles(os.Stdout)
	dir := *results
	if dir == "" {
		dir = filepath.Join(env.Root, "bench", "results")
	}
	path, err := report.Write(dir)
	if err != nil {
		return err
	}
	fmt.Println("\nresults:", path)
	if len(report.Errors) > 0 {
		return fmt.Errorf("%d benchmark(s) failed", len(report.Errors))
	}
	return nil
}

func names() string {
	var n []string
	for _, b := range bench.All() {
		n = append(n, b.Name)
	}
	return strings.Join(n, ",")
}
