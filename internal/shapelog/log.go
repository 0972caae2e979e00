package shapelog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/galvani-sync/galvani/protocol"
)

// File names inside a shape directory.
const (
	changesFile       = "changes.log"
	snapshotFile      = "snapshot.jsonl"
	snapshotIndexFile = "snapshot.idx"
)

// indexEvery is the spacing, in bytes of log, of the sparse in-memory index
// that lets a reader seek near any offset without scanning the whole log.
const indexEvery = 16 << 10

// writeBufferSize is how much the writer buffers before writing to the file.
const writeBufferSize = 256 << 10

var (
	// ErrIncomplete is returned by Open when the directory holds no
	// complete snapshot (creation was interrupted).
	ErrIncomplete = errors.New("shapelog: incomplete shape log")
	// ErrOutOfOrder is returned by Append for an offset not after the last one.
	ErrOutOfOrder = errors.New("shapelog: offset not after the last appended offset")
	// ErrClosed is returned by operations on a closed log.
	ErrClosed = errors.New("shapelog: log closed")
)

// Options configure a Log.
type Options struct {
	// ChunkThreshold is the size in bytes at which snapshot and log chunks
	// end (ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD).
	ChunkThreshold int64
}

type indexPoint struct {
	off protocol.Offset
	pos int64
}

// Log is one shape's storage. See the package documentation for the format
// and the concurrency contract.
type Log struct {
	dir       string
	threshold int64
	f         *os.File
	dev       uint64 // device holding f, for SyncAll; 0 when unknown

	// Write side, owned by the single writer.
	buf          []byte
	written      int64 // bytes handed to the file (buffered ones excluded)
	size         int64 // written + len(buf)
	lastOff      protocol.Offset
	hasLast      bool
	chunkBytes   int64 // body bytes since the last chunk boundary
	lastIndexPos int64
	newIndex     []indexPoint // index points not yet published
	newChunks    []indexPoint // chunk ends not yet published

	mu           sync.RWMutex
	closed       bool
	published    protocol.Offset // offset of the last published record
	hasRecords   bool            // published holds a record's offset
	publishedEnd int64           // file size covering published records
	changed      chan struct{}   // closed and replaced when records are published
	index        []indexPoint    // sparse: record start positions
	chunks       []indexPoint    // closed chunks: last offset and end position
	snapEnds     []int64         // snapshot chunk end positions in snapshotFile
}

// Create makes an empty log in dir, which must exist. The snapshot is
// written with a SnapshotWriter before the log is used.
func Create(dir string, opts Options) (*Log, error) {
	f, err := os.OpenFile(filepath.Join(dir, changesFile), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create change log: %w", err)
	}
	return &Log{dir: dir, threshold: opts.ChunkThreshold, f: f, dev: deviceOf(f), changed: make(chan struct{})}, nil
}

// Open opens the log in dir, validates it and cuts any torn or uncommitted
// tail. It returns ErrIncomplete if the snapshot was never completed.
func Open(dir string, opts Options) (*Log, error) {
	ends, err := readSnapshotIndex(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, changesFile), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open change log: %w", err)
	}
	l := &Log{dir: dir, threshold: opts.ChunkThreshold, f: f, dev: deviceOf(f), changed: make(chan struct{}), snapEnds: ends}
	if err := l.recover(); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// recoverReadBuffer is the most recover reads at a time (less for a
// smaller log): it streams the log, so opening a log costs at most this
// much memory whatever the log's size.
const recoverReadBuffer = 1 << 20

// recover scans the change log, keeps the prefix that ends with the last
// valid FlagLast record, truncates the rest and rebuilds the indexes.
func (l *Log) recover() error {
	st, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("read change log: %w", err)
	}
	size := st.Size()
	r := bufio.NewReaderSize(io.NewSectionReader(l.f, 0, size), int(min(max(size, 64), recoverReadBuffer)))
	var (
		hdr           [headerSize]byte
		body          []byte
		pos, validEnd int64
		chunkBytes    int64
		lastIndexPos  int64
		index, chunks []indexPoint
		pendIndex     []indexPoint
		pendChunks    []indexPoint
		last, prev    protocol.Offset
		validLast     protocol.Offset
		validChunkB   int64
		validIndexPos int64
		have          bool
		validHave     bool
	)
	for size-pos >= headerSize {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return fmt.Errorf("read change log: %w", err)
		}
		h := decodeHeader(hdr[:])
		if h.length > maxBody || size-pos-headerSize < int64(h.length) {
			break // a torn or damaged tail
		}
		if cap(body) < int(h.length) {
			body = make([]byte, h.length)
		}
		body = body[:h.length]
		if _, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("read change log: %w", err)
		}
		if !h.valid(hdr[:], body) {
			break
		}
		if have && !prev.Less(h.off) {
			break
		}
		if pos == 0 || pos-lastIndexPos >= indexEvery {
			pendIndex = append(pendIndex, indexPoint{h.off, pos})
			lastIndexPos = pos
		}
		next := pos + headerSize + int64(h.length)
		chunkBytes += int64(h.length)
		if chunkBytes >= l.threshold {
			pendChunks = append(pendChunks, indexPoint{h.off, next})
			chunkBytes = 0
		}
		prev, last, have = h.off, h.off, true
		pos = next
		if h.flags&FlagLast != 0 {
			validEnd, validLast, validHave = pos, last, true
			validChunkB, validIndexPos = chunkBytes, lastIndexPos
			index = append(index, pendIndex...)
			chunks = append(chunks, pendChunks...)
			pendIndex, pendChunks = pendIndex[:0], pendChunks[:0]
		}
	}
	if validEnd != size {
		if err := l.f.Truncate(validEnd); err != nil {
			return fmt.Errorf("truncate torn tail: %w", err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("sync truncated log: %w", err)
		}
	}
	if _, err := l.f.Seek(validEnd, io.SeekStart); err != nil {
		return fmt.Errorf("seek change log: %w", err)
	}
	l.written, l.size, l.publishedEnd = validEnd, validEnd, validEnd
	l.lastOff, l.hasLast = validLast, validHave
	l.published, l.hasRecords = validLast, validHave
	l.chunkBytes, l.lastIndexPos = validChunkB, validIndexPos
	l.index, l.chunks = index, chunks
	return nil
}

// Dir returns the directory holding the log.
func (l *Log) Dir() string { return l.dir }

// LastOffset returns the offset of the last appended record (published or
// not) and whether there is one. Only the writer may call it.
func (l *Log) LastOffset() (protocol.Offset, bool) { return l.lastOff, l.hasLast }

// Append adds a record. It becomes visible to readers at the next Sync,
// which the writer calls only at a transaction boundary, after appending
// the transaction's last record with FlagLast.
func (l *Log) Append(off protocol.Offset, flags byte, body []byte) error {
	if l.hasLast && !l.lastOff.Less(off) {
		return fmt.Errorf("append %v after %v: %w", off, l.lastOff, ErrOutOfOrder)
	}
	pos := l.size
	if pos == 0 || pos-l.lastIndexPos >= indexEvery {
		l.newIndex = append(l.newIndex, indexPoint{off, pos})
		l.lastIndexPos = pos
	}
	l.buf = Record{Offset: off, Flags: flags, Body: body}.AppendTo(l.buf)
	l.size = l.written + int64(len(l.buf))
	l.chunkBytes += int64(len(body))
	if l.chunkBytes >= l.threshold {
		l.newChunks = append(l.newChunks, indexPoint{off, l.size})
		l.chunkBytes = 0
	}
	l.lastOff, l.hasLast = off, true
	if len(l.buf) >= writeBufferSize {
		return l.writeBuffer()
	}
	return nil
}

func (l *Log) writeBuffer() error {
	if len(l.buf) == 0 {
		return nil
	}
	n, err := l.f.Write(l.buf)
	l.written += int64(n)
	if err != nil {
		// Keep what was not written; the caller fails the shape.
		l.buf = l.buf[n:]
		return fmt.Errorf("write change log: %w", err)
	}
	l.buf = l.buf[:0]
	return nil
}

// Dirty reports whether records were appended since the last Publish.
func (l *Log) Dirty() bool {
	return l.size != l.publishedEndUnlocked()
}

func (l *Log) publishedEndUnlocked() int64 {
	// Only the writer changes publishedEnd, so it may read it without the lock.
	return l.publishedEnd
}

// keepBuffer is the largest append buffer a log keeps between
// transactions; a bigger one (from a big transaction) is dropped after
// Write, so thousands of mostly idle logs do not each pin one.
const keepBuffer = 16 << 10

// Write hands every appended record to the file (the operating system's
// cache), without waiting for the disk. Records written survive a crash
// of the process but not of the machine until SyncData.
func (l *Log) Write() error {
	if err := l.writeBuffer(); err != nil {
		return err
	}
	if cap(l.buf) > keepBuffer {
		l.buf = nil
	}
	return nil
}

// SyncData waits until everything written so far is on disk (fdatasync).
func (l *Log) SyncData() error {
	if err := fdatasync(l.f); err != nil {
		return fmt.Errorf("sync change log: %w", err)
	}
	return nil
}

// Flush is Write then SyncData.
func (l *Log) Flush() error {
	if err := l.Write(); err != nil {
		return err
	}
	return l.SyncData()
}

// Publish makes every record written so far visible to readers and wakes
// waiting readers. The writer calls it only at a transaction boundary,
// after Write; it need not wait for SyncData (see the package
// documentation on durability).
func (l *Log) Publish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written == l.publishedEnd {
		return
	}
	l.publishedEnd = l.written
	l.published, l.hasRecords = l.lastOff, l.hasLast
	l.index = append(l.index, l.newIndex...)
	l.chunks = append(l.chunks, l.newChunks...)
	l.newIndex, l.newChunks = l.newIndex[:0], l.newChunks[:0]
	close(l.changed)
	l.changed = make(chan struct{})
}

// Sync is Write, SyncData and Publish.
func (l *Log) Sync() error {
	if err := l.Flush(); err != nil {
		return err
	}
	l.Publish()
	return nil
}

// Head returns the shape's latest published offset and a channel that is
// closed when a later offset is published or the log is closed. The
// latest offset is the last record's, or the last snapshot chunk's (0_n)
// when the log has no records.
func (l *Log) Head() (protocol.Offset, <-chan struct{}) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.headLocked(), l.changed
}

func (l *Log) headLocked() protocol.Offset {
	if l.hasRecords {
		return l.published
	}
	return protocol.Offset{Tx: 0, Op: uint64(max(len(l.snapEnds)-1, 0))}
}

// Size returns the published bytes of the snapshot and the change log.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := l.publishedEnd
	if len(l.snapEnds) > 0 {
		n += l.snapEnds[len(l.snapEnds)-1]
	}
	return n
}

// SnapshotChunks returns the number of snapshot chunks.
func (l *Log) SnapshotChunks() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.snapEnds)
}

// AppendSnapshotChunk appends snapshot chunk i's messages to dst, separated
// by commas (a JSON array's contents without brackets). OpenSnapshotChunk
// streams the same bytes without holding the whole chunk in memory.
func (l *Log) AppendSnapshotChunk(dst []byte, i int) ([]byte, error) {
	c, err := l.OpenSnapshotChunk(i)
	if err != nil {
		return dst, err
	}
	defer c.Close()
	at := len(dst)
	dst = grow(dst, int(c.Size()))
	if _, err := io.ReadFull(c, dst[at:]); err != nil {
		return dst[:at], fmt.Errorf("read snapshot chunk %d: %w", i, err)
	}
	return dst, nil
}

// AppendChanges appends, comma-separated, the bodies of the published records
// after offset from, up to the end of the chunk holding the first of them.
// It returns the offset of the last record appended, or from when there is
// none, and how many records it appended.
func (l *Log) AppendChanges(dst []byte, from protocol.Offset) ([]byte, protocol.Offset, int, error) {
	n := 0
	last, err := l.EachChange(from, func(_ protocol.Offset, body []byte) {
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, body...)
		n++
	})
	return dst, last, n, err
}

// EachChange calls fn for each published record after offset from, up to the
// end of the chunk holding the first of them, and returns the offset of the
// last one (from when there is none). body is only valid during the call.
func (l *Log) EachChange(from protocol.Offset, fn func(off protocol.Offset, body []byte)) (protocol.Offset, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return from, ErrClosed
	}
	if !l.hasRecords || !from.Less(l.published) {
		l.mu.RUnlock()
		return from, nil
	}
	// Seek: the last index point at or before from.
	i := sort.Search(len(l.index), func(i int) bool { return from.Less(l.index[i].off) })
	startPos := int64(0)
	if i > 0 {
		startPos = l.index[i-1].pos
	}
	chunks := l.chunks
	publishedEnd := l.publishedEnd
	l.mu.RUnlock()

	// The chunk ends at the first boundary whose last offset is after from.
	endPos := publishedEnd
	if j := sort.Search(len(chunks), func(j int) bool { return from.Less(chunks[j].off) }); j < len(chunks) {
		endPos = chunks[j].pos
	}
	data := make([]byte, endPos-startPos)
	if _, err := l.f.ReadAt(data, startPos); err != nil {
		return from, fmt.Errorf("read change log: %w", err)
	}
	last := from
	for p := 0; len(data)-p >= headerSize; {
		h := decodeHeader(data[p:])
		bodyEnd := p + headerSize + int(h.length)
		if bodyEnd > len(data) {
			return from, fmt.Errorf("read change log: record at %d overruns chunk", startPos+int64(p))
		}
		if from.Less(h.off) {
			fn(h.off, data[p+headerSize:bodyEnd])
			last = h.off
		}
		p = bodyEnd
	}
	return last, nil
}

// Close releases the log's file and wakes waiting readers. Readers that
// call in afterwards get ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.changed)
	l.changed = make(chan struct{})
	return l.f.Close()
}

// Closed reports whether Close was called.
func (l *Log) Closed() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.closed
}

// Checkpoint is the write side's state at a point, so a transaction that
// is interrupted before its commit can be taken back with Rollback.
type Checkpoint struct {
	size, chunkBytes, lastIndexPos int64
	lastOff                        protocol.Offset
	hasLast                        bool
	nIndex, nChunks                int
}

// Checkpoint records the write side's state. Only the writer calls it.
func (l *Log) Checkpoint() Checkpoint {
	return Checkpoint{
		size: l.size, chunkBytes: l.chunkBytes, lastIndexPos: l.lastIndexPos,
		lastOff: l.lastOff, hasLast: l.hasLast,
		nIndex: len(l.newIndex), nChunks: len(l.newChunks),
	}
}

// Rollback discards everything appended since ck. No Publish may have
// happened in between (the writer publishes only between transactions).
func (l *Log) Rollback(ck Checkpoint) error {
	if ck.size >= l.written {
		l.buf = l.buf[:ck.size-l.written]
	} else {
		if err := l.f.Truncate(ck.size); err != nil {
			return fmt.Errorf("roll back change log: %w", err)
		}
		if _, err := l.f.Seek(ck.size, io.SeekStart); err != nil {
			return fmt.Errorf("roll back change log: %w", err)
		}
		l.written, l.buf = ck.size, l.buf[:0]
	}
	l.size, l.chunkBytes, l.lastIndexPos = ck.size, ck.chunkBytes, ck.lastIndexPos
	l.lastOff, l.hasLast = ck.lastOff, ck.hasLast
	l.newIndex, l.newChunks = l.newIndex[:ck.nIndex], l.newChunks[:ck.nChunks]
	return nil
}
