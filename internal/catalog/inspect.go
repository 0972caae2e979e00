package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galvani-sync/galvani/internal/pg"
)

// ErrTableNotFound is wrapped by lookups of a relation that is not an
// ordinary or partitioned table: missing tables, views, materialized views,
// foreign tables, sequences and tables without columns all count as not found.
var ErrTableNotFound = errors.New("table not found")

// maxNameBytes is the longest name Postgres stores (NAMEDATALEN-1). Longer
// names cannot exist, and binding them as type name would truncate them.
const maxNameBytes = 63

// Inspector reads table definitions from the Postgres catalog. It keeps no
// cache; each call runs one query. It is safe for concurrent use.
type Inspector struct {
	pool *pgxpool.Pool
}

// NewInspector returns an Inspector that queries through pool.
func NewInspector(pool *pgxpool.Pool) *Inspector {
	return &Inspector{pool: pool}
}

// relationQuery selects one row per live column of a table (relkind r or p)
// in attnum order. The WHERE clause is completed by the caller with a fixed
// condition on bound parameters. array_position over indkey (an int2vector,
// whose subscripts start at 0) yields the 0-based position in the primary
// key, as upstream computes it. For a column of an enum type, or an array
// of one, the en columns name the enum type and enum_labels lists its
// labels in sort order (pg_enum.enumsortorder).
const relationQuery = `
SELECT c.oid, n.nspname, c.relname, c.relreplident, c.relkind, c.relispartition,
       a.attgenerated <> '' AS generated,
       CASE WHEN a.attcollation NOT IN (0, 100) THEN co.collname END AS collation,
       (SELECT datcollate FROM pg_catalog.pg_database WHERE datname = current_database()) AS db_collation,
       a.attname, a.atttypid, a.atttypmod, a.attndims, a.attnotnull,
       t.typname, t.typtype,
       (t.typlen = -1 AND t.typelem <> 0 AND e.typarray = t.oid) AS is_array,
       e.typname, e.typtype,
       array_position(i.indkey, a.attnum) AS pk_position,
       en.oid, enn.nspname, en.typname,
       (SELECT array_agg(l.enumlabel ORDER BY l.enumsortorder)
          FROM pg_catalog.pg_enum l WHERE l.enumtypid = en.oid) AS enum_labels
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem
  LEFT JOIN pg_catalog.pg_type en ON en.typtype = 'e'
       AND en.oid = CASE WHEN e.typarray = t.oid THEN e.oid ELSE t.oid END
  LEFT JOIN pg_catalog.pg_namespace enn ON enn.oid = en.typnamespace
  LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
  LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
 WHERE c.relkind IN ('r', 'p') AND `

const (
	byNameQuery = relationQuery + `n.nspname = $1::name AND c.relname = $2::name
 ORDER BY a.attnum`
	byOIDQuery = relationQuery + `c.oid = $1::oid
 ORDER BY a.attnum`
)

// Lookup returns the ordinary (relkind r) or partitioned (p) table
// schema.name, matched exactly (no search_path, no case folding), with its
// columns in attnum order (dropped columns excluded), or an error wrapping
// ErrTableNotFound. Generated columns are included.
//
// Relation.PK lists the primary-key columns in key order; a table without a
// primary key gets every column in attnum order (protocol §2.2), while each
// Column.PKIndex stays -1 there, as upstream reports no pk_index for such
// tables in the electric-schema header. Enum columns and arrays of enums
// carry their type's labels in sort order (Column.Enum).
func (i *Inspector) Lookup(ctx context.Context, schema, name string) (*pg.Relation, error) {
	if !storableName(schema) || !storableName(name) {
		return nil, notFound(schema, name)
	}
	rel, err := i.query(ctx, byNameQuery, schema, name)
	if err != nil {
		return nil, fmt.Errorf("catalog: look up table %s: %w", quoted(schema, name), err)
	}
	if rel == nil {
		return nil, notFound(schema, name)
	}
	return rel, nil
}

// LookupOID is Lookup by the table's OID, for relations reported by
// replication.
func (i *Inspector) LookupOID(ctx context.Context, oid pg.OID) (*pg.Relation, error) {
	rel, err := i.query(ctx, byOIDQuery, uint32(oid))
	if err != nil {
		return nil, fmt.Errorf("catalog: look up table oid %d: %w", oid, err)
	}
	if rel == nil {
		return nil, fmt.Errorf("catalog: oid %d: %w", oid, ErrTableNotFound)
	}
	return rel, nil
}

// NotFoundMessage returns the protocol's 400 message for a table that does
// not exist (protocol §2.2), with schema and name rendered as JSON strings:
//
//	Table "public"."nonexistent" does not exist. If the table name contains capitals or special characters you must quote it.
func NotFoundMessage(schema, name string) string {
	b := make([]byte, 0, len(schema)+len(name)+120)
	b = append(b, "Table "...)
	b = appendJSONString(b, schema, false)
	b = append(b, '.')
	b = appendJSONString(b, name, false)
	b = append(b, " does not exist. If the table name contains capitals or special characters you must quote it."...)
	return string(b)
}

func notFound(schema, name string) error {
	return fmt.Errorf("catalog: %s: %w", quoted(schema, name), ErrTableNotFound)
}

func quoted(schema, name string) string {
	return pg.QuoteIdent(schema) + "." + pg.QuoteIdent(name)
}

// storableName reports whether s could be the name of a Postgres object in a
// UTF-8 database: valid UTF-8, no NUL, at most 63 bytes. Anything else cannot
// match, and would make the query fail or be truncated.
func storableName(s string) bool {
	return s != "" && len(s) <= maxNameBytes && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// query runs q and assembles the relation, or returns nil when no row
// matched.
func (i *Inspector) query(ctx context.Context, q string, args ...any) (*pg.Relation, error) {
	rows, err := i.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var rel *pg.Relation
	for rows.Next() {
		var (
			relOID, typOID   uint32
			nspname, relname string
			replident        byte
			relkind          byte
			isPartition      bool
			collation        *string
			dbCollation      string
			c                pg.Column
			typmod, ndims    int32
			typname          string
			typtype          byte
			isArray          *bool
			elemName         *string
			elemType         *byte
			pkPosition       *int32
			enumOID          *uint32
			enumSchema       *string
			enumName         *string
			enumLabels       []string
		)
		if err := rows.Scan(&relOID, &nspname, &relname, &replident, &relkind, &isPartition,
			&c.Generated, &collation, &dbCollation, &c.Name, &typOID, &typmod, &ndims, &c.NotNull,
			&typname, &typtype, &isArray, &elemName, &elemType, &pkPosition,
			&enumOID, &enumSchema, &enumName, &enumLabels); err != nil {
			return nil, err
		}
		if rel == nil {
			rel = &pg.Relation{ID: pg.OID(relOID), Schema: nspname, Name: relname, ReplicaIdentity: replident,
				Partitioned: relkind == 'p', IsPartition: isPartition, DefaultCollation: dbCollation}
		}
		if collation != nil {
			c.Collation = *collation
		}
		c.TypeOID = pg.OID(typOID)
		c.TypeMod = typmod
		c.Dims = int(ndims)
		c.TypeName, c.TypeKind = typname, typtype
		if isArray != nil && *isArray && elemName != nil && elemType != nil {
			c.IsArray = true
			c.TypeName, c.TypeKind = *elemName, *elemType
		}
		if enumOID != nil && enumSchema != nil && enumName != nil && c.TypeKind == 'e' {
			if enumLabels == nil {
				enumLabels = []string{} // an enum without labels
			}
			c.Enum = &pg.Enum{OID: pg.OID(*enumOID), Schema: *enumSchema, Name: *enumName, Labels: enumLabels}
		}
		c.PKIndex = -1
		if pkPosition != nil {
			c.PKIndex = int(*pkPosition)
			rel.PK = append(rel.PK, len(rel.Columns))
		}
		rel.Columns = append(rel.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if rel == nil {
		return nil, nil
	}
	if len(rel.PK) == 0 {
		rel.PK = make([]int, len(rel.Columns))
		for k := range rel.PK {
			rel.PK[k] = k
		}
	} else {
		slices.SortFunc(rel.PK, func(a, b int) int {
			return rel.Columns[a].PKIndex - rel.Columns[b].PKIndex
		})
	}
	return rel, nil
}
