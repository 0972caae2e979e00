// Package bench is Galvani's benchmark suite. Every figure it prints sits
// next to a baseline measured in the same run on the same machine, and the
// ratio between them is the result: the machines it runs on are shared and
// noisy, so an absolute number alone says little.
//
// Run it with
//
//	make bench                  # BENCH_SCALE=1: 8 minutes on a quiet 2-core machine, 16 on a busy one
//	BENCH_SCALE=0.1 make bench  # a quick pass, a few minutes
//	go run ./bench/cmd/galvani-bench -only replication,curve
//
// # Layout
//
// The suite is a program, bench/cmd/galvani-bench, driving the functions of
// this package; it is not a `go test` benchmark because each entry needs a
// cluster, several server processes and a baseline of its own, and prints
// a table rather than ns/op. The micro-benchmarks of the pure packages are
// ordinary `go test -bench` functions in micro_test.go (where evaluation,
// routing, shape-log records, append and read, message JSON), run by the
// program with -micro (as `make bench` does) and folded into its results.
//
// Setup builds ./cmd/galvani without the race detector, starts one private
// Postgres cluster (internal/embeddedpg: fsync off, synchronous_commit on,
// as the tests run it) and raises RLIMIT_NOFILE as far as allowed. Each
// benchmark creates its own database and runs `galvani serve` as a child
// process with its own storage directory and replication stream, exactly
// as deployed; the servers are configured by the ELECTRIC_* variables.
//
// # Benchmarks and their baselines
//
//   - replication: WAL → durable shape log. A workload's WAL is written once
//     (1M single-row inserts in one transaction; 200k single-row
//     transactions) with every consumer's slot in place and every consumer
//     stopped; then each drains the same WAL alone, in an order symmetric in
//     time so that a drifting load cancels out: the baseline, a minimal
//     pgoutput consumer written with pglogrepl (drain.go); Galvani with one
//     whole-table shape; Galvani with 10,000 `k = $1` shapes, each change
//     matching one; a second Galvani with one shape; the baseline again.
//     Galvani's time runs from "galvani serving" (shapes loaded) until
//     /v1/health's global_lsn reaches the workload's last commit, i.e. until
//     every shape log holding it is fsynced and published. The time to the
//     first row is noted too: before it, Postgres is still decoding.
//   - curve: the matching cost of non-indexable shapes: 10, 100 and 1,000
//     `nS ILIKE $1` shapes against the one-shape run on the same WAL.
//   - initialsync: a new shape over a 1M-row, six-column table, read from
//     offset -1 to up-to-date by the Go client (package client), which
//     decodes every message and prefetches the next chunk, against psql
//     printing `COPY (SELECT row_to_json(t) FROM t) TO STDOUT`; rounds
//     alternate and the shape is deleted between rounds.
//   - fanout: nginx proxy_cache in front of Galvani (cache warm) serving a
//     shape URL to 64 keep-alive connections, against the same nginx
//     serving the same body as a static file; rounds alternate.
//   - idleclients: RSS of a server holding N idle live long-polls (100,000
//     at scale 1) against its RSS with none. Client sockets are bound to
//     127.0.0.2, 127.0.0.3, … so ephemeral ports suffice, and are raw
//     connections, so the load generator holds no goroutine per client.
//   - shapes: one server grows its `k = $1` shapes to 1, 1,000 and 10,000,
//     measuring write → client latency at each (a live long-poll on one
//     shape, a single-row insert, 100 background inserts per second),
//     against the commit time of the same inserts; then to 100,000 idle
//     shapes for their RSS against the server with none, and restarts,
//     timing exec → health active against the first start with no shapes.
//   - profile: CPU profiles of the server (Linux perf, sampling the real
//     binary: Go binaries keep frame pointers and symbols) on the
//     replication path (one shape; 2,000 shapes each touched by its own
//     transaction) and the initial-sync path, run last so the profiler never
//     disturbs a figure; the hottest functions go into the results. Without
//     perf the profiles are skipped with a note.
//
// Each idle client and each shape holds an open file in the server, so
// RLIMIT_NOFILE caps both; when the limit cannot be raised (no
// CAP_SYS_RESOURCE) the largest count that fits is measured, and the
// per-client or per-shape figure is judged against the target.
//
// CPU seconds in the notes come from /proc/<pid>/stat. On some virtual
// machines they include time the hypervisor took (one run here showed more
// CPU seconds than wall time × cores), so compare them only within a run.
//
// # Output
//
// A Markdown table (benchmark, baseline, baseline figure, Galvani figure,
// ratio, target, met) and the profiles go to stdout, progress to stderr, and
// bench/results/<timestamp>.json keeps the table, the micro-benchmarks, the
// profiles and the machine's facts (cores, memory, Postgres and Go
// versions, git commit) for comparison across runs. No figure fails the
// run: the exit status is non-zero only when a benchmark could not run.
// Every loop is bounded and every process the suite starts is stopped.
package bench
