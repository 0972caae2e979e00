package shapes

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/where"
	"github.com/galvani-sync/galvani/protocol"
)

// Definition identifies a shape (protocol §3.1). Two requests with equal
// definitions share one shape and one log.
type Definition struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Columns lists the selected columns, sorted; nil selects every column.
	Columns []string `json:"columns,omitempty"`
	// Where is the where clause as given and Params its parameters; empty
	// selects every row. WhereNormalized is its canonical form (parameters
	// substituted as typed literals), which identifies the shape.
	Where           string   `json:"where,omitempty"`
	Params          []string `json:"params,omitempty"`
	WhereNormalized string   `json:"where_normalized,omitempty"`
	// Replica is protocol.ReplicaDefault or protocol.ReplicaFull.
	Replica string `json:"replica"`
	// Log is protocol.LogFull or protocol.LogChangesOnly.
	Log string `json:"log"`
}

// ValidationError is a request parameter problem, reported as 400 with the
// protocol's error body under Field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// NewDefinition validates a request's shape parameters against the table
// and returns the normalised definition. columns is nil when the request
// did not name columns; whereText is "" for none.
func NewDefinition(rel *pg.Relation, columns []string, whereText string, params []string, replica, logMode string) (Definition, error) {
	def := Definition{Schema: rel.Schema, Table: rel.Name, Replica: replica, Log: logMode}
	if whereText != "" {
		expr, err := compileWhere(whereText, params, rel)
		var werr *where.Error
		if errors.As(err, &werr) {
			return Definition{}, &ValidationError{werr.Field, werr.Message}
		}
		if err != nil {
			return Definition{}, err
		}
		def.Where, def.Params, def.WhereNormalized = whereText, params, expr.Normalized()
	}
	if def.Replica == "" {
		def.Replica = protocol.ReplicaDefault
	}
	if def.Log == "" {
		def.Log = protocol.LogFull
	}
	if rel.IsPartition {
		return Definition{}, &ValidationError{protocol.ParamTable, "Shapes on a single partition are not supported: request the partitioned table " + pg.QuoteIdent(rel.Schema) + "." + pg.QuoteIdent(rel.Name) + "'s parent with a where clause on the partition key"}
	}
	if columns == nil {
		var generated []string
		for _, c := range rel.Columns {
			if c.Generated {
				generated = append(generated, c.Name)
			}
		}
		if len(generated) > 0 {
			return Definition{}, &ValidationError{protocol.ParamColumns, "The following columns are generated and cannot be included in the shape: " + strings.Join(generated, ", ") + ". You can exclude them from the shape by explicitly listing which columns to fetch in the 'columns' query param"}
		}
	}
	if columns != nil {
		var unknown []string
		seen := make(map[string]bool, len(columns))
		for _, c := range columns {
			if rel.ColumnIndex(c) < 0 {
				unknown = append(unknown, c)
			}
			seen[c] = true
		}
		if len(unknown) > 0 {
			return Definition{}, &ValidationError{protocol.ParamColumns, "The following columns are not found on the table: " + strings.Join(unknown, ", ")}
		}
		var missing []string
		for _, i := range rel.PK {
			if name := rel.Columns[i].Name; !seen[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			return Definition{}, &ValidationError{protocol.ParamColumns, "The list of columns must include all primary key columns, missing: " + strings.Join(missing, ", ")}
		}
		var generated []string
		for _, c := range columns {
			if rel.Columns[rel.ColumnIndex(c)].Generated {
				generated = append(generated, c)
			}
		}
		if len(generated) > 0 {
			return Definition{}, &ValidationError{protocol.ParamColumns, "The following columns are generated and cannot be included in the shape: " + strings.Join(generated, ", ")}
		}
		cols := make([]string, 0, len(seen))
		for c := range seen {
			cols = append(cols, c)
		}
		slices.Sort(cols)
		// An explicit list, even of every column, is its own shape: it keeps
		// working when columns are added to the table (protocol §3.1).
		def.Columns = cols
	}
	return def, nil
}

// Key returns the definition's canonical form: equal keys, equal shapes.
// The where clause counts by its normalised form only, so spacing and
// keyword case do not make a new shape.
func (d Definition) Key() string {
	id := d
	id.Where, id.Params = "", nil
	b, err := json.Marshal(id)
	if err != nil {
		panic(fmt.Sprintf("marshal definition: %v", err)) // plain strings never fail
	}
	return string(b)
}

// hash returns the handle prefix: a 27-bit hash of the key, as upstream's
// handles look (protocol §3.2). Uniqueness comes from the time suffix.
func (d Definition) hash() uint32 {
	h := fnv.New32a()
	h.Write([]byte(d.Key()))
	return h.Sum32() & (1<<27 - 1)
}

// compileWhere compiles a clause under the table's collations.
func compileWhere(text string, params []string, rel *pg.Relation) (*where.Expr, error) {
	opts := where.Options{DefaultCollation: rel.DefaultCollation, ColumnCollations: make([]string, len(rel.Columns))}
	for i, c := range rel.Columns {
		opts.ColumnCollations[i] = c.Collation
	}
	return where.CompileWith(text, params, rel, opts)
}

// selectedColumns returns the indexes into rel.Columns of the selected
// columns, in attribute order.
func (d Definition) selectedColumns(rel *pg.Relation) ([]int, error) {
	cols := make([]int, 0, len(rel.Columns))
	for i, c := range rel.Columns {
		if d.Columns == nil || slices.Contains(d.Columns, c.Name) {
			cols = append(cols, i)
		}
	}
	if d.Columns != nil && len(cols) != len(d.Columns) {
		return nil, fmt.Errorf("shape columns %v not all in %s", d.Columns, rel.QualifiedName())
	}
	return cols, nil
}
