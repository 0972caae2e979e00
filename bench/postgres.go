package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CreateDB creates a fresh database and returns its URL.
func (e *Env) CreateDB(ctx context.Context, name string) (string, error) {
	if err := e.PG.Exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if err := e.PG.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return e.PG.URL(name), nil
}

// DropDB drops a database with its replication slots, freeing the WAL they
// retain. Errors are logged, not returned: it is cleanup.
func (e *Env) DropDB(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.PG.URL("postgres"))
	if err != nil {
		e.Logf("drop database %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	const terminate = `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`
	if _, err := conn.Exec(ctx, terminate, name); err != nil {
		e.Logf("drop database %s: terminate backends: %v", name, err)
	}
	for {
		_, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1`, name)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			e.Logf("drop database %s: slots: %v", name, err)
			break
		}
		pause(ctx, 100*time.Millisecond) // the loop checks ctx
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		e.Logf("drop database %s: %v", name, err)
	}
}

// Connect opens a connection to url with Galvani's display settings.
func Connect(ctx context.Context, url string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]string{"DateStyle": "ISO, DMY", "TimeZone": "UTC", "extra_float_digits": "1", "IntervalStyle": "iso_8601"} {
		cfg.RuntimeParams[k] = v
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// Exec runs sql (simple protocol; several statements allowed) on url.
func Exec(ctx context.Context, url, sql string) error {
	conn, err := Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("%w\n%s", err, sql)
	}
	return nil
}

// QueryString runs a one-value query on database db.
func (e *Env) QueryString(ctx context.Context, db, sql string, args ...any) (string, error) {
	conn, err := Connect(ctx, e.PG.URL(db))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var s string
	err = conn.QueryRow(ctx, sql, args...).Scan(&s)
	return s, err
}

// waitSlotInactive waits until no walsender holds slot, so the next
// consumer can start replication at once instead of backing off.
func waitSlotInactive(ctx context.Context, url, slot string) error {
	conn, err := Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var active bool
		err := conn.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&active)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if !active {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replication slot %s still active after 30s", slot)
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// slotPID returns the pid of the walsender serving slot, 0 if none.
func slotPID(ctx context.Context, url, slot string) int {
	conn, err := Connect(ctx, url)
	if err != nil {
		return 0
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var pid *int32
	if err := conn.QueryRow(ctx, `SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&pid); err != nil || pid == nil {
		return 0
	}
	return int(*pid)
}
