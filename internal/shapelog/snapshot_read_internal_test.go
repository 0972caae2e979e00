package shapelog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// appendSnapshotChunkV1 is AppendSnapshotChunk as it was before snapshot
// chunks were streamed: the whole chunk read into memory, newlines made
// commas and the last one dropped. SnapshotChunk must read exactly these
// bytes.
func (l *Log) appendSnapshotChunkV1(dst []byte, i int) ([]byte, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return dst, ErrClosed
	}
	if i < 0 || i >= len(l.snapEnds) {
		l.mu.RUnlock()
		return dst, fmt.Errorf("snapshot chunk %d of %d", i, len(l.snapEnds))
	}
	start := int64(0)
	if i > 0 {
		start = l.snapEnds[i-1]
	}
	end := l.snapEnds[i]
	l.mu.RUnlock()

	f, err := os.Open(filepath.Join(l.dir, snapshotFile))
	if err != nil {
		return dst, fmt.Errorf("open snapshot: %w", err)
	}
	defer f.Close()
	n := int(end - start)
	at := len(dst)
	dst = append(dst, make([]byte, n)...)
	if _, err := f.ReadAt(dst[at:], start); err != nil {
		return dst[:at], fmt.Errorf("read snapshot chunk %d: %w", i, err)
	}
	chunk := dst[at:]
	for j, c := range chunk {
		if c == '\n' {
			chunk[j] = ','
		}
	}
	if len(chunk) > 0 {
		dst = dst[:len(dst)-1]
	}
	return dst, nil
}

// FuzzSnapshotChunk writes the lines of data as a snapshot with the given
// chunk threshold and checks that every way of reading each chunk (Read
// with reads of any size, WriteTo, AppendSnapshotChunk) gives the bytes
// the in-memory reader gave, and that Size announces their length.
func FuzzSnapshotChunk(f *testing.F) {
	f.Add([]byte(`{"a":1}`+"\n"+`{"b":"x,y"}`+"\n"+`{"c":[1,2]}`), uint16(8), uint8(3))
	f.Add([]byte(""), uint16(1), uint8(1))
	f.Add([]byte("\n\n\n"), uint16(1), uint8(0))
	f.Add(bytes.Repeat([]byte(`{"key":"k","value":{"id":"1"}}`+"\n"), 100), uint16(200), uint8(255))
	f.Add([]byte("one long line without any newline at all"), uint16(1000), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, threshold uint16, readSize uint8) {
		l := writeSnapshot(t, bytes.Split(data, []byte("\n")), int64(threshold)+1)
		for i := range l.SnapshotChunks() {
			want, err := l.appendSnapshotChunkV1([]byte("prefix"), i)
			if err != nil {
				t.Fatalf("appendSnapshotChunkV1(%d): %v", i, err)
			}
			want = want[len("prefix"):]

			got, err := l.AppendSnapshotChunk([]byte("prefix"), i)
			if err != nil || string(got[:len("prefix")]) != "prefix" || !bytes.Equal(got[len("prefix"):], want) {
				t.Fatalf("AppendSnapshotChunk(prefix, %d) = %q, %v; want prefix%q", i, got, err, want)
			}

			c := openChunk(t, l, i)
			if c.Size() != int64(len(want)) {
				t.Errorf("chunk %d: Size() = %d, want %d", i, c.Size(), len(want))
			}
			var r io.Reader = c
			if readSize > 0 {
				r = &limitedReads{r: c, n: int(readSize)}
			}
			got, err = io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("chunk %d read %d bytes at a time = %q, %v; want %q", i, readSize, got, err, want)
			}

			c = openChunk(t, l, i)
			var buf bytes.Buffer
			n, err := c.WriteTo(&buf)
			if err != nil || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("chunk %d WriteTo = %d, %v, %q; want %d, nil, %q", i, n, err, buf.Bytes(), len(want), want)
			}
			if err := iotest.TestReader(openChunk(t, l, i), want); err != nil {
				t.Fatalf("chunk %d: %v", i, err)
			}
		}
	})
}

// TestSnapshotChunkFileShort checks that a chunk whose bytes are missing
// from the snapshot file fails to open, so the server can still answer
// with an error, and that a file cut while a chunk is read gives
// io.ErrUnexpectedEOF, never a short body passed off as complete.
func TestSnapshotChunkFileShort(t *testing.T) {
	l := writeSnapshot(t, [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}, 1)
	path := filepath.Join(l.dir, snapshotFile)
	c := openChunk(t, l, 1)
	if err := os.Truncate(path, l.snapEnds[0]+2); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a chunk whose file was cut: %v, want %v", err, io.ErrUnexpectedEOF)
	}
	if c, err := l.OpenSnapshotChunk(1); err == nil {
		c.Close()
		t.Errorf("OpenSnapshotChunk(1) of a cut file succeeded, want an error")
	}
	if c, err := l.OpenSnapshotChunk(0); err != nil {
		t.Errorf("OpenSnapshotChunk(0), whose bytes are all there: %v", err)
	} else {
		c.Close()
	}
}

// TestSnapshotChunkOutlivesLog checks that an open chunk reads to the end
// after the log is closed and its directory removed, as when a shape is
// deleted while a response streams; opening one then fails with ErrClosed.
func TestSnapshotChunkOutlivesLog(t *testing.T) {
	l := writeSnapshot(t, [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}, 1<<20)
	want, err := l.AppendSnapshotChunk(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := openChunk(t, l, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(l.dir); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(c); err != nil || !bytes.Equal(got, want) {
		t.Errorf("reading an open chunk after the log was removed = %q, %v; want %q", got, err, want)
	}
	if _, err := l.OpenSnapshotChunk(0); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenSnapshotChunk(0) after Close: %v, want %v", err, ErrClosed)
	}
}

// writeSnapshot writes a log whose snapshot holds rows and then a
// snapshot-end message, with the given chunk threshold.
func writeSnapshot(t *testing.T, rows [][]byte, threshold int64) *Log {
	t.Helper()
	dir := t.TempDir()
	l, err := Create(dir, Options{ChunkThreshold: threshold})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	sw, err := l.NewSnapshotWriter()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := sw.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Finish([]byte(`{"headers":{"control":"snapshot-end"}}`)); err != nil {
		t.Fatal(err)
	}
	return l
}

func openChunk(t *testing.T, l *Log, i int) *SnapshotChunk {
	t.Helper()
	c, err := l.OpenSnapshotChunk(i)
	if err != nil {
		t.Fatalf("OpenSnapshotChunk(%d): %v", i, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// limitedReads passes at most n bytes to each Read of r.
type limitedReads struct {
	r io.Reader
	n int
}

func (l *limitedReads) Read(p []byte) (int, error) {
	if len(p) > l.n {
		p = p[:l.n]
	}
	return l.r.Read(p)
}
