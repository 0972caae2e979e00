package shapelog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/protocol"
)

// row returns a snapshot row message whose JSON line (with its newline) is
// n bytes long.
func row(n int) string {
	const head, tail = `{"r":"`, `"}`
	return head + strings.Repeat("x", n-1-len(head)-len(tail)) + tail
}

// snapshotChunkTests follow protocol §6.1: each line adds len(line)+1; after
// adding a line, if the running total reaches the threshold, the chunk ends
// after it. snapshot-end is added after the last row, so it may be alone.
var snapshotChunkTests = []struct {
	name      string
	threshold int64
	rows      []string
	want      [][]string // messages of each chunk
}{
	{
		name:      "one chunk",
		threshold: 1 << 20,
		rows:      []string{row(10), row(20), row(30)},
		want:      [][]string{{row(10), row(20), row(30), snapshotEnd}},
	},
	{
		name:      "reaching the threshold exactly closes the chunk",
		threshold: 20,
		rows:      []string{row(10), row(10), row(10)},
		want:      [][]string{{row(10), row(10)}, {row(10), snapshotEnd}},
	},
	{
		name:      "one byte short keeps the chunk open",
		threshold: 21,
		rows:      []string{row(10), row(10), row(10)},
		want:      [][]string{{row(10), row(10), row(10)}, {snapshotEnd}},
	},
	{
		name:      "snapshot-end alone in the last chunk",
		threshold: 20,
		rows:      []string{row(10), row(10)},
		want:      [][]string{{row(10), row(10)}, {snapshotEnd}},
	},
	{
		name:      "row bigger than the threshold is a chunk of its own",
		threshold: 20,
		rows:      []string{row(20), row(100), row(10)},
		want:      [][]string{{row(20)}, {row(100)}, {row(10), snapshotEnd}},
	},
	{
		name:      "row bigger than the threshold closes an open chunk",
		threshold: 20,
		rows:      []string{row(10), row(100), row(10)},
		want:      [][]string{{row(10), row(100)}, {row(10), snapshotEnd}},
	},
	{
		name:      "no rows",
		threshold: 1 << 20,
		rows:      nil,
		want:      [][]string{{snapshotEnd}},
	},
	{
		name:      "every message a chunk",
		threshold: 1,
		rows:      []string{row(10), row(11)},
		want:      [][]string{{row(10)}, {row(11)}, {snapshotEnd}},
	},
}

func TestSnapshotChunks(t *testing.T) {
	for _, tt := range snapshotChunkTests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := shapelog.Create(dir, shapelog.Options{ChunkThreshold: tt.threshold})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			t.Cleanup(func() { closeChecked(t, l, tt.threshold) })
			sw, err := l.NewSnapshotWriter()
			if err != nil {
				t.Fatalf("NewSnapshotWriter: %v", err)
			}
			for _, r := range tt.rows {
				if err := sw.Add([]byte(r)); err != nil {
					t.Fatalf("Add(%s): %v", r, err)
				}
			}
			if got := sw.Rows(); got != int64(len(tt.rows)) {
				t.Errorf("Rows() = %d, want %d", got, len(tt.rows))
			}
			if err := sw.Finish([]byte(snapshotEnd)); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			checkSnapshot(t, l, tt.want)

			// The snapshot is the same after reopening.
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			checkSnapshot(t, openLog(t, dir, tt.threshold), tt.want)

			// snapshot.jsonl holds the messages as JSON lines.
			data, err := os.ReadFile(filepath.Join(dir, "snapshot.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Join(append(tt.rows, snapshotEnd), "\n") + "\n"
			if string(data) != want {
				t.Errorf("snapshot.jsonl = %q, want %q", data, want)
			}
		})
	}
}

// checkSnapshot checks the chunks l serves and its head offset.
func checkSnapshot(t *testing.T, l *shapelog.Log, want [][]string) {
	t.Helper()
	if got := l.SnapshotChunks(); got != len(want) {
		t.Fatalf("SnapshotChunks() = %d, want %d", got, len(want))
	}
	for i, msgs := range want {
		out, err := l.AppendSnapshotChunk([]byte("prefix"), i)
		if err != nil {
			t.Fatalf("AppendSnapshotChunk(%q, %d): %v", "prefix", i, err)
		}
		chunk, ok := strings.CutPrefix(string(out), "prefix")
		if !ok {
			t.Fatalf("AppendSnapshotChunk(%q, %d) = %q, lost the prefix", "prefix", i, out)
		}
		got, err := splitArray([]byte(chunk))
		if err != nil {
			t.Fatalf("AppendSnapshotChunk(nil, %d): %v", i, err)
		}
		if diff := cmp.Diff(msgs, got); diff != "" {
			t.Errorf("AppendSnapshotChunk(nil, %d) mismatch (-want +got):\n%s", i, diff)
		}
	}
	for _, i := range []int{-1, len(want)} {
		if out, err := l.AppendSnapshotChunk([]byte("x"), i); err == nil || string(out) != "x" {
			t.Errorf("AppendSnapshotChunk(%q, %d) = %q, %v; want %q and an error", "x", i, out, err, "x")
		}
	}
	// With no changes yet, the latest offset is the last snapshot chunk's.
	wantHead := protocol.Offset{Tx: 0, Op: uint64(len(want) - 1)}
	if head, _ := l.Head(); head != wantHead {
		t.Errorf("Head() = %v, want %v", head, wantHead)
	}
}

func TestAppendSnapshotChunkAfterClose(t *testing.T) {
	l, _ := newLog(t, 1<<20)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendSnapshotChunk(nil, 0); !errors.Is(err, shapelog.ErrClosed) {
		t.Errorf("AppendSnapshotChunk(nil, 0) after Close: %v, want %v", err, shapelog.ErrClosed)
	}
}

// TestOpenIncomplete checks that a shape directory without a complete
// snapshot is reported as such, so the shape is recreated.
func TestOpenIncomplete(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{name: "empty directory", setup: func(t *testing.T, dir string) {}},
		{name: "snapshot never started", setup: func(t *testing.T, dir string) {
			l, err := shapelog.Create(dir, shapelog.Options{ChunkThreshold: 100})
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
		}},
		{name: "snapshot aborted", setup: func(t *testing.T, dir string) {
			l, err := shapelog.Create(dir, shapelog.Options{ChunkThreshold: 100})
			if err != nil {
				t.Fatal(err)
			}
			sw, err := l.NewSnapshotWriter()
			if err != nil {
				t.Fatal(err)
			}
			if err := sw.Add([]byte(snapshotRow)); err != nil {
				t.Fatal(err)
			}
			sw.Abort()
			l.Close()
		}},
		{name: "index missing", setup: func(t *testing.T, dir string) {
			writeLog(t, dir)
			removeFile(t, dir, "snapshot.idx")
		}},
		{name: "index empty", setup: func(t *testing.T, dir string) {
			writeLog(t, dir)
			writeFile(t, dir, "snapshot.idx", nil)
		}},
		{name: "index without chunks", setup: func(t *testing.T, dir string) {
			writeLog(t, dir)
			writeFile(t, dir, "snapshot.idx", []byte{1})
		}},
		{name: "unknown index version", setup: func(t *testing.T, dir string) {
			writeLog(t, dir)
			idx := readFile(t, dir, "snapshot.idx")
			idx[0] = 2
			writeFile(t, dir, "snapshot.idx", idx)
		}},
		{name: "torn index", setup: func(t *testing.T, dir string) {
			writeLog(t, dir)
			idx := readFile(t, dir, "snapshot.idx")
			writeFile(t, dir, "snapshot.idx", idx[:len(idx)-1])
		}},
		{name: "snapshot data shorter than its index", setup: func(t *testing.T, dir string) {
			writeLog(t, dir)
			data := readFile(t, dir, "snapshot.jsonl")
			writeFile(t, dir, "snapshot.jsonl", data[:len(data)-1])
		}},
		{name: "snapshot data missing", setup: func(t *testing.T, dir string) {
			writeLog(t, dir)
			removeFile(t, dir, "snapshot.jsonl")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			l, err := shapelog.Open(dir, shapelog.Options{ChunkThreshold: 100})
			if err == nil {
				l.Close()
			}
			if !errors.Is(err, shapelog.ErrIncomplete) {
				t.Errorf("Open(%q) = %v; want %v", dir, err, shapelog.ErrIncomplete)
			}
		})
	}
}

func TestCreateExisting(t *testing.T) {
	_, dir := newLog(t, 100)
	if l, err := shapelog.Create(dir, shapelog.Options{ChunkThreshold: 100}); err == nil {
		l.Close()
		t.Errorf("Create(%q) over an existing log succeeded; want an error", dir)
	}
}

// writeLog writes a complete, closed log with one transaction into dir.
func writeLog(t *testing.T, dir string) {
	t.Helper()
	l, err := shapelog.Create(dir, shapelog.Options{ChunkThreshold: 100})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := l.NewSnapshotWriter()
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Add([]byte(snapshotRow)); err != nil {
		t.Fatal(err)
	}
	if err := sw.Finish([]byte(snapshotEnd)); err != nil {
		t.Fatal(err)
	}
	commit(t, l, txn(100, 2, 0))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}
