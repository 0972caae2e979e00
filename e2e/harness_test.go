package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// binary is the galvani binary under test, built once by TestMain (with the
// race detector, so the server is checked under real load too).
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "galvani-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
			os.Exit(1)
		}
		binary = filepath.Join(dir, "galvani")
		args := []string{"build", "-race", "-o", binary, "../cmd/galvani"}
		if f := flag.Lookup("test.bench"); (f != nil && f.Value.String() != "") || os.Getenv("GALVANI_E2E_NORACE") != "" {
			// Benchmarks (and soak targets that measure memory) use the
			// binary as shipped, without the race detector.
			args = []string{"build", "-o", binary, "../cmd/galvani"}
		}
		build := exec.Command("go", args...)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build galvani:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
	}
	pgtest.Main(m)
}

// server is a running galvani process.
type server struct {
	t       testing.TB
	env     []string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	logMu   sync.Mutex
	log     bytes.Buffer
	storage string
}

// startServer runs "galvani serve" against dbURL with its own storage,
// slot and publication, and waits until /v1/health is active.
func startServer(t testing.TB, dbURL string, extraEnv ...string) *server {
	t.Helper()
	storage := t.TempDir()
	s := &server{t: t, port: freePort(t), storage: storage}
	s.env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"ELECTRIC_PORT="+strconv.Itoa(s.port),
		"ELECTRIC_STORAGE_DIR="+storage,
		"ELECTRIC_INSECURE=true",
		"ELECTRIC_LONG_POLL_TIMEOUT=5s",
		"ELECTRIC_LOG_LEVEL=debug",
	)
	s.env = append(s.env, extraEnv...)
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			s.logMu.Lock()
			t.Logf("galvani log:\n%s", s.log.String())
			s.logMu.Unlock()
		}
	})
	return s
}

func (s *server) start() {
	s.t.Helper()
	s.startNoWait()
	s.waitActive()
}

// startNoWait starts the process without waiting for it to be active.
func (s *server) startNoWait() {
	s.t.Helper()
	s.cmd = exec.Command(binary, "serve")
	s.cmd.Env = s.env
	w := &lockedWriter{mu: &s.logMu, w: &s.log}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start galvani: %v", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(s.cmd, s.exited)
}

// waitActive waits until /v1/health says active.
func (s *server) waitActive() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url("/v1/health"))
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), "active") {
				return
			}
		}
		select {
		case <-s.exited:
			s.t.Fatalf("galvani exited during startup:\n%s", s.logText())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("galvani not active after 30s:\n%s", s.logText())
		}
	}
}

func (s *server) logText() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// kill sends SIGKILL and waits: a crash, nothing flushed or closed.
func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.t.Errorf("galvani did not exit 15s after SIGTERM")
		s.kill()
	}
}

func (s *server) url(path string) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.port) + path
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Row is a materialised row: column → value (nil for NULL).
type Row = map[string]*string

// tableRows reads a table as the shape should hold it: keyed by the
// protocol's row key, every value as Postgres text under Galvani's display
// settings.
func tableRows(t testing.TB, conn *pgx.Conn, schema, table string, pk []string) map[string]Row {
	t.Helper()
	return queryRows(t, conn, schema, table, pk, "*", "")
}

// queryRows is tableRows for `SELECT <cols> FROM table WHERE <where>` with
// the where clause's parameters: what a filtered shape must hold.
func queryRows(t testing.TB, conn *pgx.Conn, schema, table string, pk []string, cols, where string, args ...any) map[string]Row {
	t.Helper()
	ctx := context.Background()
	sql := fmt.Sprintf("SELECT %s FROM %s.%s", cols, pgx.Identifier{schema}.Sanitize(), pgx.Identifier{table}.Sanitize())
	if where != "" {
		sql += " WHERE " + where
	}
	rows, err := conn.Query(ctx, sql, append([]any{pgx.QueryResultFormats{pgx.TextFormatCode}}, args...)...)
	if err != nil {
		t.Fatalf("select %s: %v", table, err)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	out := map[string]Row{}
	for rows.Next() {
		raw := rows.RawValues()
		row := Row{}
		for i, f := range fields {
			if raw[i] == nil {
				row[f.Name] = nil
			} else {
				v := string(raw[i])
				row[f.Name] = &v
			}
		}
		key := `"` + schema + `"."` + table + `"`
		for _, c := range pk {
			key += `/"` + strings.ReplaceAll(*row[c], "/", "//") + `"`
		}
		out[key] = row
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("select %s: %v", table, err)
	}
	return out
}

// connect opens a connection with Galvani's display settings, so values
// read as text match what the server sends.
func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"bytea_output": "hex", "DateStyle": "ISO, DMY", "TimeZone": "UTC", "extra_float_digits": "1", "IntervalStyle": "iso_8601"} {
		cfg.RuntimeParams[k] = v
	}
	// Tables change shape under the tests: no cached statement plans.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func rowsEqual(a, b map[string]Row) bool {
	if len(a) != len(b) {
		return false
	}
	for k, ra := range a {
		rb, ok := b[k]
		if !ok || len(ra) != len(rb) {
			return false
		}
		for c, va := range ra {
			vb, ok := rb[c]
			if !ok || (va == nil) != (vb == nil) || (va != nil && *va != *vb) {
				return false
			}
		}
	}
	return true
}

func describeDiff(got, want map[string]Row) string {
	var b strings.Builder
	n := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			fmt.Fprintf(&b, "missing %s\n", k)
		} else if !rowsEqual(map[string]Row{k: g}, map[string]Row{k: w}) {
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			fmt.Fprintf(&b, "differs %s: got %s want %s\n", k, gj, wj)
		} else {
			continue
		}
		if n++; n > 10 {
			break
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "unexpected %s\n", k)
			if n++; n > 10 {
				break
			}
		}
	}
	return b.String()
}

func itoaPort(p int) string { return strconv.Itoa(p) }
