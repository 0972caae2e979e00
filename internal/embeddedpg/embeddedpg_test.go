package embeddedpg

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// reachableTempDir returns a new temporary directory that the postgres OS
// user can reach when the test runs as root: t.TempDir's parent directory
// is private to the test's user (mode 0700), so give others search
// permission on it.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serverLog collects the server output and shows it when the test fails.
type serverLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *serverLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func newServerLog(t *testing.T) *serverLog {
	l := &serverLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Logf("server output:\n%s", l.buf.String())
		}
	})
	return l
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// startCluster starts a cluster and registers a cleanup that stops it.
func startCluster(t *testing.T, cfg Config) *Cluster {
	t.Helper()
	c, err := Start(testContext(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return c
}

func show(t *testing.T, c *Cluster, setting string) string {
	t.Helper()
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW "+setting).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func count(t *testing.T, c *Cluster, query string) int {
	t.Helper()
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestClusterLifecycle(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	ctx := testContext(t)
	log := newServerLog(t)
	cfg := Config{
		// A space and a comma, which need quoting in unix_socket_directories.
		DataDir:  filepath.Join(reachableTempDir(t), "data dir, one"),
		Settings: map[string]string{"max_wal_senders": "7"},
		Log:      log,
	}
	c := startCluster(t, cfg)

	if c.Port() == 0 {
		t.Fatal("Port() = 0")
	}
	if c.DataDir() != cfg.DataDir {
		t.Errorf("DataDir() = %q, want %q", c.DataDir(), cfg.DataDir)
	}
	for setting, want := range map[string]string{
		"wal_level":          "logical",
		"max_wal_senders":    "7", // Settings override the defaults
		"max_connections":    "200",
		"fsync":              "off",
		"full_page_writes":   "off",
		"synchronous_commit": "on",
		"listen_addresses":   "127.0.0.1",
	} {
		if got := show(t, c, setting); got != want {
			t.Errorf("SHOW %s = %q, want %q", setting, got, want)
		}
	}

	if err := c.Exec(ctx, "postgres", "CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}

	// Crash: the data directory keeps a stale postmaster.pid.
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "postmaster.pid")); err != nil {
		t.Fatalf("after Kill: %v", err)
	}
	if err := c.Exec(ctx, "postgres", "SELECT 1"); err == nil {
		t.Fatal("Exec after Kill succeeded")
	}
	if err := c.Kill(); err != nil {
		t.Fatalf("second Kill: %v", err)
	}

	c = startCluster(t, cfg)
	if n := count(t, c, "SELECT count(*) FROM kept"); n != 2 {
		t.Fatalf("after Kill and Start: %d rows in kept, want 2", n)
	}
	if err := c.Exec(ctx, "postgres", "INSERT INTO kept VALUES (3)"); err != nil {
		t.Fatal(err)
	}

	port := c.Port()
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Port() != port {
		t.Fatalf("Restart changed the port from %d to %d", port, c.Port())
	}
	if n := count(t, c, "SELECT count(*) FROM kept"); n != 3 {
		t.Fatalf("after Restart: %d rows in kept, want 3", n)
	}
	if !strings.HasPrefix(c.URL("postgres"), "postgres://postgres@127.0.0.1:") {
		t.Errorf("URL = %q", c.URL("postgres"))
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Stop: postmaster.pid: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	// Restart also starts a stopped cluster.
	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, c, "SELECT count(*) FROM kept"); n != 3 {
		t.Fatalf("after Stop and Restart: %d rows in kept, want 3", n)
	}
}

func TestLongDataDirUsesTempSocketDir(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	dataDir := filepath.Join(reachableTempDir(t), strings.Repeat("long-path-", 10), "data")
	c := startCluster(t, Config{DataDir: dataDir, Log: newServerLog(t)})
	socketDir := show(t, c, "unix_socket_directories")
	if socketDir == dataDir || len(socketDir)+len("/.s.PGSQL.65535") > maxSocketPath {
		t.Fatalf("unix_socket_directories = %q", socketDir)
	}
	if _, err := os.Stat(socketDir); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(socketDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket directory after Stop: %v", err)
	}
}

func TestFixedPortInUse(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(testContext(t), Config{DataDir: filepath.Join(reachableTempDir(t), "data"), Port: port})
	if !errors.Is(err, errPortInUse) {
		t.Fatalf("Start on a taken port: %v, want errPortInUse", err)
	}
}

func TestUnreachableDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs Postgres as another user")
	}
	parent := filepath.Join(reachableTempDir(t), "private")
	if err := os.Mkdir(parent, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(testContext(t), Config{DataDir: filepath.Join(parent, "data")})
	if err == nil {
		t.Fatal("Start succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, parent+" lacks search permission") || !strings.Contains(msg, "choose a data directory") {
		t.Fatalf("error does not name the directory and the remedy: %v", err)
	}
}

func TestMissingBinaries(t *testing.T) {
	_, err := Start(testContext(t), Config{DataDir: filepath.Join(t.TempDir(), "data"), BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), `"initdb"`) || !strings.Contains(err.Error(), "Debian package postgresql") {
		t.Fatalf("Start with an empty BinDir: %v", err)
	}
}

func TestSettingsPortRejected(t *testing.T) {
	_, err := Start(testContext(t), Config{DataDir: t.TempDir(), Settings: map[string]string{"Port": "5432"}})
	if err == nil || !strings.Contains(err.Error(), "Config.Port") {
		t.Fatalf("Start with Settings[port]: %v", err)
	}
}

func TestOutputTail(t *testing.T) {
	var log bytes.Buffer
	o := newOutput(&log)
	for i := 0; i < 30; i++ {
		o.Write([]byte("line "))
		o.Write([]byte(strings.Repeat("x", i%3) + "\n"))
	}
	o.Write([]byte("partial"))
	lines := strings.Split(o.tail(), "\n")
	if len(lines) != tailLines+1 || lines[0] != "\tline x" || lines[len(lines)-1] != "\tpartial" {
		t.Fatalf("tail = %q", lines)
	}
	if got := strings.Count(log.String(), "\n"); got != 30 {
		t.Fatalf("log got %d lines, want 30", got)
	}
}

func TestVersionedBinDirsOrder(t *testing.T) {
	// Only checks that the sort does not panic and keeps what exists.
	for _, dir := range versionedBinDirs() {
		if !strings.HasPrefix(dir, "/usr/lib/postgresql/") {
			t.Errorf("unexpected dir %q", dir)
		}
	}
}

// TestServerStopsWhenOwnerDies starts a cluster in a child test process,
// kills that process with SIGKILL and checks that the postmaster goes away
// too (through its parent-death signal).
func TestServerStopsWhenOwnerDies(t *testing.T) {
	if testing.Short() {
		return
	}
	if dir := os.Getenv("EMBEDDEDPG_HELPER_DATADIR"); dir != "" {
		c, err := Start(context.Background(), Config{DataDir: dir})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("port=%d\n", c.Port())
		time.Sleep(time.Minute) // until killed
		os.Exit(1)
	}
	t.Parallel()
	ctx := testContext(t)
	dataDir := filepath.Join(reachableTempDir(t), "data")
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestServerStopsWhenOwnerDies$")
	cmd.Env = append(os.Environ(), "EMBEDDEDPG_HELPER_DATADIR="+dataDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "port=") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q, %v", line, err)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", strings.TrimSpace(strings.TrimPrefix(line, "port=")))
	if _, err := pgx.Connect(ctx, url); err != nil {
		t.Fatalf("helper's cluster: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()

	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			break
		}
		conn.Close(ctx)
		if time.Now().After(deadline) {
			t.Fatal("the postmaster still accepts connections 30s after its owner died")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The postmaster removes postmaster.pid on its way out.
	for {
		if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("postmaster.pid still exists 30s after the owner died")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
