package catalog

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newInspector creates a fresh database, runs setup in it and returns an
// Inspector on it plus its pool for ad-hoc queries. It skips with -short.
func newInspector(t *testing.T, setup string) (*Inspector, *pgxpool.Pool) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Postgres")
	}
	_, url := pgtest.NewDatabase(t)
	if setup != "" {
		pgtest.Exec(t, url, setup)
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return NewInspector(pool), pool
}

// oidOf returns the OID of the relation named by the SQL text rel.
func oidOf(t *testing.T, pool *pgxpool.Pool, rel string) pg.OID {
	t.Helper()
	var oid uint32
	if err := pool.QueryRow(context.Background(), "SELECT to_regclass($1)::oid", rel).Scan(&oid); err != nil {
		t.Fatalf("oid of %s: %v", rel, err)
	}
	return pg.OID(oid)
}
