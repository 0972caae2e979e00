// Package pgtest gives tests a private Postgres: one cluster per test
// binary (started by Main from TestMain) and one fresh database per test
// (NewDatabase).
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		if testing.Short() {
//			return
//		}
//		_, url := pgtest.NewDatabase(t)
//		pgtest.Exec(t, url, "CREATE TABLE t (id int)")
//		...
//	}
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/embeddedpg"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// cluster is the test binary's cluster. It is package-level because
// TestMain and the tests share nothing else: Main sets it once, before any
// test runs, and nothing changes it afterwards, so tests (even parallel
// ones) only read it. It stays nil with -short.
var cluster *embeddedpg.Cluster

const (
	startTimeout = 2 * time.Minute
	stopTimeout  = 30 * time.Second
	// cleanupTimeout bounds the work of one database's cleanup.
	cleanupTimeout = 30 * time.Second
	// execTimeout bounds one Exec call.
	execTimeout = 2 * time.Minute
)

// Main starts a cluster for the test binary, runs the tests, stops the
// cluster and exits. Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// With -short it runs the tests without starting a cluster (tests that need
// one must check testing.Short()). If the cluster cannot start it prints the
// reason and exits 1 (it never skips). The cluster runs without durability
// (fsync=off) in a temporary directory that is removed at the end.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse() // testing.Short needs the flags parsed; m.Run parses them again harmlessly
	if testing.Short() {
		return m.Run()
	}

	dir, err := os.MkdirTemp("", "galvani-pgtest-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: create cluster directory: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if os.Geteuid() == 0 {
		// As root, Postgres runs as the postgres OS user, which must be
		// able to reach the data directory inside this private directory.
		if err := os.Chmod(dir, 0o711); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: create cluster directory: %v\n", err)
			return 1
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	c, err := embeddedpg.Start(ctx, embeddedpg.Config{DataDir: filepath.Join(dir, "data"), Durable: false})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: start the Postgres cluster for the tests: %v\n", err)
		return 1
	}
	cluster = c

	code := m.Run()

	ctx, cancel = context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stop the Postgres cluster: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Cluster returns the binary's cluster (fails the test if Main did not
// start one).
func Cluster(tb testing.TB) *embeddedpg.Cluster {
	tb.Helper()
	if cluster == nil {
		tb.Fatal("pgtest: no Postgres cluster: call pgtest.Main from TestMain, and return early from tests that need a cluster when testing.Short()")
	}
	return cluster
}

// NewDatabase creates a fresh database with a unique name for this test,
// registers a cleanup that terminates its backends, drops its replication
// slots (any slot whose database is it) and publications and drops the
// database, and returns its name and URL.
//
// The cleanup runs after the test's own later-registered cleanups; a
// failure in it fails the test.
func NewDatabase(tb testing.TB) (name, url string) {
	tb.Helper()
	c := Cluster(tb)
	name = databaseName(tb.Name())
	Exec(tb, c.URL("postgres"), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := dropDatabase(ctx, c, name); err != nil {
			tb.Errorf("pgtest: drop test database %s: %v", name, err)
		}
	})
	return name, c.URL(name)
}

// databaseName makes a unique database name that shows which test it
// belongs to.
func databaseName(testName string) string {
	var b strings.Builder
	b.WriteString("t_")
	lastUnderscore := true
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
			lastUnderscore = false
		} else if !lastUnderscore {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	if !lastUnderscore {
		b.WriteByte('_')
	}
	var random [6]byte
	rand.Read(random[:]) // never fails
	b.WriteString(hex.EncodeToString(random[:]))
	return b.String()
}

// dropDatabase undoes NewDatabase: it terminates the database's backends
// (including walsenders), drops its replication slots and publications,
// and drops it.
func dropDatabase(ctx context.Context, c *embeddedpg.Cluster, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if !exists { // the test dropped it itself
		return nil
	}

	// pg_terminate_backend with a timeout waits until the backend is gone.
	const terminate = `
		SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()
		UNION ALL
		SELECT pg_terminate_backend(active_pid, 10000) FROM pg_replication_slots
		WHERE database = $1 AND active_pid IS NOT NULL`
	if _, err := conn.Exec(ctx, terminate, name); err != nil {
		return fmt.Errorf("terminate backends: %w", err)
	}
	if err := dropSlots(ctx, conn, name); err != nil {
		return err
	}
	if err := dropPublications(ctx, c.URL(name)); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return err
	}
	return nil
}

// dropSlots drops the replication slots of database name, retrying while a
// slot is still held by a backend that is going away.
func dropSlots(ctx context.Context, conn *pgx.Conn, name string) error {
	for {
		rows, err := conn.Query(ctx, "SELECT slot_name FROM pg_replication_slots WHERE database = $1", name)
		if err != nil {
			return fmt.Errorf("list replication slots: %w", err)
		}
		slots, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("list replication slots: %w", err)
		}
		if len(slots) == 0 {
			return nil
		}
		var inUse error
		for _, slot := range slots {
			_, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot($1)", slot)
			var pgErr *pgconn.PgError
			switch {
			case err == nil:
			case errors.As(err, &pgErr) && pgErr.Code == "55006": // object_in_use
				inUse = err
			case errors.As(err, &pgErr) && pgErr.Code == "42704": // undefined_object: dropped meanwhile
			default:
				return fmt.Errorf("drop replication slot %s: %w", slot, err)
			}
		}
		if inUse == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drop replication slots: %w", inUse)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dropPublications drops all publications of the database at url.
func dropPublications(ctx context.Context, url string) error {
	const drop = `DO $$
		DECLARE p name;
		BEGIN
			FOR p IN SELECT pubname FROM pg_publication LOOP
				EXECUTE format('DROP PUBLICATION %I', p);
			END LOOP;
		END $$`
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("drop publications: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, drop).ReadAll(); err != nil {
		return fmt.Errorf("drop publications: %w", err)
	}
	return nil
}

// Exec runs sql (simple protocol, may hold several statements) on the
// database url; fails the test on error.
func Exec(tb testing.TB, url, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), execTimeout)
	defer cancel()
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", url, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		tb.Fatalf("pgtest: exec on %s: %v\n%s", url, err, sql)
	}
}
