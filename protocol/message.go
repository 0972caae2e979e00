package protocol

import (
	"strconv"
)

// Operation is the kind of a data message: insert, update or delete.
type Operation string

// Operations of data messages (headers.operation).
const (
	OperationInsert Operation = "insert"
	OperationUpdate Operation = "update"
	OperationDelete Operation = "delete"
)

// String returns the operation's wire form.
func (o Operation) String() string { return string(o) }

// Message is one element of a shape response: a data message (Key, Value
// and Headers.Operation set) or a control message (Headers.Control set).
// Column values are Postgres text output; a nil pointer is SQL NULL.
//
// Data messages from the initial snapshot carry only Operation and
// Relation (and SnapshotMark in subset snapshots); replicated changes also
// carry LSN, OpPosition, Txids and, on the last change of a transaction
// for the shape, Last.
type Message struct {
	Key      string             `json:"key,omitempty"`
	Value    map[string]*string `json:"value,omitzero"`
	OldValue map[string]*string `json:"old_value,omitzero"`
	Headers  Headers            `json:"headers"`
}

// Headers are a message's headers. Fields that do not apply to the kind of
// message are zero and omitted when encoded; a list that was present but
// empty (such as "xip_list":[]) stays present.
type Headers struct {
	// Operation is set on data messages.
	Operation Operation `json:"operation,omitempty"`
	// Control is set on control messages: ControlUpToDate,
	// ControlMustRefetch or ControlSnapshotEnd.
	Control string `json:"control,omitempty"`
	// Event is "move-in" or "move-out" on the events of subquery shapes.
	Event string `json:"event,omitempty"`

	// Relation is [schema, table] of the shape's root table.
	Relation []string `json:"relation,omitzero"`
	// LSN is the commit LSN of the change's transaction, in decimal.
	LSN string `json:"lsn,omitempty"`
	// OpPosition is the change's position in its transaction; present
	// exactly when LSN is.
	OpPosition *uint64 `json:"op_position,omitempty"`
	// Txids holds the 32-bit id of the change's transaction.
	Txids []uint64 `json:"txids,omitzero"`
	// Last marks the shape's last change of a transaction.
	Last bool `json:"last,omitempty"`
	// KeyChangeTo is set on the delete half of a primary-key change: the
	// row's new key.
	KeyChangeTo string `json:"key_change_to,omitempty"`
	// KeyChangeFrom is set on the insert half of a primary-key change:
	// the row's old key.
	KeyChangeFrom string `json:"key_change_from,omitempty"`
	// SnapshotMark ties the rows of a subset snapshot to its metadata.
	SnapshotMark *int64 `json:"snapshot_mark,omitempty"`
	// Tags, RemovedTags and ActiveConditions are set on the rows of
	// shapes with subqueries; Patterns on their move events.
	Tags             []string  `json:"tags,omitzero"`
	RemovedTags      []string  `json:"removed_tags,omitzero"`
	ActiveConditions []bool    `json:"active_conditions,omitzero"`
	Patterns         []Pattern `json:"patterns,omitzero"`

	// GlobalLastSeenLSN is set on up-to-date messages: the shape holds
	// every change up to this LSN (decimal).
	GlobalLastSeenLSN string `json:"global_last_seen_lsn,omitempty"`
	// Xmin, Xmax and XipList are set on snapshot-end messages: the
	// snapshot's pg_current_snapshot() as decimal 64-bit xids.
	Xmin    string   `json:"xmin,omitempty"`
	Xmax    string   `json:"xmax,omitempty"`
	XipList []string `json:"xip_list,omitzero"`
}

// Pattern is one tag pattern of a move-in or move-out event.
type Pattern struct {
	Pos   int    `json:"pos"`
	Value string `json:"value"`
}

// IsData reports whether m is a data message (insert, update or delete).
func (m *Message) IsData() bool { return m.Headers.Operation != "" }

// IsControl reports whether m is a control message with the given value,
// such as ControlUpToDate.
func (m *Message) IsControl(control string) bool {
	return m.Headers.Operation == "" && m.Headers.Control == control
}

// Offset returns the log offset of a replicated change, <lsn>_<op_position>;
// ok is false for snapshot rows and control messages, which have none.
func (m *Message) Offset() (off Offset, ok bool) {
	if m.Headers.LSN == "" || m.Headers.OpPosition == nil {
		return Offset{}, false
	}
	tx, err := strconv.ParseInt(m.Headers.LSN, 10, 64)
	if err != nil || tx < 0 || *m.Headers.OpPosition == OpInf {
		return Offset{}, false
	}
	return Offset{Tx: tx, Op: *m.Headers.OpPosition}, true
}

// SubsetResponse is the body of a subset snapshot response (§10.3 of the
// protocol reference): the snapshot's visibility metadata and its rows,
// all inserts.
type SubsetResponse struct {
	Metadata SnapshotMetadata `json:"metadata"`
	Data     []Message        `json:"data"`
}

// SnapshotMetadata describes the Postgres snapshot a subset was read in.
type SnapshotMetadata struct {
	// Xmin, Xmax and XipList are pg_current_snapshot() as decimal xid8s.
	Xmin    string   `json:"xmin"`
	Xmax    string   `json:"xmax"`
	XipList []string `json:"xip_list"`
	// DatabaseLSN is pg_current_wal_lsn() of the snapshot, in decimal.
	DatabaseLSN string `json:"database_lsn"`
	// SnapshotMark is repeated in every row's headers.
	SnapshotMark int64 `json:"snapshot_mark"`
}
