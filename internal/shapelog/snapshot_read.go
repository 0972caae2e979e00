package shapelog

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// snapshotCopyBuffer is the size of the buffer SnapshotChunk.WriteTo
// reads into and writes from: big enough that a 10 MiB chunk takes a few
// dozen system calls, small enough to stay in cache.
const snapshotCopyBuffer = 256 << 10

var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, snapshotCopyBuffer)
	return &b
}}

// SnapshotChunk reads one snapshot chunk as the contents of a JSON array:
// its messages separated by commas, without brackets. It streams from
// the snapshot file, turning each line's newline into a comma on the way
// (JSON text never holds a raw newline, so each newline is a separator)
// and leaving out the last one, so a chunk of any size is served through
// a small buffer. Open one with Log.OpenSnapshotChunk and Close it after.
//
// A SnapshotChunk keeps its file open: it reads the complete chunk even
// if the log is closed or its directory removed meanwhile. It is not safe
// for concurrent use.
type SnapshotChunk struct {
	f        *os.File
	pos, end int64 // next byte to read and end of the chunk in f, last newline excluded
	size     int64
}

// OpenSnapshotChunk opens snapshot chunk i (0-based) for reading. It fails
// with ErrClosed after Close, and with an error when the chunk does not
// exist or the snapshot file cannot hold it, so a caller can still answer
// with an error before it sends anything.
func (l *Log) OpenSnapshotChunk(i int) (*SnapshotChunk, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, ErrClosed
	}
	if i < 0 || i >= len(l.snapEnds) {
		n := len(l.snapEnds)
		l.mu.RUnlock()
		return nil, fmt.Errorf("snapshot chunk %d of %d", i, n)
	}
	start := int64(0)
	if i > 0 {
		start = l.snapEnds[i-1]
	}
	end := l.snapEnds[i]
	l.mu.RUnlock()
	if end <= start {
		return nil, fmt.Errorf("snapshot chunk %d: index says it ends at %d, before it starts at %d", i, end, start)
	}

	f, err := os.Open(filepath.Join(l.dir, snapshotFile))
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read snapshot chunk %d: %w", i, err)
	}
	if st.Size() < end {
		f.Close()
		return nil, fmt.Errorf("read snapshot chunk %d: snapshot file has %d bytes, chunk ends at %d: %w", i, st.Size(), end, io.ErrUnexpectedEOF)
	}
	// Leave out the chunk's last newline.
	return &SnapshotChunk{f: f, pos: start, end: end - 1, size: end - 1 - start}, nil
}

// Size returns how many bytes the chunk reads as in all: the length of
// its comma-separated messages.
func (c *SnapshotChunk) Size() int64 { return c.size }

// Read reads the next bytes of the chunk into p. It returns io.EOF after
// the last byte, and io.ErrUnexpectedEOF if the file ends before the
// chunk does.
func (c *SnapshotChunk) Read(p []byte) (int, error) {
	if c.pos >= c.end {
		return 0, io.EOF
	}
	if rest := c.end - c.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.f.ReadAt(p, c.pos)
	c.pos += int64(n)
	newlinesToCommas(p[:n])
	switch {
	case err == io.EOF && c.pos < c.end:
		return n, fmt.Errorf("read snapshot chunk: %w", io.ErrUnexpectedEOF)
	case err == io.EOF:
		return n, nil
	case err != nil:
		return n, fmt.Errorf("read snapshot chunk: %w", err)
	}
	return n, nil
}

// WriteTo writes the rest of the chunk to w through a pooled buffer. It
// returns the bytes written and the first error reading or writing.
func (c *SnapshotChunk) WriteTo(w io.Writer) (int64, error) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
			if m < n {
				return total, io.ErrShortWrite
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Close closes the chunk's file.
func (c *SnapshotChunk) Close() error { return c.f.Close() }

var _ io.WriterTo = (*SnapshotChunk)(nil)

// grow returns dst extended by n bytes for the caller to overwrite.
func grow(dst []byte, n int) []byte {
	return slices.Grow(dst, n)[:len(dst)+n]
}

// newlinesToCommas replaces every newline in b with a comma.
func newlinesToCommas(b []byte) {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return
		}
		b[i] = ','
		b = b[i+1:]
	}
}
