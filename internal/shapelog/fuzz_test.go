package shapelog_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/protocol"
)

// FuzzOpen damages a valid changes.log, truncating it at cut and XOR-ing
// mask into it at position at, and checks that Open never panics or fails,
// and that the log it serves is the longest prefix of the written records
// that ends a transaction before the first damaged byte: never a record
// that was not written, never less than what survived.
func FuzzOpen(f *testing.F) {
	txs := history()
	written := txns(txs...)

	// A valid log to damage.
	src := f.TempDir()
	{
		l, err := shapelog.Create(src, shapelog.Options{ChunkThreshold: recoverThreshold})
		if err != nil {
			f.Fatal(err)
		}
		sw, err := l.NewSnapshotWriter()
		if err != nil {
			f.Fatal(err)
		}
		if err := sw.Add([]byte(snapshotRow)); err != nil {
			f.Fatal(err)
		}
		if err := sw.Finish([]byte(snapshotEnd)); err != nil {
			f.Fatal(err)
		}
		for _, tx := range txs {
			commit(f, l, tx)
		}
		if err := l.Close(); err != nil {
			f.Fatal(err)
		}
	}
	orig, err := os.ReadFile(filepath.Join(src, "changes.log"))
	if err != nil {
		f.Fatal(err)
	}
	if int64(len(orig)) != encodedSize(written) {
		f.Fatalf("changes.log has %d bytes, want %d", len(orig), encodedSize(written))
	}
	snapshot, err := os.ReadFile(filepath.Join(src, "snapshot.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(src, "snapshot.idx"))
	if err != nil {
		f.Fatal(err)
	}

	// Seeds: the damage of TestOpenRecovers, and damage at every record
	// boundary.
	size := uint32(len(orig))
	f.Add(size, uint32(0), []byte(nil))           // intact
	f.Add(uint32(0), uint32(0), []byte(nil))      // empty
	f.Add(size-5, uint32(0), []byte(nil))         // torn body
	f.Add(size, size-3, []byte{0x40})             // flipped body byte
	f.Add(size, size-40, []byte{0, 0, 0, 0, 1})   // flipped length/crc
	f.Add(size, uint32(0), []byte{0, 0, 0, 0x7f}) // first record's length
	var pos uint32
	for _, r := range written {
		f.Add(pos+10, uint32(0), []byte(nil))
		f.Add(size, pos+24, []byte{1})
		pos += uint32(headerSize + len(r.Body))
		f.Add(pos, uint32(0), []byte(nil))
	}

	f.Fuzz(func(t *testing.T, cut, at uint32, mask []byte) {
		data := append([]byte(nil), orig[:min(int(cut), len(orig))]...)
		damaged := len(data) // first byte that differs from what was written
		for i, m := range mask {
			p := int(at) + i
			if p >= len(data) {
				break
			}
			if m != 0 {
				data[p] ^= m
				damaged = min(damaged, p)
			}
		}
		// Expected: every transaction that ends before the damage.
		var want []rec
		var end int
		for i, r := range written {
			end += headerSize + len(r.Body)
			if end > damaged {
				break
			}
			if r.Flags&shapelog.FlagLast != 0 {
				want = written[:i+1]
			}
		}

		dir := t.TempDir()
		for name, b := range map[string][]byte{"changes.log": data, "snapshot.jsonl": snapshot, "snapshot.idx": index} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		l := openLog(t, dir, recoverThreshold)
		bodies, ends, err := walk(l, protocol.BeforeAll)
		if err != nil {
			t.Fatalf("after Open, reading from -1: %v", err)
		}
		if diff := cmp.Diff(recBodies(want), bodies); diff != "" {
			t.Fatalf("after Open of a log damaged from byte %d, reading from -1 (-want +got):\n%s", damaged, diff)
		}
		if diff := cmp.Diff(walkEnds(want, recoverThreshold), ends); diff != "" {
			t.Fatalf("after Open of a log damaged from byte %d, chunk ends (-want +got):\n%s", damaged, diff)
		}
		if got := fileSize(t, filepath.Join(dir, "changes.log")); got != encodedSize(want) {
			t.Fatalf("after Open of a log damaged from byte %d, changes.log has %d bytes, want %d", damaged, got, encodedSize(want))
		}
		// The log takes the next transaction.
		rest := txns(txs...)[len(want):]
		if len(rest) > 0 {
			var next []rec
			for _, r := range rest {
				next = append(next, r)
				if r.Flags&shapelog.FlagLast != 0 {
					break
				}
			}
			commit(t, l, next)
			got, _ := mustWalk(t, l, protocol.BeforeAll)
			if diff := cmp.Diff(recBodies(append(want[:len(want):len(want)], next...)), got); diff != "" {
				t.Fatalf("after Open and one more transaction, reading from -1 (-want +got):\n%s", diff)
			}
		}
	})
}
