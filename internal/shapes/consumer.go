package shapes

import (
	"errors"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/internal/where"
	"github.com/galvani-sync/galvani/protocol"
)

// encoder holds the Collector's scratch buffers, reused for every change.
type encoder struct {
	key, key2, value, oldValue []byte
}

// errInvalidated is returned by apply when the change invalidates the shape.
type invalidation struct{ reason string }

func (i *invalidation) Error() string { return "shape invalidated: " + i.reason }

// decide settles whether the transaction (xid, lsn) is skipped by this
// shape: already in its log (replay after restart) or already contained in
// its snapshot (protocol §12.2).
func (s *Shape) decide(xid uint32, lsn pg.LSN) bool {
	if s.tx.decided && s.tx.lsn == lsn {
		return s.tx.skip
	}
	s.tx = txState{lsn: lsn, decided: true, xid: xid, pending: s.tx.pending[:0]}
	switch {
	case int64(lsn) <= s.lastTx:
		s.tx.skip = true
	case !s.filterDone && s.snap.Visible(xid):
		s.tx.skip = true
	default:
		if s.snap.AtOrAfterXmax(xid) {
			s.filterDone = true
		}
	}
	return s.tx.skip
}

// matches reports whether a row (in the shape's relation layout) belongs
// to the shape: its where clause is TRUE for it. A clause Postgres would
// fail on for this row (division by zero, overflow) does not match; the
// snapshot query would have failed on such a row too. A row the clause
// cannot decide (an enum label added after the shape was created, under
// a clause that orders the enum) invalidates the shape: a new shape
// compiles the clause against the current labels.
func (s *Shape) matches(row pg.Row) (bool, error) {
	if s.where == nil {
		return true, nil
	}
	ok, err := s.where.Eval(row)
	if errors.Is(err, where.ErrUnknownEnumLabel) {
		return false, &invalidation{"an enum type gained a label the where clause cannot order"}
	}
	return err == nil && ok, nil
}

// apply converts one change into the shape's log entries (protocol §5.6).
// A non-nil *invalidation means the shape can no longer follow its table.
func (s *Shape) apply(c *pg.Change, xid uint32, lsn pg.LSN, e *encoder) error {
	if _, err := s.writeLog(); err != nil {
		return err // before decide: it needs lastTx from the log
	}
	if s.decide(xid, lsn) {
		return nil
	}
	if c.Op == pg.OpTruncate {
		return &invalidation{"table truncated"}
	}
	if (c.Op == pg.OpUpdate || c.Op == pg.OpDelete) && (c.Old == nil || c.OldKeyOnly) {
		// Without the old row, changed columns, moves and full deletes
		// cannot be computed: a table (or a partition) lost REPLICA
		// IDENTITY FULL. A new shape sets it again.
		return &invalidation{"rows arrive without old values: replica identity is not FULL"}
	}
	var oldRow, newRow pg.Row
	var ok bool
	if c.Old != nil {
		if oldRow, ok = s.mapRow(c.Relation, c.Old, 0); !ok {
			return &invalidation{"table schema changed"}
		}
	}
	if c.New != nil {
		if newRow, ok = s.mapRow(c.Relation, c.New, 1); !ok {
			return &invalidation{"table schema changed"}
		}
	}
	off := protocol.Offset{Tx: int64(lsn), Op: 2 * c.Index}
	oldMatch, newMatch := false, false
	if oldRow != nil {
		var err error
		if oldMatch, err = s.matches(oldRow); err != nil {
			return err
		}
	}
	if newRow != nil {
		var err error
		if newMatch, err = s.matches(newRow); err != nil {
			return err
		}
	}
	switch c.Op {
	case pg.OpInsert:
		if newMatch {
			return s.emitInsert(newRow, off, "", e)
		}
	case pg.OpDelete:
		if oldMatch {
			return s.emitDelete(oldRow, off, "", e)
		}
	case pg.OpUpdate:
		if oldRow == nil {
			oldMatch = true
		}
		switch {
		case oldMatch && newMatch:
			return s.emitUpdate(oldRow, newRow, off, e)
		case oldMatch:
			return s.emitDelete(oldRow, off, "", e)
		case newMatch:
			return s.emitInsert(newRow, off, "", e)
		}
	}
	return nil
}

func (s *Shape) emitInsert(row pg.Row, off protocol.Offset, keyChangeFrom string, e *encoder) error {
	e.key = pg.AppendKey(e.key[:0], s.rel, row)
	e.value = pg.AppendRowObject(e.value[:0], s.rel, row, s.cols)
	return s.emit(&changeMessage{op: "insert", key: string(e.key), value: e.value, off: off, keyChange: keyChangeFrom})
}

func (s *Shape) emitDelete(row pg.Row, off protocol.Offset, keyChangeTo string, e *encoder) error {
	e.key = pg.AppendKey(e.key[:0], s.rel, row)
	if s.def.Replica == protocol.ReplicaFull {
		e.value = pg.AppendRowObject(e.value[:0], s.rel, row, s.cols)
	} else {
		e.value = pg.AppendRowObject(e.value[:0], s.rel, row, s.rel.PK)
	}
	return s.emit(&changeMessage{op: "delete", key: string(e.key), value: e.value, off: off, keyChange: keyChangeTo, changeTo: true})
}

func (s *Shape) emitUpdate(oldRow, newRow pg.Row, off protocol.Offset, e *encoder) error {
	if oldRow != nil && keyChanged(s.rel, oldRow, newRow) {
		e.key2 = pg.AppendKey(e.key2[:0], s.rel, newRow)
		newKey := string(e.key2)
		e.key = pg.AppendKey(e.key[:0], s.rel, oldRow)
		oldKey := string(e.key)
		if err := s.emitDelete(oldRow, off, newKey, e); err != nil {
			return err
		}
		return s.emitInsert(newRow, protocol.Offset{Tx: off.Tx, Op: off.Op + 1}, oldKey, e)
	}
	changed := e.changedColumns(s, oldRow, newRow)
	if len(changed) == 0 {
		return nil // nothing the shape selects changed
	}
	msg := &changeMessage{op: "update", off: off}
	e.key = pg.AppendKey(e.key[:0], s.rel, newRow)
	msg.key = string(e.key)
	if s.def.Replica == protocol.ReplicaFull {
		e.value = pg.AppendRowObject(e.value[:0], s.rel, newRow, s.cols)
		if oldRow != nil {
			e.oldValue = pg.AppendRowObject(e.oldValue[:0], s.rel, oldRow, changed)
			msg.oldValue = e.oldValue
		}
	} else {
		withPK := make([]int, 0, len(s.rel.PK)+len(changed))
		for _, i := range s.cols {
			if s.isPK[i] || containsInt(changed, i) {
				withPK = append(withPK, i)
			}
		}
		e.value = pg.AppendRowObject(e.value[:0], s.rel, newRow, withPK)
	}
	msg.value = e.value
	return s.emit(msg)
}

// changedColumns returns the selected columns whose value differs between
// the rows; every selected column when the old row is unknown.
func (e *encoder) changedColumns(s *Shape, oldRow, newRow pg.Row) []int {
	if oldRow == nil {
		return s.cols
	}
	var changed []int
	for _, i := range s.cols {
		if oldRow[i] != newRow[i] {
			changed = append(changed, i)
		}
	}
	return changed
}

func keyChanged(rel *pg.Relation, a, b pg.Row) bool {
	for _, i := range rel.PK {
		if a[i] != b[i] {
			return true
		}
	}
	return false
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// emit appends the previous pending entry of the transaction (it was not
// the last) and makes m the pending one.
func (s *Shape) emit(m *changeMessage) error {
	if !s.tx.appended {
		s.tx.ck = s.wlog.Checkpoint()
		s.tx.appended = true
	}
	if s.tx.hasPending {
		if err := s.closePending(false); err != nil {
			return err
		}
	}
	m.lsn, m.xid = s.tx.lsn, s.tx.xid
	s.tx.pending = s.appendChangeOpen(s.tx.pending[:0], m)
	s.tx.pendingOff = m.off
	s.tx.hasPending = true
	return nil
}

func (s *Shape) closePending(last bool) error {
	var flags byte
	if last {
		s.tx.pending = append(s.tx.pending, `,"last":true}}`...)
		flags = shapelog.FlagLast
	} else {
		s.tx.pending = append(s.tx.pending, "}}"...)
	}
	s.tx.hasPending = false
	return s.wlog.Append(s.tx.pendingOff, flags, s.tx.pending)
}

// commit closes the shape's part of the transaction. It reports whether
// the log has new records to make durable.
func (s *Shape) commit() (bool, error) {
	if !s.tx.decided || s.tx.skip || !s.tx.hasPending {
		s.tx.decided = false
		return false, nil
	}
	if err := s.closePending(true); err != nil {
		return false, err
	}
	s.lastTx = int64(s.tx.lsn)
	s.tx.decided = false
	s.tx.appended = false // committed: nothing left to roll back
	if cap(s.tx.pending) > 64<<10 {
		s.tx.pending = nil
	}
	return true, nil
}

// rollback takes back whatever the interrupted transaction appended.
func (s *Shape) rollback() error {
	defer func() { s.tx = txState{} }()
	if s.tx.appended {
		return s.wlog.Rollback(s.tx.ck)
	}
	return nil
}
