package embeddedpg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// readyTimeout bounds how long Start waits for a launched postgres to
	// accept connections.
	readyTimeout = 30 * time.Second
	// readyPoll is the pause between connection attempts while waiting.
	readyPoll = 50 * time.Millisecond
	// portAttempts is how often Start picks a new free port when postgres
	// finds the port taken (only when Config.Port is 0).
	portAttempts = 5
	// maxSocketPath is the longest unix socket path the kernel accepts
	// (sun_path is 108 bytes including the terminating NUL).
	maxSocketPath = 107
)

// Config says where and how to run a cluster.
type Config struct {
	// DataDir is the cluster data directory. initdb runs when it holds no
	// PG_VERSION file; otherwise the existing cluster is reused. Missing
	// parent directories are created.
	DataDir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free port. The port is
	// always set from here: Settings must not contain "port".
	Port int
	// BinDir is the directory holding initdb and postgres. "" searches PATH,
	// then /usr/lib/postgresql/*/bin (highest version).
	BinDir string
	// Settings holds extra server settings, passed as -c name=value. They
	// override the defaults (listen_addresses=127.0.0.1, wal_level=logical,
	// max_wal_senders=20, max_replication_slots=20, max_connections=200,
	// shared_buffers=128MB, log_min_messages=warning, a private
	// unix_socket_directories, and the non-durable settings below).
	Settings map[string]string
	// Log receives the output of initdb and of the server (stdout and
	// stderr); nil discards it. Write errors are ignored. It must be safe to
	// use from another goroutine.
	Log io.Writer
	// Durable false (tests) adds fsync=off and full_page_writes=off for
	// speed. Both are safe as long as the operating system does not crash,
	// so Cluster.Kill still loses no committed transaction.
	// synchronous_commit stays on: with fsync=off it costs next to nothing,
	// while turning it off would let Kill lose acknowledged commits and
	// would delay logical replication of each small transaction until the
	// WAL writer's next round (wal_writer_delay, 200ms).
	Durable bool
}

// Cluster is a running (or stopped) Postgres cluster owned by this process.
// Its methods are safe for concurrent use.
type Cluster struct {
	dataDir string
	port    int
	bins    binaries
	owner   *osUser // nil unless the server runs as another OS user
	log     io.Writer
	// settings are the -c settings except port and, unless the caller
	// chose one, unix_socket_directories.
	settings map[string]string

	mu   sync.Mutex
	proc *process // nil while not running
}

// Start initializes the data directory if needed, starts postgres and waits
// until it accepts connections (up to 30 seconds, or until ctx ends). The
// server keeps running after ctx ends; stop it with Stop or Kill.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("start postgres: Config.DataDir is empty")
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("start postgres: data directory: %w", err)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("start postgres: invalid port %d", cfg.Port)
	}
	settings, err := serverSettings(cfg)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	bins, err := findBinaries(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	if owner != nil {
		if err := checkReachable(dataDir, owner); err != nil {
			return nil, err
		}
	}
	c := &Cluster{
		dataDir:  dataDir,
		port:     cfg.Port,
		bins:     bins,
		owner:    owner,
		log:      cfg.Log,
		settings: settings,
	}
	if err := c.initDataDir(ctx, cfg.Durable); err != nil {
		return nil, err
	}

	for attempt := 1; ; attempt++ {
		if cfg.Port == 0 {
			if c.port, err = freePort(); err != nil {
				return nil, fmt.Errorf("start postgres: pick a free port: %w", err)
			}
		}
		err = c.launch(ctx)
		if err == nil {
			return c, nil
		}
		if cfg.Port != 0 || attempt == portAttempts || !errors.Is(err, errPortInUse) || ctx.Err() != nil {
			return nil, err
		}
	}
}

// serverSettings merges the default settings with cfg.Settings.
func serverSettings(cfg Config) (map[string]string, error) {
	s := map[string]string{
		"listen_addresses":      "127.0.0.1",
		"wal_level":             "logical",
		"max_wal_senders":       "20",
		"max_replication_slots": "20",
		"max_connections":       "200",
		"shared_buffers":        "128MB",
		"log_min_messages":      "warning",
	}
	if !cfg.Durable {
		s["fsync"] = "off"
		s["full_page_writes"] = "off"
	}
	for name, value := range cfg.Settings {
		// Setting names are case-insensitive in Postgres.
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || strings.ContainsAny(name, "= \t\n") {
			return nil, fmt.Errorf("invalid setting name %q", name)
		}
		if name == "port" {
			return nil, errors.New(`setting "port" is not allowed in Config.Settings: set Config.Port`)
		}
		s[name] = value
	}
	return s, nil
}

// freePort asks the kernel for a currently free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, err
	}
	return port, nil
}

// Port returns the TCP port the server listens on (on 127.0.0.1).
func (c *Cluster) Port() int { return c.port }

// DataDir returns the absolute path of the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// URL returns a connection URL for database as the postgres superuser
// (trust authentication, no TLS).
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, urlPathEscape(database))
}

// urlPathEscape escapes a database name for the path of a URL.
func urlPathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-._~", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// Stop shuts the server down with a fast shutdown (SIGINT to the
// postmaster) and waits for it to exit. When ctx ends first, it kills the
// server with SIGKILL, waits for it and returns an error. Stopping a
// cluster that is not running does nothing. It returns an error if the
// server had already exited on its own.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked(ctx)
}

func (c *Cluster) stopLocked(ctx context.Context) error {
	p := c.proc
	if p == nil {
		return nil
	}
	c.proc = nil
	defer p.removeSocketDir()

	select {
	case <-p.done:
		return fmt.Errorf("stop postgres: server had already exited: %v\n%s", p.err, p.out.tail())
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop postgres: %w", err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("stop postgres: %w\n%s", p.err, p.out.tail())
		}
		return nil
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("stop postgres: killed after %w", ctx.Err())
	}
}

// Kill sends SIGKILL to the postmaster and waits until it and its child
// processes are gone, like a crash. The data directory stays, with a stale
// postmaster.pid; Start on the same directory recovers it. Killing a
// cluster that is not running does nothing.
func (c *Cluster) Kill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proc
	if p == nil {
		return nil
	}
	c.proc = nil
	defer p.removeSocketDir()
	p.kill()
	return nil
}

// Restart stops the server (as Stop does) and starts it again on the same
// port and data directory. It also starts a cluster that was stopped or
// killed.
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.stopLocked(ctx); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return c.launchLocked(ctx)
}

// Exec connects to database as the postgres superuser, runs sql with the
// simple query protocol (so it may hold several statements separated by
// semicolons) and closes the connection.
func (c *Cluster) Exec(ctx context.Context, database, sql string) error {
	conn, err := pgconn.Connect(ctx, c.URL(database))
	if err != nil {
		return fmt.Errorf("exec on database %q: %w", database, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("exec on database %q: %w", database, err)
	}
	return nil
}

// errPortInUse marks a start that failed because the port was taken.
var errPortInUse = errors.New("port already in use")

// launch starts postgres on c.port and waits until it is ready.
func (c *Cluster) launch(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.launchLocked(ctx)
}

func (c *Cluster) launchLocked(ctx context.Context) error {
	settings := make(map[string]string, len(c.settings)+2)
	for k, v := range c.settings {
		settings[k] = v
	}
	settings["port"] = strconv.Itoa(c.port)

	socketDir, tempSocketDir := "", false
	if _, ok := settings["unix_socket_directories"]; !ok {
		var err error
		socketDir, tempSocketDir, err = c.socketDir()
		if err != nil {
			return fmt.Errorf("start postgres: %w", err)
		}
		settings["unix_socket_directories"] = quoteListElement(socketDir)
	}

	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	args := []string{"-D", c.dataDir}
	for _, k := range names {
		args = append(args, "-c", k+"="+settings[k])
	}

	out := newOutput(c.log)
	p, err := startProcess(c.bins.postgres, args, c.dataDir, c.owner, out)
	if err != nil {
		if tempSocketDir {
			os.RemoveAll(socketDir)
		}
		return fmt.Errorf("start postgres: %w", err)
	}
	if tempSocketDir {
		p.socketDir = socketDir
	}
	if err := c.waitReady(ctx, p); err != nil {
		p.kill()
		p.removeSocketDir()
		return fmt.Errorf("start postgres: %w", err)
	}
	c.proc = p
	return nil
}

// socketDir returns the directory for the server's unix socket: the data
// directory when its path is short enough, otherwise a new private
// temporary directory (temp reports which).
func (c *Cluster) socketDir() (dir string, temp bool, err error) {
	const socketName = "/.s.PGSQL.65535"
	if len(c.dataDir)+len(socketName) <= maxSocketPath {
		return c.dataDir, false, nil
	}
	parent := os.TempDir()
	if len(parent)+len("/galvani-pg-1234567890")+len(socketName) > maxSocketPath {
		parent = "/tmp"
	}
	dir, err = os.MkdirTemp(parent, "galvani-pg-")
	if err != nil {
		return "", false, fmt.Errorf("create unix socket directory: %w", err)
	}
	if c.owner != nil {
		if err := os.Chown(dir, int(c.owner.uid), int(c.owner.gid)); err != nil {
			os.RemoveAll(dir)
			return "", false, fmt.Errorf("create unix socket directory: %w", err)
		}
	}
	return dir, true, nil
}

// waitReady connects to the new server in a loop until it accepts
// connections, the process exits, readyTimeout passes or ctx ends.
func (c *Cluster) waitReady(parent context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(parent, readyTimeout)
	defer cancel()
	var lastErr error
	for {
		lastErr = c.ping(ctx)
		if lastErr == nil {
			return nil
		}
		timer := time.NewTimer(readyPoll)
		select {
		case <-p.done:
			timer.Stop()
			tail := p.out.tail()
			err := fmt.Errorf("postgres exited during startup (%v); its last output:\n%s", p.err, tail)
			if strings.Contains(tail, "Address already in use") {
				err = fmt.Errorf("%w: %w", errPortInUse, err)
			}
			return err
		case <-ctx.Done():
			timer.Stop()
			reason := parent.Err()
			if reason == nil {
				reason = fmt.Errorf("not ready after %v", readyTimeout)
			}
			return fmt.Errorf("wait for postgres: %w (last connection error: %v); its last output:\n%s", reason, lastErr, p.out.tail())
		case <-timer.C:
		}
	}
}

// ping connects once and checks that the server answering on the port is
// this cluster (and not some other server that took the port).
func (c *Cluster) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	results, err := conn.Exec(ctx, "SHOW data_directory").ReadAll()
	if err != nil {
		return err
	}
	if len(results) != 1 || len(results[0].Rows) != 1 || len(results[0].Rows[0]) != 1 {
		return errors.New("unexpected answer to SHOW data_directory")
	}
	if got := string(results[0].Rows[0][0]); !sameDir(got, c.dataDir) {
		return fmt.Errorf("port %d is served by another cluster (data directory %s)", c.port, got)
	}
	return nil
}

// sameDir reports whether paths a and b name the same directory.
func sameDir(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// quoteListElement quotes a directory for a list-valued setting such as
// unix_socket_directories when it holds a separator, quote or space.
func quoteListElement(dir string) string {
	if !strings.ContainsAny(dir, ", \t\"") {
		return dir
	}
	return `"` + strings.ReplaceAll(dir, `"`, `""`) + `"`
}
