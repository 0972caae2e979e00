package replication

import (
	"fmt"

	"github.com/jackc/pglogrepl"

	"github.com/galvani-sync/galvani/internal/pg"
)

// decoder turns pgoutput messages into Events. It caches relations as
// Relation messages announce them and numbers the changes of each
// transaction.
type decoder struct {
	relations map[uint32]*pg.Relation
	inTxn     bool
	index     uint64 // next change index in the current transaction
	xid       uint32
	commitLSN pg.LSN
}

// decode returns the events one pgoutput message produces (a truncate of
// several tables produces several).
func (d *decoder) decode(data []byte) ([]Event, error) {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return nil, err
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		if d.relations == nil {
			d.relations = make(map[uint32]*pg.Relation)
		}
		d.relations[m.RelationID] = relationFrom(m)
		return nil, nil
	case *pglogrepl.BeginMessage:
		d.inTxn, d.index, d.xid, d.commitLSN = true, 0, m.Xid, pg.LSN(m.FinalLSN)
		return []Event{{Kind: EventBegin, Xid: m.Xid, CommitLSN: pg.LSN(m.FinalLSN), CommitTime: m.CommitTime}}, nil
	case *pglogrepl.CommitMessage:
		d.inTxn = false
		return []Event{{Kind: EventCommit, Xid: d.xid, CommitLSN: pg.LSN(m.CommitLSN), EndLSN: pg.LSN(m.TransactionEndLSN), CommitTime: m.CommitTime}}, nil
	case *pglogrepl.InsertMessage:
		rel, err := d.relation(m.RelationID)
		if err != nil {
			return nil, err
		}
		row, err := tupleRow(rel, m.Tuple, nil)
		if err != nil {
			return nil, err
		}
		return []Event{d.change(pg.Change{Op: pg.OpInsert, Relation: rel, New: row})}, nil
	case *pglogrepl.UpdateMessage:
		rel, err := d.relation(m.RelationID)
		if err != nil {
			return nil, err
		}
		var old pg.Row
		keyOnly := m.OldTupleType != pglogrepl.UpdateMessageTupleTypeOld
		if m.OldTuple != nil && !keyOnly {
			if old, err = tupleRow(rel, m.OldTuple, nil); err != nil {
				return nil, err
			}
		}
		row, err := tupleRow(rel, m.NewTuple, old)
		if err != nil {
			return nil, err
		}
		return []Event{d.change(pg.Change{Op: pg.OpUpdate, Relation: rel, Old: old, New: row, OldKeyOnly: keyOnly})}, nil
	case *pglogrepl.DeleteMessage:
		rel, err := d.relation(m.RelationID)
		if err != nil {
			return nil, err
		}
		var old pg.Row
		if m.OldTuple != nil {
			if old, err = tupleRow(rel, m.OldTuple, nil); err != nil {
				return nil, err
			}
		}
		keyOnly := m.OldTupleType != pglogrepl.DeleteMessageTupleTypeOld
		return []Event{d.change(pg.Change{Op: pg.OpDelete, Relation: rel, Old: old, OldKeyOnly: keyOnly})}, nil
	case *pglogrepl.TruncateMessage:
		evs := make([]Event, 0, len(m.RelationIDs))
		for _, id := range m.RelationIDs {
			rel, err := d.relation(id)
			if err != nil {
				return nil, err
			}
			evs = append(evs, d.change(pg.Change{Op: pg.OpTruncate, Relation: rel}))
		}
		return evs, nil
	default:
		// Origin, Type and logical Message carry nothing Galvani needs.
		return nil, nil
	}
}

func (d *decoder) change(c pg.Change) Event {
	c.Index = d.index
	d.index++
	return Event{Kind: EventChange, Xid: d.xid, CommitLSN: d.commitLSN, Change: c}
}

func (d *decoder) relation(id uint32) (*pg.Relation, error) {
	rel, ok := d.relations[id]
	if !ok {
		return nil, fmt.Errorf("change for relation %d before its relation message", id)
	}
	return rel, nil
}

func relationFrom(m *pglogrepl.RelationMessage) *pg.Relation {
	rel := &pg.Relation{
		ID:              pg.OID(m.RelationID),
		Schema:          m.Namespace,
		Name:            m.RelationName,
		ReplicaIdentity: m.ReplicaIdentity,
		Columns:         make([]pg.Column, len(m.Columns)),
	}
	for i, c := range m.Columns {
		rel.Columns[i] = pg.Column{Name: c.Name, TypeOID: pg.OID(c.DataType), TypeMod: c.TypeModifier, PKIndex: -1}
		if c.Flags&1 != 0 {
			rel.PK = append(rel.PK, i)
		}
	}
	return rel
}

// tupleRow converts pgoutput tuple data to a Row, copying the bytes (the
// message buffer is reused). An unchanged TOASTed value ('u') is taken from
// old, the row's previous version, when there is one.
func tupleRow(rel *pg.Relation, t *pglogrepl.TupleData, old pg.Row) (pg.Row, error) {
	if t == nil {
		return nil, fmt.Errorf("relation %s: missing tuple", rel.QualifiedName())
	}
	if len(t.Columns) != len(rel.Columns) {
		return nil, fmt.Errorf("relation %s: tuple has %d columns, relation %d", rel.QualifiedName(), len(t.Columns), len(rel.Columns))
	}
	row := make(pg.Row, len(t.Columns))
	for i, c := range t.Columns {
		switch c.DataType {
		case pglogrepl.TupleDataTypeNull:
			row[i] = pg.Value{Null: true}
		case pglogrepl.TupleDataTypeText:
			row[i] = pg.Value{Text: string(c.Data)}
		case pglogrepl.TupleDataTypeToast:
			if old == nil {
				return nil, fmt.Errorf("relation %s: unchanged TOAST value in column %q without an old row; set REPLICA IDENTITY FULL", rel.QualifiedName(), rel.Columns[i].Name)
			}
			row[i] = old[i]
		default:
			return nil, fmt.Errorf("relation %s: unsupported tuple data type %q", rel.QualifiedName(), c.DataType)
		}
	}
	return row, nil
}
