package replication

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrConfig marks a database configuration that Galvani cannot work with.
var ErrConfig = errors.New("database configuration")

// CheckServer verifies, before anything starts, that the database can feed
// Galvani: wal_level is logical and the role may replicate. Its errors are
// one line that says how to fix the problem.
func CheckServer(ctx context.Context, pool *pgxpool.Pool) error {
	var walLevel string
	if err := pool.QueryRow(ctx, "SHOW wal_level").Scan(&walLevel); err != nil {
		return fmt.Errorf("read wal_level: %w", err)
	}
	if walLevel != "logical" {
		return fmt.Errorf("%w: wal_level is %q but must be \"logical\": run ALTER SYSTEM SET wal_level = logical; and restart Postgres", ErrConfig, walLevel)
	}
	var canReplicate bool
	err := pool.QueryRow(ctx, "SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&canReplicate)
	if err != nil {
		return fmt.Errorf("read role attributes: %w", err)
	}
	if !canReplicate {
		var user string
		_ = pool.QueryRow(ctx, "SELECT current_user").Scan(&user)
		return fmt.Errorf("%w: role %q lacks the REPLICATION attribute: run ALTER ROLE %q WITH REPLICATION;", ErrConfig, user, user)
	}
	return nil
}
