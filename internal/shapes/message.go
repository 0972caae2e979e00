package shapes

import (
	"strconv"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/protocol"
)

// appendRelation appends ["schema","table"].
func (s *Shape) appendRelation(dst []byte) []byte {
	dst = append(dst, '[')
	dst = pg.AppendJSONString(dst, s.rel.Schema)
	dst = append(dst, ',')
	dst = pg.AppendJSONString(dst, s.rel.Name)
	return append(dst, ']')
}

// appendKey appends the row's key as a JSON string.
func (s *Shape) appendKey(dst []byte, row pg.Row, scratch []byte) ([]byte, []byte) {
	scratch = pg.AppendKey(scratch[:0], s.rel, row)
	return pg.AppendJSONString(dst, string(scratch)), scratch
}

// appendSnapshotInsert appends a snapshot row's insert message (protocol
// §5.2: snapshot headers carry only operation and relation).
func (s *Shape) appendSnapshotInsert(dst []byte, row pg.Row, scratch []byte) ([]byte, []byte) {
	dst = append(dst, `{"key":`...)
	dst, scratch = s.appendKey(dst, row, scratch)
	dst = append(dst, `,"value":`...)
	dst = pg.AppendRowObject(dst, s.rel, row, s.cols)
	dst = append(dst, `,"headers":{"operation":"insert","relation":`...)
	dst = s.appendRelation(dst)
	return append(dst, "}}"...), scratch
}

// appendSnapshotEnd appends the snapshot-end control message.
func appendSnapshotEnd(dst []byte, snap pg.Snapshot) []byte {
	dst = append(dst, `{"headers":{"control":"snapshot-end",`...)
	dst = appendSnapshotFields(dst, snap)
	return append(dst, "}}"...)
}

// appendSnapshotFields appends "xmin":"…","xmax":"…","xip_list":[…], the
// snapshot as the clients read it (decimal strings of 64-bit xids).
func appendSnapshotFields(dst []byte, snap pg.Snapshot) []byte {
	dst = append(dst, `"xmin":"`...)
	dst = strconv.AppendUint(dst, snap.Xmin, 10)
	dst = append(dst, `","xmax":"`...)
	dst = strconv.AppendUint(dst, snap.Xmax, 10)
	dst = append(dst, `","xip_list":[`...)
	for i, x := range snap.Xip {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = strconv.AppendUint(dst, x, 10)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

// changeMessage is a replicated change's message before its closing: the
// caller appends `,"last":true` to the headers when it is the shape's last
// entry of the transaction, then "}}".
type changeMessage struct {
	op        string
	key       string
	value     []byte // JSON object
	oldValue  []byte // JSON object or nil
	lsn       pg.LSN
	off       protocol.Offset
	xid       uint32
	keyChange string // key_change_to / key_change_from value
	changeTo  bool   // keyChange is key_change_to (else _from)
}

func (s *Shape) appendChangeOpen(dst []byte, m *changeMessage) []byte {
	dst = append(dst, `{"key":`...)
	dst = pg.AppendJSONString(dst, m.key)
	dst = append(dst, `,"value":`...)
	dst = append(dst, m.value...)
	if m.oldValue != nil {
		dst = append(dst, `,"old_value":`...)
		dst = append(dst, m.oldValue...)
	}
	dst = append(dst, `,"headers":{"operation":"`...)
	dst = append(dst, m.op...)
	dst = append(dst, `","relation":`...)
	dst = s.appendRelation(dst)
	dst = append(dst, `,"lsn":"`...)
	dst = strconv.AppendUint(dst, uint64(m.lsn), 10)
	dst = append(dst, `","op_position":`...)
	dst = strconv.AppendUint(dst, m.off.Op, 10)
	dst = append(dst, `,"txids":[`...)
	dst = strconv.AppendUint(dst, uint64(m.xid), 10)
	dst = append(dst, ']')
	if m.keyChange != "" {
		if m.changeTo {
			dst = append(dst, `,"key_change_to":`...)
		} else {
			dst = append(dst, `,"key_change_from":`...)
		}
		dst = pg.AppendJSONString(dst, m.keyChange)
	}
	return dst
}
