// Package snapshot takes a shape's initial snapshot: one REPEATABLE READ,
// READ ONLY transaction that records pg_current_snapshot() (so replication
// can tell which transactions the snapshot already contains) and streams the
// table's rows in text format, the same format pgoutput uses.
//
// The caller must have added the table to the publication before calling
// Take (architecture invariant 5): every transaction not visible in the
// snapshot is then decoded by replication.
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galvani-sync/galvani/internal/pg"
)

// ErrRetry may be returned by a Query's OnSnapshot to ask Take to roll back
// and take a fresh snapshot.
var ErrRetry = errors.New("snapshot: retry with a fresh snapshot")

// maxRetries bounds how often OnSnapshot may ask for a fresh snapshot.
const maxRetries = 10

// Query describes what to read.
type Query struct {
	Relation *pg.Relation
	// Where is an SQL boolean expression rendered from a validated where
	// clause with its parameters in Args; empty means every row.
	Where string
	Args  []any
	// NoRows runs the transaction for its snapshot only (log=changes_only).
	NoRows bool
	// OrderBy (rendered, safe SQL), Limit (0: none) and Offset shape a
	// subset snapshot's query.
	OrderBy       string
	Limit, Offset int64
	// OnSnapshot receives the snapshot and the WAL position at its start
	// before any row is read.
	OnSnapshot func(snap pg.Snapshot, lsn pg.LSN) error
	// OnRow receives each row, its values in Relation.Columns order. The row
	// is only valid during the call.
	OnRow func(row pg.Row) error
}

// Take runs the snapshot transaction on a connection from pool.
func Take(ctx context.Context, pool *pgxpool.Pool, q Query) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire snapshot connection: %w", err)
	}
	defer conn.Release()
	for attempt := 0; ; attempt++ {
		err := take(ctx, conn.Conn(), q)
		if errors.Is(err, ErrRetry) && attempt < maxRetries {
			continue
		}
		return err
	}
}

func take(ctx context.Context, conn *pgx.Conn, q Query) (err error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	var snapText, lsnText string
	if err := tx.QueryRow(ctx, "SELECT pg_current_snapshot()::text, pg_current_wal_lsn()::text").Scan(&snapText, &lsnText); err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	snap, err := pg.ParseSnapshot(snapText)
	if err != nil {
		return err
	}
	lsn, err := pg.ParseLSN(lsnText)
	if err != nil {
		return err
	}
	if err := q.OnSnapshot(snap, lsn); err != nil {
		return err
	}
	if !q.NoRows {
		if err := readRows(ctx, tx.Conn(), q); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("end snapshot: %w", err)
	}
	return nil
}

// readRows streams the rows in text result format, so every value is its
// type's output function's text under the display settings: the bytes
// pgoutput sends for the same value.
func readRows(ctx context.Context, conn *pgx.Conn, q Query) error {
	rel := q.Relation
	var sb strings.Builder
	sb.WriteString("SELECT ")
	for i, c := range rel.Columns {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(pg.QuoteIdent(c.Name))
	}
	sb.WriteString(" FROM ")
	sb.WriteString(rel.QualifiedName())
	if q.Where != "" {
		sb.WriteString(" WHERE ")
		sb.WriteString(q.Where)
	}
	if q.OrderBy != "" {
		sb.WriteString(" ORDER BY ")
		sb.WriteString(q.OrderBy)
	}
	if q.Limit > 0 {
		sb.WriteString(" LIMIT ")
		sb.WriteString(strconv.FormatInt(q.Limit, 10))
	}
	if q.Offset > 0 {
		sb.WriteString(" OFFSET ")
		sb.WriteString(strconv.FormatInt(q.Offset, 10))
	}
	args, err := encodeArgs(q.Args)
	if err != nil {
		return err
	}
	rr := conn.PgConn().ExecParams(ctx, sb.String(), args, nil, nil, nil)
	row := make(pg.Row, len(rel.Columns))
	ends := make([]int, len(rel.Columns))
	var text []byte
	for rr.NextRow() {
		vals := rr.Values()
		if len(vals) != len(row) {
			rr.Close()
			return fmt.Errorf("snapshot of %s: row has %d values, want %d", rel.QualifiedName(), len(vals), len(row))
		}
		// One string holds the row's values, which share it: one
		// allocation per row rather than one per value.
		text = text[:0]
		for i, v := range vals {
			text = append(text, v...)
			ends[i] = len(text)
		}
		all, start := string(text), 0
		for i, v := range vals {
			if v == nil {
				row[i] = pg.Value{Null: true}
			} else {
				row[i] = pg.Value{Text: all[start:ends[i]]}
			}
			start = ends[i]
		}
		if err := q.OnRow(row); err != nil {
			rr.Close()
			return err
		}
	}
	if _, err := rr.Close(); err != nil {
		return fmt.Errorf("snapshot query on %s: %w", rel.QualifiedName(), err)
	}
	return nil
}

// encodeArgs passes parameters as text, letting Postgres infer their types
// from the expression, so values never become part of the SQL text.
func encodeArgs(args []any) ([][]byte, error) {
	out := make([][]byte, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil:
			out[i] = nil
		case string:
			out[i] = []byte(v)
		default:
			return nil, fmt.Errorf("snapshot parameter %d: unsupported type %T", i+1, a)
		}
	}
	return out, nil
}
