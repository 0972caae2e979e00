package pg

import (
	"fmt"
	"strconv"
	"strings"
)

// Snapshot is a Postgres MVCC snapshot as pg_current_snapshot() returns it:
// 64-bit transaction ids (xid8). Transactions below Xmin are visible, those at
// or above Xmax are not, and those in between are visible unless listed in Xip.
type Snapshot struct {
	Xmin uint64   `json:"xmin"`
	Xmax uint64   `json:"xmax"`
	Xip  []uint64 `json:"xip"`
}

// ParseSnapshot parses the text form of pg_snapshot, "xmin:xmax:xip1,xip2".
func ParseSnapshot(s string) (Snapshot, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Snapshot{}, fmt.Errorf("parse snapshot %q: want xmin:xmax:xip", s)
	}
	var snap Snapshot
	var err error
	if snap.Xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return Snapshot{}, fmt.Errorf("parse snapshot %q: %w", s, err)
	}
	if snap.Xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
		return Snapshot{}, fmt.Errorf("parse snapshot %q: %w", s, err)
	}
	if parts[2] != "" {
		for _, x := range strings.Split(parts[2], ",") {
			v, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return Snapshot{}, fmt.Errorf("parse snapshot %q: %w", s, err)
			}
			snap.Xip = append(snap.Xip, v)
		}
	}
	return snap, nil
}

// Visible reports whether the effects of the transaction with 32-bit id xid
// (as pgoutput reports it) are contained in the snapshot. The 32-bit id is
// compared with the snapshot's 64-bit ids modulo 2^32 with a signed
// difference, as Postgres compares transaction ids, so wraparound is handled.
func (s Snapshot) Visible(xid uint32) bool {
	if xidBefore(xid, uint32(s.Xmin)) {
		return true
	}
	if !xidBefore(xid, uint32(s.Xmax)) {
		return false
	}
	for _, x := range s.Xip {
		if uint32(x) == xid {
			return false
		}
	}
	return true
}

// AtOrAfterXmax reports whether xid is at or after the snapshot's xmax: from
// such a transaction on, no later transaction can be visible in the snapshot.
func (s Snapshot) AtOrAfterXmax(xid uint32) bool {
	return !xidBefore(xid, uint32(s.Xmax))
}

// xidBefore reports a < b for 32-bit transaction ids, wraparound-aware.
func xidBefore(a, b uint32) bool {
	return int32(a-b) < 0
}
