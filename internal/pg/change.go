package pg

import "fmt"

// Value is one column value in Postgres text output format.
type Value struct {
	Text string
	Null bool
}

// Row holds a relation's values in attribute order.
type Row []Value

// Op is the kind of a data change.
type Op uint8

// The kinds of change the replication stream delivers.
const (
	OpInsert Op = iota + 1
	OpUpdate
	OpDelete
	OpTruncate
)

// String returns the protocol's name for the operation.
func (o Op) String() string {
	switch o {
	case OpInsert:
		return "insert"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	case OpTruncate:
		return "truncate"
	default:
		return fmt.Sprintf("Op(%d)", uint8(o))
	}
}

// Change is one decoded row change of a transaction. Old is set for updates
// and deletes (Galvani requires REPLICA IDENTITY FULL, so it holds every
// column); New is set for inserts and updates. For truncates both are nil.
type Change struct {
	Op       Op
	Relation *Relation
	Old, New Row
	// Index is the change's position in its transaction, counting every
	// change of every table from 0; the log offset's op part is 2×Index.
	Index uint64
	// OldKeyOnly is set when Old holds only the replica identity key (the
	// table's replica identity is not FULL): its other columns are unknown.
	OldKeyOnly bool
}
