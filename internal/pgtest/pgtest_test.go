package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestTwoDatabases(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	name1, url1 := pgtest.NewDatabase(t)
	name2, url2 := pgtest.NewDatabase(t)
	if name1 == name2 || url1 == url2 {
		t.Fatalf("NewDatabase returned the same database twice: %s, %s", url1, url2)
	}

	pgtest.Exec(t, url1, "CREATE TABLE only_in_one (id int); INSERT INTO only_in_one VALUES (1)")
	pgtest.Exec(t, url2, "CREATE TABLE only_in_two (id int)")

	ctx := context.Background()
	for _, tc := range []struct {
		url, want, other string
	}{
		{url1, name1, "only_in_two"},
		{url2, name2, "only_in_one"},
	} {
		conn := connect(t, tc.url)
		var db string
		var otherExists bool
		err := conn.QueryRow(ctx, "SELECT current_database(), to_regclass($1) IS NOT NULL", tc.other).Scan(&db, &otherExists)
		if err != nil {
			t.Fatal(err)
		}
		if db != tc.want {
			t.Errorf("connected to %s, want %s", db, tc.want)
		}
		if otherExists {
			t.Errorf("%s sees table %s of the other database", db, tc.other)
		}
	}
}

// TestCleanup checks that a database is dropped after its test even when
// the test leaves an open connection, an active replication slot (held by
// a walsender) and a publication behind.
func TestCleanup(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	var name string
	var leftOpen []*pgconn.PgConn
	t.Cleanup(func() {
		for _, c := range leftOpen {
			c.Close(context.Background())
		}
	})
	t.Run("leaves things behind", func(t *testing.T) {
		var url string
		name, url = pgtest.NewDatabase(t)
		pgtest.Exec(t, url, "CREATE TABLE items (id int); CREATE PUBLICATION pub FOR TABLE items")
		pgtest.Exec(t, url, "SELECT pg_create_logical_replication_slot('slot_"+name+"', 'pgoutput')")

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		idle, err := pgconn.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		leftOpen = append(leftOpen, idle)
		repl, err := pgconn.Connect(ctx, url+"&replication=database")
		if err != nil {
			t.Fatal(err)
		}
		leftOpen = append(leftOpen, repl)
		repl.Frontend().Send(&pgproto3.Query{String: "START_REPLICATION SLOT slot_" + name + " LOGICAL 0/0 (proto_version '1', publication_names 'pub')"})
		if err := repl.Frontend().Flush(); err != nil {
			t.Fatal(err)
		}
		for {
			msg, err := repl.ReceiveMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := msg.(*pgproto3.CopyBothResponse); ok {
				break
			}
		}
	})

	conn := connect(t, pgtest.Cluster(t).URL("postgres"))
	var dbs, slots int
	err := conn.QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM pg_database WHERE datname = $1),
		       (SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'slot_' || $1)`, name).Scan(&dbs, &slots)
	if err != nil {
		t.Fatal(err)
	}
	if dbs != 0 || slots != 0 {
		t.Fatalf("after the test: %d databases and %d slots named after %s, want none", dbs, slots, name)
	}
}

func TestExecRunsSeveralStatements(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	_, url := pgtest.NewDatabase(t)
	pgtest.Exec(t, url, "CREATE TABLE a (id int); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2)")
	var n int
	if err := connect(t, url).QueryRow(context.Background(), "SELECT count(*) FROM a").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
}
