package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/galvani-sync/galvani/internal/embeddedpg"
)

// ScaleEnv is the environment variable scaling every benchmark's row
// counts, clients and shapes (a positive float, default 1).
const ScaleEnv = "BENCH_SCALE"

// ParseScale reads a BENCH_SCALE value; "" means 1.
func ParseScale(s string) (float64, error) {
	if strings.TrimSpace(s) == "" {
		return 1, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%s=%q: want a positive number", ScaleEnv, s)
	}
	return f, nil
}

// Env is what the benchmarks share: the scale, a working directory, the
// galvani binary and one Postgres cluster.
type Env struct {
	Scale  float64
	Root   string // module root
	Dir    string // temporary working directory, removed by Close
	Binary string // galvani, built without the race detector
	PG     *embeddedpg.Cluster
	Facts  Facts

	logMu sync.Mutex
	log   io.Writer
	start time.Time
}

// Config says how to set up an Env.
type Config struct {
	Scale float64
	// Log receives progress lines.
	Log io.Writer
}

// Setup raises the open-file limit, builds galvani and starts Postgres.
func Setup(ctx context.Context, cfg Config) (*Env, error) {
	if cfg.Scale <= 0 {
		cfg.Scale = 1
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	e := &Env{Scale: cfg.Scale, log: cfg.Log, start: time.Now()}
	if err := raiseFileLimit(); err != nil {
		e.Logf("cannot raise RLIMIT_NOFILE: %v", err)
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	e.Root = root
	if e.Dir, err = os.MkdirTemp("", "galvani-bench-"); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// Postgres runs as the postgres user and must reach its data
		// directory inside this one.
		if err := os.Chmod(e.Dir, 0o711); err != nil {
			e.Close(ctx)
			return nil, err
		}
	}
	e.Binary = filepath.Join(e.Dir, "galvani")
	e.Logf("building galvani (no race detector)")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.Binary, "./cmd/galvani")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		e.Close(ctx)
		return nil, fmt.Errorf("go build ./cmd/galvani: %v\n%s", err, out)
	}
	e.Logf("starting Postgres")
	pgLog, err := os.Create(filepath.Join(e.Dir, "postgres.log"))
	if err != nil {
		e.Close(ctx)
		return nil, err
	}
	e.PG, err = embeddedpg.Start(ctx, embeddedpg.Config{
		DataDir: filepath.Join(e.Dir, "pgdata"),
		Log:     pgLog,
		Settings: map[string]string{
			"shared_buffers":        "512MB",
			"max_wal_size":          "16GB",
			"min_wal_size":          "1GB",
			"checkpoint_timeout":    "30min",
			"max_connections":       "400",
			"max_wal_senders":       "40",
			"max_replication_slots": "40",
			// Autovacuum after the bulk loads would be noise in later
			// measurements; nothing here needs it.
			"autovacuum": "off",
		},
	})
	if err != nil {
		e.Close(ctx)
		return nil, err
	}
	e.Facts = collectFacts(ctx, e)
	return e, nil
}

// Close stops Postgres and removes the working directory.
func (e *Env) Close(ctx context.Context) {
	if e.PG != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		if err := e.PG.Stop(sctx); err != nil {
			e.Logf("stop postgres: %v", err)
		}
		cancel()
	}
	if e.Dir != "" {
		os.RemoveAll(e.Dir)
	}
}

// Logf prints a progress line with the time since Setup.
func (e *Env) Logf(format string, args ...any) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	fmt.Fprintf(e.log, "[%7.1fs] %s\n", time.Since(e.start).Seconds(), fmt.Sprintf(format, args...))
}

// pause waits for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Scaled returns n × scale, at least lo.
func (e *Env) Scaled(n, lo int) int {
	return max(int(math.Round(float64(n)*e.Scale)), lo)
}

// raiseFileLimit lifts RLIMIT_NOFILE as far as allowed: idle clients and
// idle shapes each hold a file descriptor, in this process and in the
// server, which inherits the limit.
func raiseFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	want := uint64(1 << 20)
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			want = n
		}
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
			return nil
		}
	}
	lim.Cur = lim.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// FileLimit returns the current soft RLIMIT_NOFILE.
func FileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return lim.Cur
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/galvani-sync/galvani\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench: run from inside the galvani module (no go.mod found above the working directory)")
		}
		dir = parent
	}
}

// Facts describe the machine and build a run was measured on.
type Facts struct {
	Time          string  `json:"time"`
	Scale         float64 `json:"scale"`
	Cores         int     `json:"cores"`
	MemoryMiB     int64   `json:"memory_mib"`
	CPUModel      string  `json:"cpu_model,omitempty"`
	Kernel        string  `json:"kernel,omitempty"`
	GoVersion     string  `json:"go_version"`
	Postgres      string  `json:"postgres"`
	Nginx         string  `json:"nginx,omitempty"`
	GitCommit     string  `json:"git_commit"`
	GitDirty      bool    `json:"git_dirty"`
	FileLimit     uint64  `json:"file_limit"`
	PostgresFsync string  `json:"postgres_fsync"`
}

func collectFacts(ctx context.Context, e *Env) Facts {
	f := Facts{
		Time:          time.Now().UTC().Format(time.RFC3339),
		Scale:         e.Scale,
		Cores:         runtime.NumCPU(),
		GoVersion:     runtime.Version(),
		FileLimit:     FileLimit(),
		PostgresFsync: "off (embeddedpg test settings; synchronous_commit on)",
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				f.MemoryMiB = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "model name"); ok {
				f.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.CommandContext(ctx, "git", "-C", e.Root, "rev-parse", "HEAD").Output(); err == nil {
		f.GitCommit = strings.TrimSpace(string(out))
	}
	if out, err := exec.CommandContext(ctx, "git", "-C", e.Root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
		f.GitDirty = len(strings.TrimSpace(string(out))) > 0
	}
	if out, err := exec.CommandContext(ctx, "nginx", "-v").CombinedOutput(); err == nil {
		f.Nginx = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "nginx version:"))
	}
	if v, err := e.QueryString(ctx, "postgres", "SHOW server_version"); err == nil {
		f.Postgres = v
	}
	return f
}
