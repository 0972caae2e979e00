package pg_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/galvani-sync/galvani/internal/pg"
)

const epoch = 1 << 32 // one xid epoch: 64-bit xids of the same 32-bit xid differ by this

// visibilityTests follow protocol §12.2: a transaction's effects are in the
// snapshot when its xid is before xmin, or before xmax and not in xip.
// pgoutput reports 32-bit xids; the snapshot holds 64-bit ones.
var visibilityTests = []struct {
	name    string
	snap    pg.Snapshot
	xid     uint32
	visible bool
	atXmax  bool // AtOrAfterXmax(xid)
}{
	{name: "before xmin", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 5, visible: true},
	{name: "just before xmin", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 9, visible: true},
	{name: "at xmin, not in progress", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 10, visible: true},
	{name: "between, not in progress", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 13, visible: true},
	{name: "in progress", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 12},
	{name: "last in progress", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 15},
	{name: "just before xmax", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 19, visible: true},
	{name: "at xmax", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 20, atXmax: true},
	{name: "after xmax", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}, xid: 25, atXmax: true},
	{name: "xmin in progress", snap: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{10}}, xid: 10},
	{name: "empty range, before", snap: pg.Snapshot{Xmin: 10, Xmax: 10}, xid: 9, visible: true},
	{name: "empty range, at xmax", snap: pg.Snapshot{Xmin: 10, Xmax: 10}, xid: 10, atXmax: true},

	// Epoch 1: xmin = 2^32+5. The 32-bit xid 3 is 2 before it.
	{name: "epoch 1, before xmin", snap: pg.Snapshot{Xmin: epoch + 5, Xmax: epoch + 10, Xip: []uint64{epoch + 7}}, xid: 3, visible: true},
	{name: "epoch 1, previous epoch near the end", snap: pg.Snapshot{Xmin: epoch + 5, Xmax: epoch + 10, Xip: []uint64{epoch + 7}}, xid: epoch - 2, visible: true},
	{name: "epoch 1, at xmin", snap: pg.Snapshot{Xmin: epoch + 5, Xmax: epoch + 10, Xip: []uint64{epoch + 7}}, xid: 5, visible: true},
	{name: "epoch 1, in progress", snap: pg.Snapshot{Xmin: epoch + 5, Xmax: epoch + 10, Xip: []uint64{epoch + 7}}, xid: 7},
	{name: "epoch 1, between", snap: pg.Snapshot{Xmin: epoch + 5, Xmax: epoch + 10, Xip: []uint64{epoch + 7}}, xid: 8, visible: true},
	{name: "epoch 1, at xmax", snap: pg.Snapshot{Xmin: epoch + 5, Xmax: epoch + 10, Xip: []uint64{epoch + 7}}, xid: 10, atXmax: true},
	{name: "epoch 1, after xmax", snap: pg.Snapshot{Xmin: epoch + 5, Xmax: epoch + 10, Xip: []uint64{epoch + 7}}, xid: 1000, atXmax: true},

	// The snapshot spans the wrap: xmin in epoch 0, xmax in epoch 1.
	{name: "spanning wrap, before xmin", snap: pg.Snapshot{Xmin: epoch - 3, Xmax: epoch + 2, Xip: []uint64{epoch - 1, epoch + 1}}, xid: epoch - 4, visible: true},
	{name: "spanning wrap, at xmin", snap: pg.Snapshot{Xmin: epoch - 3, Xmax: epoch + 2, Xip: []uint64{epoch - 1, epoch + 1}}, xid: epoch - 3, visible: true},
	{name: "spanning wrap, in progress before the wrap", snap: pg.Snapshot{Xmin: epoch - 3, Xmax: epoch + 2, Xip: []uint64{epoch - 1, epoch + 1}}, xid: epoch - 1},
	{name: "spanning wrap, xid 0 after the wrap", snap: pg.Snapshot{Xmin: epoch - 3, Xmax: epoch + 2, Xip: []uint64{epoch - 1, epoch + 1}}, xid: 0, visible: true},
	{name: "spanning wrap, in progress after the wrap", snap: pg.Snapshot{Xmin: epoch - 3, Xmax: epoch + 2, Xip: []uint64{epoch - 1, epoch + 1}}, xid: 1},
	{name: "spanning wrap, at xmax", snap: pg.Snapshot{Xmin: epoch - 3, Xmax: epoch + 2, Xip: []uint64{epoch - 1, epoch + 1}}, xid: 2, atXmax: true},

	// Far apart in 32-bit space: up to 2^31-1 back is the past, less
	// than 2^31 ahead the future.
	{name: "far in the past", snap: pg.Snapshot{Xmin: 3*epoch + 100, Xmax: 3*epoch + 200}, xid: 200 + 1<<31 + 1, visible: true}, // xmax - (2^31-1) mod 2^32
	{name: "far in the future", snap: pg.Snapshot{Xmin: 3*epoch + 100, Xmax: 3*epoch + 200}, xid: 200 + 1<<30, atXmax: true},
}

func TestSnapshotVisible(t *testing.T) {
	for _, tt := range visibilityTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.snap.Visible(tt.xid); got != tt.visible {
				t.Errorf("%v.Visible(%d) = %t, want %t", tt.snap, tt.xid, got, tt.visible)
			}
			if got := tt.snap.AtOrAfterXmax(tt.xid); got != tt.atXmax {
				t.Errorf("%v.AtOrAfterXmax(%d) = %t, want %t", tt.snap, tt.xid, got, tt.atXmax)
			}
		})
	}
}

// TestSnapshotVisibleMatches64BitModel compares Visible with the 64-bit rule
// for every xid within 1000 of the snapshot, in several epochs: the 32-bit
// xid stands for the nearest 64-bit xid with the same low bits.
func TestSnapshotVisibleMatches64BitModel(t *testing.T) {
	for _, base := range []uint64{1000, epoch - 500, epoch + 5, 5*epoch - 1, 1 << 40} {
		snap := pg.Snapshot{Xmin: base, Xmax: base + 40, Xip: []uint64{base, base + 1, base + 17, base + 39}}
		for x := base - 1000; x < base+1000; x++ {
			visible := x < snap.Xmin || (x < snap.Xmax && !contains(snap.Xip, x))
			if got := snap.Visible(uint32(x)); got != visible {
				t.Errorf("%v.Visible(%d) = %t, want %t (xid8 %d)", snap, uint32(x), got, visible, x)
			}
			if got, want := snap.AtOrAfterXmax(uint32(x)), x >= snap.Xmax; got != want {
				t.Errorf("%v.AtOrAfterXmax(%d) = %t, want %t (xid8 %d)", snap, uint32(x), got, want, x)
			}
		}
	}
}

func contains(xs []uint64, x uint64) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

var snapshotTests = []struct {
	name string
	in   string
	want pg.Snapshot
}{
	{name: "in progress", in: "10:20:12,15", want: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{12, 15}}},
	{name: "none in progress", in: "10:10:", want: pg.Snapshot{Xmin: 10, Xmax: 10}},
	{name: "one in progress", in: "10:20:10", want: pg.Snapshot{Xmin: 10, Xmax: 20, Xip: []uint64{10}}},
	{name: "64-bit ids", in: "4294967301:4294967310:4294967303", want: pg.Snapshot{Xmin: epoch + 5, Xmax: epoch + 14, Xip: []uint64{epoch + 7}}},
	{name: "largest ids", in: "18446744073709551615:18446744073709551615:", want: pg.Snapshot{Xmin: 1<<64 - 1, Xmax: 1<<64 - 1}},
}

var invalidSnapshotTests = []struct {
	name string
	in   string
}{
	{name: "empty", in: ""},
	{name: "two parts", in: "10:20"},
	{name: "four parts", in: "10:20:12:13"},
	{name: "missing xmin", in: ":20:"},
	{name: "missing xmax", in: "10::"},
	{name: "xmin not a number", in: "a:20:"},
	{name: "xmax not a number", in: "10:b:"},
	{name: "xip not a number", in: "10:20:x"},
	{name: "trailing comma", in: "10:20:12,"},
	{name: "leading comma", in: "10:20:,12"},
	{name: "negative", in: "-1:20:"},
	{name: "space", in: "10:20: 12"},
	{name: "semicolon", in: "10:20:12;15"},
	{name: "over 64 bits", in: "18446744073709551616:18446744073709551616:"},
}

func TestParseSnapshot(t *testing.T) {
	for _, tt := range snapshotTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pg.ParseSnapshot(tt.in)
			if err != nil {
				t.Fatalf("ParseSnapshot(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseSnapshot(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
	for _, tt := range invalidSnapshotTests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := pg.ParseSnapshot(tt.in); err == nil {
				t.Fatalf("ParseSnapshot(%q) = %v, nil; want an error", tt.in, got)
			}
		})
	}
}

// formatSnapshot is the text form of pg_snapshot.
func formatSnapshot(s pg.Snapshot) string {
	xip := make([]string, len(s.Xip))
	for i, x := range s.Xip {
		xip[i] = strconv.FormatUint(x, 10)
	}
	return fmt.Sprintf("%d:%d:%s", s.Xmin, s.Xmax, strings.Join(xip, ","))
}

// FuzzParseSnapshot checks that ParseSnapshot never panics and that what it
// accepts survives formatting and parsing again.
func FuzzParseSnapshot(f *testing.F) {
	for _, tt := range snapshotTests {
		f.Add(tt.in)
	}
	for _, tt := range invalidSnapshotTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		snap, err := pg.ParseSnapshot(s)
		if err != nil {
			return
		}
		text := formatSnapshot(snap)
		back, err := pg.ParseSnapshot(text)
		if err != nil {
			t.Fatalf("ParseSnapshot(%q) = %v; ParseSnapshot(%q) = %v, %v", s, snap, text, back, err)
		}
		if diff := cmp.Diff(snap, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("ParseSnapshot(%q) then ParseSnapshot(%q) mismatch (-first +second):\n%s", s, text, diff)
		}
	})
}
