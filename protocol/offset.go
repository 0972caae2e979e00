package protocol

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// OpInf is the op part of an offset that lies after every op of its
// transaction, written "inf".
const OpInf = math.MaxUint64

// Offset is a position in a shape log. Offsets order lexicographically by
// (Tx, Op). Tx is -1 only for BeforeAll.
type Offset struct {
	Tx int64
	Op uint64
}

// Well-known offsets.
var (
	// BeforeAll is "-1": before the first entry of a shape.
	BeforeAll = Offset{Tx: -1}
	// SnapshotEnd is "0_inf": after every snapshot chunk, before any change.
	SnapshotEnd = Offset{Tx: 0, Op: OpInf}
)

// ErrInvalidOffset is returned by ParseOffset for text that is not an offset.
var ErrInvalidOffset = errors.New("has invalid format")

// ParseOffset parses "-1", "<tx>_<op>" or "<tx>_inf" (tx, op ≥ 0 decimal
// integers; a leading + and leading zeros are accepted; "-1_0" is "-1").
// "now" is not an offset but a request form; callers check for it first.
func ParseOffset(s string) (Offset, error) {
	if s == "-1" || s == "-1_0" {
		return BeforeAll, nil
	}
	txs, ops, ok := strings.Cut(s, "_")
	if !ok {
		return Offset{}, ErrInvalidOffset
	}
	tx, ok := parseNonNegative(txs)
	if !ok || tx > math.MaxInt64 {
		return Offset{}, ErrInvalidOffset
	}
	if ops == "inf" {
		return Offset{Tx: int64(tx), Op: OpInf}, nil
	}
	op, ok := parseNonNegative(ops)
	if !ok || op == OpInf {
		return Offset{}, ErrInvalidOffset
	}
	return Offset{Tx: int64(tx), Op: op}, nil
}

func parseNonNegative(s string) (uint64, bool) {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// String returns the canonical text form: "-1", "<tx>_<op>" or "<tx>_inf".
func (o Offset) String() string {
	return string(o.AppendTo(nil))
}

// AppendTo appends the canonical text form of o to dst.
func (o Offset) AppendTo(dst []byte) []byte {
	if o.Tx < 0 {
		return append(dst, "-1"...)
	}
	dst = strconv.AppendInt(dst, o.Tx, 10)
	dst = append(dst, '_')
	if o.Op == OpInf {
		return append(dst, "inf"...)
	}
	return strconv.AppendUint(dst, o.Op, 10)
}

// Compare returns -1, 0 or +1 as o is before, equal to or after p.
func (o Offset) Compare(p Offset) int {
	switch {
	case o.Tx < p.Tx:
		return -1
	case o.Tx > p.Tx:
		return 1
	case o.Op < p.Op:
		return -1
	case o.Op > p.Op:
		return 1
	}
	return 0
}

// Less reports whether o is before p.
func (o Offset) Less(p Offset) bool { return o.Compare(p) < 0 }

// IsSnapshot reports whether o lies in the virtual snapshot region (0_n or 0_inf).
func (o Offset) IsSnapshot() bool { return o.Tx == 0 }
