package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Profile is a CPU profile of the server during one benchmark phase,
// summarised as its hottest functions.
type Profile struct {
	Tool    string  `json:"tool"`
	Seconds float64 `json:"seconds"`
	Samples int     `json:"samples,omitempty"`
	// Self: functions (kernel ones marked) by the samples in them;
	// Cumulative: by the samples in them and their callees, the kernel's
	// and the Go runtime's own functions left out.
	Self       []ProfileLine `json:"self"`
	Cumulative []ProfileLine `json:"cumulative"`
	Note       string        `json:"note,omitempty"`
}

// ProfileLine is one function's share of the samples.
type ProfileLine struct {
	Percent float64 `json:"percent"`
	Symbol  string  `json:"symbol"`
}

// profileSelf and profileCumulative are how many functions a profile
// keeps in each view.
const (
	profileSelf       = 15
	profileCumulative = 30
)

// perfRecorder profiles a process with Linux perf.
type perfRecorder struct {
	cmd   *exec.Cmd
	out   string
	start time.Time
	done  chan struct{}
}

// startPerf starts `perf record` on pid (frame-pointer call graphs, which
// Go binaries keep).
func startPerf(dir, name string, pid int) (*perfRecorder, error) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "perf-"+name+".data")
	cmd := exec.Command(perf, "record", "-q", "-F", "999", "-g", "-p", strconv.Itoa(pid), "-o", out)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &perfRecorder{cmd: cmd, out: out, start: time.Now(), done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	<-time.After(200 * time.Millisecond) // perf attaches
	return p, nil
}

// stop ends the recording and summarises it.
func (p *perfRecorder) stop(ctx context.Context) (Profile, error) {
	secs := time.Since(p.start).Seconds()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
	defer os.Remove(p.out)
	prof := Profile{Tool: "perf record -F 999 -g", Seconds: secs}
	self, samples, err := perfReport(ctx, p.out, "--no-children")
	if err != nil {
		return prof, err
	}
	prof.Self, prof.Samples = top(self, profileSelf, nil), samples
	cum, _, err := perfReport(ctx, p.out, "--children")
	if err != nil {
		return prof, err
	}
	prof.Cumulative = top(cum, profileCumulative, func(sym string) bool {
		for _, skip := range []string{"[kernel]", "runtime.", "internal/runtime", "main.main", "net/http.(*conn).serve", "net/http.serverHandler", "net/http.HandlerFunc", "[unknown]"} {
			if strings.HasPrefix(sym, skip) {
				return false
			}
		}
		return !strings.HasPrefix(sym, "0x") && !strings.Contains(sym, "gowrap") && !strings.Contains(sym, ".func")
	})
	return prof, nil
}

var (
	perfLine    = regexp.MustCompile(`^\s+([\d.]+)%\s+(?:[\d.]+%\s+)?\[([.k])\]\s+(.+?)(?:\s+-\s+-)?\s*$`)
	perfSamples = regexp.MustCompile(`# Samples: (\d+)([KM]?)`)
)

// perfReport runs `perf report` (mode --children or --no-children) and
// parses its per-symbol lines, kernel symbols marked "[kernel] ".
func perfReport(ctx context.Context, data, mode string) ([]ProfileLine, int, error) {
	out, err := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", mode, "--sort", "symbol", "-g", "none", "--percent-limit", "0.3").Output()
	if err != nil {
		return nil, 0, fmt.Errorf("perf report: %w", err)
	}
	var lines []ProfileLine
	samples := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		t := sc.Text()
		if m := perfSamples.FindStringSubmatch(t); m != nil {
			n, _ := strconv.Atoi(m[1])
			switch m[2] {
			case "K":
				n *= 1000
			case "M":
				n *= 1000000
			}
			samples = n
			continue
		}
		m := perfLine.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		pct, _ := strconv.ParseFloat(m[1], 64)
		sym := m[3]
		if m[2] == "k" {
			sym = "[kernel] " + sym
		}
		lines = append(lines, ProfileLine{Percent: pct, Symbol: sym})
	}
	return lines, samples, sc.Err()
}

func top(lines []ProfileLine, n int, keep func(string) bool) []ProfileLine {
	var out []ProfileLine
	for _, l := range lines {
		if keep != nil && !keep(l.Symbol) {
			continue
		}
		out = append(out, l)
		if len(out) == n {
			break
		}
	}
	return out
}

// runProfiles profiles the server on the replication path (one shape: a
// one-transaction workload and a single-row-transaction workload; many
// `k = $1` shapes: single-row transactions) and on the initial-sync path. It runs last, apart from the measurements, so
// the profiler's overhead never shows in a figure.
func runProfiles(ctx context.Context, e *Env, r *Report) error {
	if _, err := exec.LookPath("perf"); err != nil {
		r.Profiles["skipped"] = Profile{Tool: "none", Note: "Linux perf is not installed; no CPU profile taken"}
		return nil
	}
	const db = "profile"
	dbURL, err := e.CreateDB(ctx, db)
	if err != nil {
		return err
	}
	defer e.DropDB(ctx, db)
	if err := Exec(ctx, dbURL, repTable+`;`+tickTable); err != nil {
		return err
	}
	srv, err := e.NewServer("profile", dbURL, "profile")
	if err != nil {
		return err
	}
	if err := prepareServer(ctx, e, srv, []ShapeQuery{{Table: "rep"}}); err != nil {
		return err
	}
	big, small := e.Scaled(300_000, 1000), e.Scaled(100_000, 500)
	row := repRow(1)
	for _, w := range []struct {
		name string
		w    workload
	}{
		{"replication-1txn", oneTxn("rep", row, 1, big)},
		{"replication-single-row-txns", manyTxns("rep", row, big+1, small)},
	} {
		until, rows, err := w.w.run(ctx, dbURL)
		if err != nil {
			return err
		}
		var prof Profile
		var profErr error
		res, err := measureCatchUp(ctx, srv, until, rows, func(pid int) func() {
			rec, err := startPerf(e.Dir, w.name, pid)
			if err != nil {
				profErr = err
				return func() {}
			}
			return func() { prof, profErr = rec.stop(ctx) }
		})
		if err != nil {
			return err
		}
		if profErr != nil {
			return profErr
		}
		prof.Note = fmt.Sprintf("Galvani, 1 shape, %s: %.2fs, %.0f rows/s, %.1f server CPU-s, walsender %.1f CPU-s",
			w.w.name, res.Elapsed.Seconds(), res.rate(), res.ServerCPU, res.WALSenderCPU)
		r.Profiles[w.name] = prof
		e.Logf("  profiled %s", w.name)
	}

	if err := profileManyShapes(ctx, e, r); err != nil {
		return err
	}

	// Initial sync of the whole table through the same server.
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.WaitActive(ctx); err != nil {
		return err
	}
	c := newHTTPClient(2)
	defer c.CloseIdleConnections()
	rec, err := startPerf(e.Dir, "initial-sync", srv.PID())
	if err != nil {
		return err
	}
	cpu0 := srv.CPUSeconds()
	t := time.Now()
	res, err := syncShape(ctx, c, srv, ShapeQuery{Table: "rep", Where: "id > $1", Params: []string{"0"}}, true)
	elapsed := time.Since(t)
	cpu := srv.CPUSeconds() - cpu0
	if err != nil {
		rec.stop(ctx)
		return err
	}
	prof, err := rec.stop(ctx)
	if err != nil {
		return err
	}
	prof.Note = fmt.Sprintf("new shape over %d rows, read and decoded by the Go client: %.2fs, %.1f server CPU-s; the client used %.2f CPU-s (not in the profile)",
		res.Rows, elapsed.Seconds(), cpu, res.ClientCPU.Seconds())
	r.Profiles["initial-sync"] = prof
	e.Logf("  profiled initial-sync")
	return nil
}

// profileManyShapes profiles single-row transactions that each touch a
// different one of 2,000 `k = $1` shapes (at scale 1): the case where the
// group commit has one log to fsync per transaction.
func profileManyShapes(ctx context.Context, e *Env, r *Report) error {
	const db = "profile_many"
	dbURL, err := e.CreateDB(ctx, db)
	if err != nil {
		return err
	}
	defer e.DropDB(ctx, db)
	if err := Exec(ctx, dbURL, repTable+`;`+tickTable); err != nil {
		return err
	}
	srv, err := e.NewServer("profile-many", dbURL, "profilemany")
	if err != nil {
		return err
	}
	n := e.Scaled(2000, 20)
	queries := make([]ShapeQuery, n)
	for i := range queries {
		queries[i] = ShapeQuery{Table: "rep", Where: "k = $1", Params: []string{strconv.Itoa(i)}}
	}
	if err := prepareServer(ctx, e, srv, queries); err != nil {
		return err
	}
	w := manyTxns("rep", repRow(n), 1, e.Scaled(50_000, 500))
	until, rows, err := w.run(ctx, dbURL)
	if err != nil {
		return err
	}
	var prof Profile
	var profErr error
	res, err := measureCatchUp(ctx, srv, until, rows, func(pid int) func() {
		rec, err := startPerf(e.Dir, "many", pid)
		if err != nil {
			profErr = err
			return func() {}
		}
		return func() { prof, profErr = rec.stop(ctx) }
	})
	if err != nil {
		return err
	}
	if profErr != nil {
		return profErr
	}
	prof.Note = fmt.Sprintf("Galvani, %s `k = $1` shapes, %s, each touching one shape: %.2fs, %.0f rows/s",
		groupThousands(int64(n)), w.name, res.Elapsed.Seconds(), res.rate())
	r.Profiles["replication-many-shapes-single-row-txns"] = prof
	e.Logf("  profiled replication-many-shapes-single-row-txns")
	return nil
}
