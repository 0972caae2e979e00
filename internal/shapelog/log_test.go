package shapelog_test

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/protocol"
)

// fixed22 is a 22-byte body, so that with a threshold of 60 every third
// record closes a chunk (66 ≥ 60, 44 < 60).
func fixed22(tx int64, i, n int) string {
	b := `{"tx":` + itoa(tx) + `,"i":` + itoa(int64(i)) + `,"n":` + itoa(int64(n)) + `}`
	if len(b) != 22 {
		panic("fixed22: " + b)
	}
	return b
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestAppendChanges reads the log from offsets before, between, at and
// after records. A read returns the records after the offset up to the end
// of the chunk holding the first of them, and the last one's offset
// (protocol §6.2).
func TestAppendChanges(t *testing.T) {
	const threshold = 60
	// Three transactions; chunks close after r2 and r5 (inside T3), and
	// r6, r7 form the open chunk.
	r := []rec{
		{Off: off(100, 0), Body: fixed22(100, 0, 3)},                           // r0 T1
		{Off: off(100, 2), Body: fixed22(100, 1, 3)},                           // r1
		{Off: off(100, 4), Body: fixed22(100, 2, 3), Flags: shapelog.FlagLast}, // r2 chunk end
		{Off: off(200, 0), Body: fixed22(200, 0, 1), Flags: shapelog.FlagLast}, // r3 T2
		{Off: off(300, 0), Body: fixed22(300, 0, 4)},                           // r4 T3
		{Off: off(300, 1), Body: fixed22(300, 1, 4)},                           // r5 chunk end
		{Off: off(300, 4), Body: fixed22(300, 2, 4)},                           // r6
		{Off: off(300, 6), Body: fixed22(300, 3, 4), Flags: shapelog.FlagLast}, // r7
	}
	l, _ := newLog(t, threshold)
	commit(t, l, r[:3])
	commit(t, l, r[3:4])
	commit(t, l, r[4:])

	tests := []struct {
		name string
		from protocol.Offset
		want []rec // records returned; the end offset is the last one's
	}{
		{name: "from before all", from: protocol.BeforeAll, want: r[0:3]},
		{name: "from the end of the snapshot", from: protocol.SnapshotEnd, want: r[0:3]},
		{name: "from a snapshot chunk", from: off(0, 3), want: r[0:3]},
		{name: "from before the first transaction", from: off(99, 7), want: r[0:3]},
		{name: "from the first record", from: r[0].Off, want: r[1:3]},
		{name: "from between two records", from: off(100, 1), want: r[1:3]},
		{name: "from the last record of a chunk", from: r[2].Off, want: r[3:6]},
		{name: "from after a transaction", from: off(100, protocol.OpInf), want: r[3:6]},
		{name: "from between transactions", from: off(150, 0), want: r[3:6]},
		{name: "chunk spans transactions", from: r[3].Off, want: r[4:6]},
		{name: "from inside a chunk", from: r[4].Off, want: r[5:6]},
		{name: "open chunk ends at the latest offset", from: r[5].Off, want: r[6:8]},
		{name: "from inside the open chunk", from: r[6].Off, want: r[7:8]},
		{name: "from the latest offset", from: r[7].Off, want: nil},
		{name: "from after the latest transaction", from: off(300, protocol.OpInf), want: nil},
		{name: "from beyond the log", from: off(1000, 0), want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, end, n, err := l.AppendChanges([]byte("["), tt.from)
			if err != nil {
				t.Fatalf("AppendChanges(%q, %v): %v", "[", tt.from, err)
			}
			wantEnd := tt.from
			if len(tt.want) > 0 {
				wantEnd = tt.want[len(tt.want)-1].Off
			}
			wantOut := "[" + strings.Join(recBodies(tt.want), ",")
			if string(out) != wantOut || end != wantEnd || n != len(tt.want) {
				t.Errorf("AppendChanges(%q, %v) = %s, %v, %d; want %s, %v, %d", "[", tt.from, out, end, n, wantOut, wantEnd, len(tt.want))
			}
		})
	}

	if head, _ := l.Head(); head != r[7].Off {
		t.Errorf("Head() = %v, want %v", head, r[7].Off)
	}
	if last, ok := l.LastOffset(); last != r[7].Off || !ok {
		t.Errorf("LastOffset() = %v, %t; want %v, true", last, ok, r[7].Off)
	}
}

// TestChunkBoundariesFollowRecords checks the log chunk rule over many
// records of varied sizes, across the sparse index's spacing.
func TestChunkBoundariesFollowRecords(t *testing.T) {
	for _, threshold := range []int64{0, 1, 100, 1000, 10_000, 1 << 30} {
		t.Run(itoa(threshold), func(t *testing.T) {
			l, _ := newLog(t, threshold)
			var all []rec
			for k := range 300 {
				tx := txn(int64(1000+10*k), 1+k%4, (k*37)%300)
				commit(t, l, tx)
				all = append(all, tx...)
			}
			bodies, ends := mustWalk(t, l, protocol.BeforeAll)
			if diff := cmp.Diff(recBodies(all), bodies); diff != "" {
				t.Errorf("bodies read from -1 (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(walkEnds(all, threshold), ends); diff != "" {
				t.Errorf("chunk ends read from -1 (-want +got):\n%s", diff)
			}
			// From every record's offset, a read returns the rest of its
			// chunk: up to the first chunk end after it.
			// (With one big chunk every read goes to the end of the log, so
			// only some offsets are tried.)
			chunkEnd := walkEnds(all, threshold)
			stride := 1
			if len(chunkEnd) == 1 {
				stride = 23
			}
			for i := 0; i < len(all)-1; i += stride {
				r := all[i]
				j := 0
				for !r.Off.Less(chunkEnd[j]) {
					j++
				}
				got, end, err := read(l, r.Off)
				if err != nil {
					t.Fatal(err)
				}
				if end != chunkEnd[j] || len(got) == 0 || got[0] != all[i+1].Body {
					t.Fatalf("AppendChanges(nil, %v) ends at %v with %d records; want %v, first %s", r.Off, end, len(got), chunkEnd[j], all[i+1].Body)
				}
				// An offset between two records (ops are even) reads the same.
				between := off(r.Off.Tx, r.Off.Op+1)
				got2, end2, err := read(l, between)
				if err != nil {
					t.Fatal(err)
				}
				if end2 != end || !cmp.Equal(got2, got) {
					t.Fatalf("AppendChanges(nil, %v) ends at %v with %d records; want %v, %d records as from %v", between, end2, len(got2), end, len(got), r.Off)
				}
			}
		})
	}
}

// TestReadersSeeOnlySyncedRecords checks that appended records stay
// invisible until published, whether they are buffered or already in the
// file, and that Head's channel announces publication.
func TestReadersSeeOnlySyncedRecords(t *testing.T) {
	l, dir := newLog(t, 1<<30)
	head0, ch0 := l.Head()
	if head0 != off(0, 0) {
		t.Fatalf("Head() of a log with one snapshot chunk = %v, want 0_0", head0)
	}

	t1 := txn(100, 3, 10)
	appendAll(t, l, t1)
	if !l.Dirty() {
		t.Errorf("Dirty() after Append = false, want true")
	}
	if last, _ := l.LastOffset(); last != t1[2].Off {
		t.Errorf("LastOffset() after Append = %v, want %v", last, t1[2].Off)
	}
	checkUnchanged(t, l, head0, ch0, nil)

	if err := l.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	checkUnchanged(t, l, head0, ch0, nil)

	l.Publish()
	if !closed(ch0) {
		t.Errorf("Head()'s channel still open after Publish")
	}
	head1, ch1 := l.Head()
	if head1 != t1[2].Off {
		t.Errorf("Head() after Publish = %v, want %v", head1, t1[2].Off)
	}
	if l.Dirty() {
		t.Errorf("Dirty() after Publish = true, want false")
	}
	if bodies, _ := mustWalk(t, l, protocol.BeforeAll); !cmp.Equal(bodies, recBodies(t1)) {
		t.Errorf("reading from -1 after Publish = %q, want %q", bodies, recBodies(t1))
	}

	// A transaction bigger than the write buffer reaches the file before
	// it is synced; readers still must not see it.
	size1 := fileSize(t, filepath.Join(dir, "changes.log"))
	t2 := txn(200, 40, 8<<10)
	appendAll(t, l, t2)
	if size := fileSize(t, filepath.Join(dir, "changes.log")); size <= size1 {
		t.Fatalf("changes.log has %d bytes after appending %d, want more than %d: the test needs a write to the file", size, encodedSize(t2), size1)
	}
	checkUnchanged(t, l, head1, ch1, t1)

	if err := l.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if !closed(ch1) {
		t.Errorf("Head()'s channel still open after Sync")
	}
	head2, ch2 := l.Head()
	if head2 != t2[len(t2)-1].Off {
		t.Errorf("Head() after Sync = %v, want %v", head2, t2[len(t2)-1].Off)
	}
	if bodies, _ := mustWalk(t, l, protocol.BeforeAll); !cmp.Equal(bodies, recBodies(txns(t1, t2))) {
		t.Errorf("reading from -1 after Sync returns %d records, want %d", len(bodies), len(t1)+len(t2))
	}

	// Close wakes waiting readers, who then get ErrClosed.
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !closed(ch2) {
		t.Errorf("Head()'s channel still open after Close")
	}
	if !l.Closed() {
		t.Errorf("Closed() after Close = false")
	}
	if _, _, _, err := l.AppendChanges(nil, protocol.BeforeAll); !errors.Is(err, shapelog.ErrClosed) {
		t.Errorf("AppendChanges after Close: %v, want %v", err, shapelog.ErrClosed)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
}

// checkUnchanged checks that readers still see head, an open channel and
// exactly the records visible.
func checkUnchanged(t *testing.T, l *shapelog.Log, head protocol.Offset, ch <-chan struct{}, visible []rec) {
	t.Helper()
	if got, _ := l.Head(); got != head {
		t.Errorf("Head() = %v before Sync, want %v", got, head)
	}
	if closed(ch) {
		t.Errorf("Head()'s channel closed before Sync")
	}
	bodies, _ := mustWalk(t, l, protocol.BeforeAll)
	if diff := cmp.Diff(recBodies(visible), bodies); diff != "" {
		t.Errorf("reading from -1 before Sync (-want +got):\n%s", diff)
	}
	if len(visible) > 0 {
		last := visible[len(visible)-1].Off
		if got, end, err := read(l, last); err != nil || len(got) != 0 || end != last {
			t.Errorf("AppendChanges(nil, %v) before Sync = %d records, %v, %v; want none", last, len(got), end, err)
		}
	}
}

func TestSyncWithoutRecordsKeepsChannel(t *testing.T) {
	l, _ := newLog(t, 100)
	_, ch := l.Head()
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if closed(ch) {
		t.Errorf("Head()'s channel closed by a Sync with nothing new")
	}
	if l.Dirty() {
		t.Errorf("Dirty() of an empty log = true")
	}
}

// TestAppendOutOfOrder checks that offsets strictly increase: an offset
// not after the last appended one is refused and leaves the log as it was.
func TestAppendOutOfOrder(t *testing.T) {
	tests := []struct {
		name string
		last protocol.Offset
		next protocol.Offset
	}{
		{name: "same offset", last: off(100, 4), next: off(100, 4)},
		{name: "earlier op", last: off(100, 4), next: off(100, 2)},
		{name: "earlier transaction", last: off(100, 4), next: off(99, 8)},
		{name: "numeric op after inf", last: off(100, protocol.OpInf), next: off(100, 8)},
		{name: "snapshot offset", last: off(100, 0), next: off(0, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newLog(t, 100)
			first := rec{Off: tt.last, Flags: shapelog.FlagLast, Body: `{"first":true}`}
			commit(t, l, []rec{first})
			err := l.Append(tt.next, shapelog.FlagLast, []byte(`{"refused":true}`))
			if !errors.Is(err, shapelog.ErrOutOfOrder) {
				t.Fatalf("Append(%v) after %v = %v, want %v", tt.next, tt.last, err, shapelog.ErrOutOfOrder)
			}
			if last, _ := l.LastOffset(); last != tt.last {
				t.Errorf("LastOffset() after a refused Append = %v, want %v", last, tt.last)
			}
			if l.Dirty() {
				t.Errorf("Dirty() after a refused Append = true, want false")
			}
			// The log goes on after the refusal.
			next := rec{Off: off(tt.last.Tx+1, 0), Flags: shapelog.FlagLast, Body: `{"next":true}`}
			commit(t, l, []rec{next})
			bodies, _ := mustWalk(t, l, protocol.BeforeAll)
			if want := []string{first.Body, next.Body}; !cmp.Equal(bodies, want) {
				t.Errorf("reading from -1 = %q, want %q", bodies, want)
			}
		})
	}
}

func TestAppendOutOfOrderAfterOpen(t *testing.T) {
	l, dir := newLog(t, 100)
	t1 := txn(100, 3, 0)
	commit(t, l, t1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, 100)
	if last, ok := l.LastOffset(); last != t1[2].Off || !ok {
		t.Errorf("LastOffset() after Open = %v, %t; want %v, true", last, ok, t1[2].Off)
	}
	for _, o := range []protocol.Offset{t1[0].Off, t1[2].Off} {
		if err := l.Append(o, shapelog.FlagLast, []byte(`{}`)); !errors.Is(err, shapelog.ErrOutOfOrder) {
			t.Errorf("Append(%v) after reopening a log ending at %v = %v, want %v", o, t1[2].Off, err, shapelog.ErrOutOfOrder)
		}
	}
}

// TestEachChange checks that EachChange hands over each record with its
// own offset, in order, over the same range AppendChanges reads.
func TestEachChange(t *testing.T) {
	const threshold = 60
	recs := txns(
		[]rec{
			{Off: off(100, 0), Body: fixed22(100, 0, 2)},
			{Off: off(100, 2), Body: fixed22(100, 1, 2), Flags: shapelog.FlagLast},
		},
		[]rec{
			{Off: off(200, 0), Body: fixed22(200, 0, 2)}, // chunk end
			{Off: off(200, 1), Body: fixed22(200, 1, 2), Flags: shapelog.FlagLast},
		},
	)
	l, _ := newLog(t, threshold)
	commit(t, l, recs[:2])
	commit(t, l, recs[2:])
	tests := []struct {
		from protocol.Offset
		want []rec
	}{
		{from: protocol.BeforeAll, want: recs[:3]},
		{from: off(100, 1), want: recs[1:3]},
		{from: recs[2].Off, want: recs[3:]},
		{from: recs[3].Off, want: nil},
	}
	for _, tt := range tests {
		var got []rec
		end, err := l.EachChange(tt.from, func(o protocol.Offset, body []byte) {
			got = append(got, rec{Off: o, Body: string(body)})
		})
		wantEnd := tt.from
		if len(tt.want) > 0 {
			wantEnd = tt.want[len(tt.want)-1].Off
		}
		if err != nil || end != wantEnd {
			t.Errorf("EachChange(%v, fn) = %v, %v; want %v, nil", tt.from, end, err, wantEnd)
		}
		// Flags are not handed over.
		var want []rec
		for _, r := range tt.want {
			want = append(want, rec{Off: r.Off, Body: r.Body})
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("EachChange(%v, fn) calls fn with (-want +got):\n%s", tt.from, diff)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.EachChange(protocol.BeforeAll, func(protocol.Offset, []byte) {}); !errors.Is(err, shapelog.ErrClosed) {
		t.Errorf("EachChange after Close: %v, want %v", err, shapelog.ErrClosed)
	}
}
