package replication

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galvani-sync/galvani/internal/pg"
)

// Publisher adds tables to the publication, with the replica identity
// Galvani needs, before their first snapshot (protocol §11.3).
type Publisher struct {
	pool        *pgxpool.Pool
	publication string
	manual      bool // ELECTRIC_MANUAL_TABLE_PUBLISHING: check, never alter

	mu sync.Mutex // serialises ALTERs: one table at a time
}

// NewPublisher returns a Publisher for the named publication. A manual
// Publisher never alters anything: it only checks that the table is
// published with REPLICA IDENTITY FULL (ELECTRIC_MANUAL_TABLE_PUBLISHING).
func NewPublisher(pool *pgxpool.Pool, publication string, manual bool) *Publisher {
	return &Publisher{pool: pool, publication: publication, manual: manual}
}

// PublicationError says a table cannot be replicated as configured; its
// message is meant for the client (protocol §11.3).
type PublicationError struct{ Message string }

func (e *PublicationError) Error() string { return e.Message }

// UserMessage returns the message the HTTP layer sends.
func (e *PublicationError) UserMessage() string { return e.Message }

func quotedName(rel *pg.Relation) string {
	return strconv.Quote(rel.Schema) + "." + strconv.Quote(rel.Name)
}

// Ensure makes sure rel is in the publication and has REPLICA IDENTITY
// FULL, so updates and deletes carry whole old rows. When it returns nil,
// every transaction that commits afterwards is decoded with rel's changes;
// the snapshot must start only after that (architecture invariant 5). It
// reads the catalog each time rather than caching: the publication may have
// been recreated since.
func (p *Publisher) Ensure(ctx context.Context, rel *pg.Relation) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var inPub bool
	err := p.pool.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
		  WHERE p.pubname = $1 AND pr.prrelid = $2)
		  OR EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1 AND puballtables)`,
		p.publication, uint32(rel.ID)).Scan(&inPub)
	if err != nil {
		return fmt.Errorf("check publication: %w", err)
	}
	if !inPub && p.manual {
		return &PublicationError{fmt.Sprintf("Database table %s is missing from the publication %q and the ELECTRIC_MANUAL_TABLE_PUBLISHING setting prevents Galvani from adding it", quotedName(rel), p.publication)}
	}
	if !inPub {
		_, err := p.pool.Exec(ctx, "ALTER PUBLICATION "+pg.QuoteIdent(p.publication)+" ADD TABLE "+rel.QualifiedName())
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42710" {
			err = nil // added concurrently
		}
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			return &PublicationError{fmt.Sprintf("Database table %s is missing from the publication %q and Galvani lacks privileges to add it", quotedName(rel), p.publication)}
		}
		if err != nil {
			return fmt.Errorf("add %s to publication %s: %w", rel.QualifiedName(), p.publication, err)
		}
	}
	var ident string
	if err := p.pool.QueryRow(ctx, "SELECT relreplident::text FROM pg_class WHERE oid = $1", uint32(rel.ID)).Scan(&ident); err != nil {
		return fmt.Errorf("read replica identity: %w", err)
	}
	if ident != "f" && p.manual {
		return &PublicationError{fmt.Sprintf("Database table %s does not have its replica identity set to FULL and the ELECTRIC_MANUAL_TABLE_PUBLISHING setting prevents Galvani from setting it", quotedName(rel))}
	}
	if ident != "f" {
		if _, err := p.pool.Exec(ctx, "ALTER TABLE "+rel.QualifiedName()+" REPLICA IDENTITY FULL"); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "42501" {
				return &PublicationError{fmt.Sprintf("Database table %s does not have its replica identity set to FULL and Galvani lacks privileges to set it (it must own the table)", quotedName(rel))}
			}
			return fmt.Errorf("set REPLICA IDENTITY FULL on %s: %w", rel.QualifiedName(), err)
		}
	}
	if rel.Partitioned {
		return p.ensurePartitions(ctx, rel)
	}
	return nil
}

// ensurePartitions sets REPLICA IDENTITY FULL on every partition of a
// partitioned table: the setting is per table, and the rows live in the
// partitions.
func (p *Publisher) ensurePartitions(ctx context.Context, rel *pg.Relation) error {
	rows, err := p.pool.Query(ctx, `
		SELECT n.nspname, c.relname
		  FROM pg_partition_tree($1::regclass) t
		  JOIN pg_class c ON c.oid = t.relid
		  JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE t.relid <> $1::regclass AND c.relreplident <> 'f'`, uint32(rel.ID))
	if err != nil {
		return fmt.Errorf("list partitions of %s: %w", rel.QualifiedName(), err)
	}
	var parts []string
	for rows.Next() {
		var schema, name string
		if err := rows.Scan(&schema, &name); err != nil {
			rows.Close()
			return fmt.Errorf("list partitions of %s: %w", rel.QualifiedName(), err)
		}
		parts = append(parts, pg.QuoteIdent(schema)+"."+pg.QuoteIdent(name))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list partitions of %s: %w", rel.QualifiedName(), err)
	}
	for _, part := range parts {
		if p.manual {
			return &PublicationError{fmt.Sprintf("Partition %s of %s does not have its replica identity set to FULL and the ELECTRIC_MANUAL_TABLE_PUBLISHING setting prevents Galvani from setting it", part, quotedName(rel))}
		}
		if _, err := p.pool.Exec(ctx, "ALTER TABLE "+part+" REPLICA IDENTITY FULL"); err != nil {
			return fmt.Errorf("set REPLICA IDENTITY FULL on %s: %w", part, err)
		}
	}
	return nil
}
