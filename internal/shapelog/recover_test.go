package shapelog_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/protocol"
)

// recoverThreshold puts chunk boundaries inside transactions of history.
const recoverThreshold = 160

// history is the sequence of transactions the recovery tests write.
func history() [][]rec {
	return [][]rec{
		txn(100, 3, 20),
		txn(200, 1, 60),
		txn(300, 5, 30),
		txn(400, 2, 10),
		txn(500, 4, 40),
	}
}

// reference is a log that never crashed.
type reference struct {
	file   []byte            // changes.log
	bodies []string          // read from -1
	ends   []protocol.Offset // chunk ends read from -1
}

// buildReference writes txs in one go, syncing after each transaction.
func buildReference(t *testing.T, threshold int64, txs [][]rec) reference {
	t.Helper()
	l, dir := newLog(t, threshold)
	for _, tx := range txs {
		commit(t, l, tx)
	}
	var ref reference
	ref.bodies, ref.ends = mustWalk(t, l, protocol.BeforeAll)
	ref.file = readFile(t, dir, "changes.log")
	return ref
}

// checkSameAsReference checks that the log in dir reads and is stored
// exactly as ref.
func checkSameAsReference(t *testing.T, l *shapelog.Log, dir string, ref reference) {
	t.Helper()
	bodies, ends := mustWalk(t, l, protocol.BeforeAll)
	if diff := cmp.Diff(ref.bodies, bodies); diff != "" {
		t.Errorf("bodies differ from a log that never crashed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ref.ends, ends); diff != "" {
		t.Errorf("chunk ends differ from a log that never crashed (-want +got):\n%s", diff)
	}
	if file := readFile(t, dir, "changes.log"); !bytes.Equal(file, ref.file) {
		t.Errorf("changes.log differs from a log that never crashed: %d bytes, want %d", len(file), len(ref.file))
	}
}

// TestOpenRecovers damages a log the way a crash can and checks that Open
// cuts it back to the last committed transaction before the damage, serves
// exactly the committed records, and that replaying the lost transactions
// gives a log identical to one that never crashed: same bytes, same chunks.
func TestOpenRecovers(t *testing.T) {
	txs := history()
	ref := buildReference(t, recoverThreshold, txs)

	// lastRecordPos is where the last record of tx starts in changes.log
	// when transactions txs[:k+1] are committed.
	lastRecordPos := func(k int) int64 {
		all := txns(txs[:k+1]...)
		return encodedSize(all[:len(all)-1])
	}
	tests := []struct {
		name      string
		empty     bool // damage an empty log, not one with 3 transactions
		committed int  // transactions that survive
		damage    func(t *testing.T, l *shapelog.Log, path string)
	}{
		{
			name:      "clean close",
			committed: 3,
			damage:    func(t *testing.T, l *shapelog.Log, path string) {},
		},
		{
			name:      "nothing committed",
			empty:     true,
			committed: 0,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				appendAll(t, l, txs[0][:2])
				if err := l.Flush(); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:      "partial transaction flushed",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				appendAll(t, l, txs[3][:1])
				if err := l.Flush(); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name:      "partial transaction written by a full buffer",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				size := fileSize(t, path)
				big := strings.Repeat("b", 64<<10)
				for i := range 5 {
					r := rec{Off: off(400, uint64(i)), Body: `{"big":"` + big + `"}`}
					appendAll(t, l, []rec{r})
				}
				if fileSize(t, path) == size {
					t.Fatalf("appending over 256 KiB wrote nothing to the file; the test needs a write")
				}
			},
		},
		{
			name:      "buffered transaction lost",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				appendAll(t, l, txs[3]) // with FlagLast, but never flushed
			},
		},
		{
			name:      "last record torn in its body",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				commit(t, l, txs[3])
				truncate(t, path, fileSize(t, path)-5)
			},
		},
		{
			name:      "last record torn in its header",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				commit(t, l, txs[3])
				truncate(t, path, lastRecordPos(3)+10)
			},
		},
		{
			name:      "only the first record of a transaction written",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				commit(t, l, txs[3])
				truncate(t, path, lastRecordPos(3))
			},
		},
		{
			name:      "byte flipped in the last record's body",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				commit(t, l, txs[3])
				flip(t, path, fileSize(t, path)-3)
			},
		},
		{
			name:      "byte flipped in the last record's offset",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				commit(t, l, txs[3])
				flip(t, path, lastRecordPos(3)+4+4+8+7)
			},
		},
		{
			name:      "last record's flags flipped",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				commit(t, l, txs[3])
				flip(t, path, lastRecordPos(3)+4+4+8+8)
			},
		},
		{
			name:      "last record's length flipped",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				commit(t, l, txs[3])
				flip(t, path, lastRecordPos(3)+3)
			},
		},
		{
			name:      "zeros after the log",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				appendBytes(t, path, make([]byte, 4096))
			},
		},
		{
			name:      "garbage after the log",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				appendBytes(t, path, []byte("\x00\x00\x00\x02garbage that is no record at all"))
			},
		},
		{
			name:      "committed record repeated after the log",
			committed: 3,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				appendBytes(t, path, data[lastRecordPos(2):])
			},
		},
		{
			name:      "damage inside an earlier transaction loses what follows",
			committed: 1,
			damage: func(t *testing.T, l *shapelog.Log, path string) {
				flip(t, path, encodedSize(txs[0])+headerSize+2)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, dir := newLog(t, recoverThreshold)
			path := filepath.Join(dir, "changes.log")
			if !tt.empty {
				for _, tx := range txs[:3] {
					commit(t, l, tx)
				}
			}
			tt.damage(t, l, path)
			if err := l.Close(); err != nil { // the crash
				t.Fatal(err)
			}

			l = openLog(t, dir, recoverThreshold)
			want := txns(txs[:tt.committed]...)
			bodies, _ := mustWalk(t, l, protocol.BeforeAll)
			if diff := cmp.Diff(recBodies(want), bodies); diff != "" {
				t.Errorf("after Open, reading from -1 (-want +got):\n%s", diff)
			}
			wantHead, wantHas := off(0, 0), false
			if len(want) > 0 {
				wantHead, wantHas = want[len(want)-1].Off, true
			}
			if head, _ := l.Head(); head != wantHead {
				t.Errorf("Head() after Open = %v, want %v", head, wantHead)
			}
			if last, ok := l.LastOffset(); ok != wantHas || (ok && last != wantHead) {
				t.Errorf("LastOffset() after Open = %v, %t; want %v, %t", last, ok, wantHead, wantHas)
			}
			if size := fileSize(t, path); size != encodedSize(want) {
				t.Errorf("changes.log after Open has %d bytes, want %d: the torn tail is not cut", size, encodedSize(want))
			}
			if l.Dirty() {
				t.Errorf("Dirty() after Open = true, want false")
			}

			// Replication replays what was lost.
			for _, tx := range txs[tt.committed:] {
				commit(t, l, tx)
			}
			checkSameAsReference(t, l, dir, ref)

			// And the replayed log reopens the same.
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			checkSameAsReference(t, openLog(t, dir, recoverThreshold), dir, ref)
		})
	}
}

// TestRollback checks that records appended after a checkpoint disappear
// on Rollback, buffered or already written to the file, and that the log
// then continues as if they had never been appended.
func TestRollback(t *testing.T) {
	txs := history()
	ref := buildReference(t, recoverThreshold, txs)
	// interrupted is a transaction at T3's offsets that never commits;
	// 40 KiB bodies, so that 7 of them fill the 256 KiB write buffer.
	interrupted := func(n int) []rec {
		var recs []rec
		for i := range n {
			body := `{"interrupted":"` + strings.Repeat("b", 40<<10+i) + `"}`
			recs = append(recs, rec{Off: off(300, uint64(i)), Body: body})
		}
		return recs
	}
	tests := []struct {
		name string
		// before are the transactions committed before the checkpoint;
		// pending are appended (not synced) before it.
		before  int
		pending []rec
		// taken back after the checkpoint
		rolled []rec
		toFile bool // rolled reaches the file
	}{
		{name: "buffered", before: 2, rolled: interrupted(3)[:2]},
		{name: "written to the file", before: 2, rolled: interrupted(8), toFile: true},
		{name: "from an empty log, buffered", before: 0, rolled: txns(txs[0][:2])},
		{name: "from an empty log, written to the file", before: 0, rolled: interrupted(8), toFile: true},
		{name: "committed transaction still buffered", before: 1, pending: txs[1], rolled: interrupted(8), toFile: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, dir := newLog(t, recoverThreshold)
			path := filepath.Join(dir, "changes.log")
			for _, tx := range txs[:tt.before] {
				commit(t, l, tx)
			}
			next := tt.before
			if tt.pending != nil {
				appendAll(t, l, tt.pending)
				next++
			}
			head, ch := l.Head()
			lastOff, hasLast := l.LastOffset()
			dirty := l.Dirty()
			size := fileSize(t, path)

			ck := l.Checkpoint()
			appendAll(t, l, tt.rolled)
			if grew := fileSize(t, path) > size; grew != tt.toFile {
				t.Fatalf("appending %d bytes changed changes.log's size: %t, want %t", encodedSize(tt.rolled), grew, tt.toFile)
			}
			if err := l.Rollback(ck); err != nil {
				t.Fatalf("Rollback: %v", err)
			}

			if got, ok := l.LastOffset(); got != lastOff || ok != hasLast {
				t.Errorf("LastOffset() after Rollback = %v, %t; want %v, %t", got, ok, lastOff, hasLast)
			}
			if l.Dirty() != dirty {
				t.Errorf("Dirty() after Rollback = %t, want %t", l.Dirty(), dirty)
			}
			if got, _ := l.Head(); got != head || closed(ch) {
				t.Errorf("Head() after Rollback = %v (channel closed: %t), want %v, open", got, closed(ch), head)
			}
			// The file holds nothing appended after the checkpoint.
			kept := encodedSize(txns(txs[:tt.before]...)) + encodedSize(tt.pending)
			if got := fileSize(t, path); got > kept {
				t.Errorf("changes.log after Rollback has %d bytes, want at most %d", got, kept)
			}

			// The log continues with the rest of the history; the same
			// offsets as the rolled-back records are accepted.
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			for _, tx := range txs[next:] {
				commit(t, l, tx)
			}
			checkSameAsReference(t, l, dir, ref)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			checkSameAsReference(t, openLog(t, dir, recoverThreshold), dir, ref)
		})
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flip(t *testing.T, path string, at int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[at] ^= 0x40
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRecoversLargeLog recovers a log that spans many points of the
// sparse seek index and checks that reads from every offset after Open and
// replay equal those of a log that never crashed.
func TestOpenRecoversLargeLog(t *testing.T) {
	const threshold = 1000
	var txs [][]rec
	for k := range 200 {
		txs = append(txs, txn(int64(1000+10*k), 1+k%5, (k*61)%500))
	}
	all := txns(txs...)
	refLog, _ := newLog(t, threshold)
	for _, tx := range txs {
		commit(t, refLog, tx)
	}

	l, dir := newLog(t, threshold)
	for _, tx := range txs[:150] {
		commit(t, l, tx)
	}
	appendAll(t, l, txs[150][:len(txs[150])-1])
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir, threshold)
	committed := txns(txs[:150]...)
	if size := encodedSize(committed); size < 4*16<<10 {
		t.Fatalf("the committed part has %d bytes; the test needs several index points", size)
	}
	checkLog(t, l, threshold)
	for _, tx := range txs[150:] {
		commit(t, l, tx)
	}

	froms := []protocol.Offset{protocol.BeforeAll, protocol.SnapshotEnd}
	for _, r := range all {
		froms = append(froms, r.Off, off(r.Off.Tx, r.Off.Op+1), off(r.Off.Tx-1, 0))
	}
	for _, from := range froms {
		want, wantEnd, err := read(refLog, from)
		if err != nil {
			t.Fatal(err)
		}
		got, end, err := read(l, from)
		if err != nil {
			t.Fatal(err)
		}
		if end != wantEnd || !cmp.Equal(got, want) {
			t.Fatalf("after recovery and replay, AppendChanges(nil, %v) ends at %v with %d records; a log that never crashed gives %v with %d", from, end, len(got), wantEnd, len(want))
		}
	}
}
