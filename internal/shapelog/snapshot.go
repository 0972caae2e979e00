package shapelog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const snapshotIndexVersion = 1

// snapshotBufferSize is the snapshot writer's buffer: large enough that
// writing a big snapshot costs few system calls, small enough that
// creating thousands of small shapes at once does not grow the heap (and
// the resident memory that outlives it) by a megabyte each.
const snapshotBufferSize = 64 << 10

// SnapshotWriter writes a shape's initial snapshot. Use it once, before the
// shape is visible to readers.
type SnapshotWriter struct {
	log        *Log
	f          *os.File
	w          *bufio.Writer
	pos        int64
	chunkBytes int64
	ends       []int64
	rows       int64
}

// NewSnapshotWriter starts the snapshot of l.
func (l *Log) NewSnapshotWriter() (*SnapshotWriter, error) {
	f, err := os.OpenFile(filepath.Join(l.dir, snapshotFile), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create snapshot: %w", err)
	}
	return &SnapshotWriter{log: l, f: f, w: bufio.NewWriterSize(f, snapshotBufferSize)}, nil
}

// Add appends one message (a row insert) to the snapshot.
func (s *SnapshotWriter) Add(msg []byte) error {
	s.rows++
	return s.add(msg)
}

// Rows returns how many rows were added.
func (s *SnapshotWriter) Rows() int64 { return s.rows }

func (s *SnapshotWriter) add(msg []byte) error {
	if _, err := s.w.Write(msg); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := s.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	n := int64(len(msg)) + 1
	s.pos += n
	s.chunkBytes += n
	if s.chunkBytes >= s.log.threshold {
		s.ends = append(s.ends, s.pos)
		s.chunkBytes = 0
	}
	return nil
}

// Finish appends the snapshot-end control message, closes the last chunk,
// makes the snapshot durable and publishes it to the log's readers.
func (s *SnapshotWriter) Finish(endMsg []byte) error {
	if err := s.add(endMsg); err != nil {
		return err
	}
	if s.chunkBytes > 0 {
		s.ends = append(s.ends, s.pos)
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync snapshot: %w", err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("close snapshot: %w", err)
	}
	idx := []byte{snapshotIndexVersion}
	for _, e := range s.ends {
		idx = binary.BigEndian.AppendUint64(idx, uint64(e))
	}
	if err := writeFileSync(filepath.Join(s.log.dir, snapshotIndexFile), idx); err != nil {
		return err
	}
	s.log.mu.Lock()
	s.log.snapEnds = s.ends
	s.log.mu.Unlock()
	return nil
}

// Abort closes the snapshot file without completing it.
func (s *SnapshotWriter) Abort() {
	s.f.Close()
}

func readSnapshotIndex(dir string) ([]int64, error) {
	b, err := os.ReadFile(filepath.Join(dir, snapshotIndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrIncomplete
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot index: %w", err)
	}
	if len(b) < 1 || b[0] != snapshotIndexVersion || (len(b)-1)%8 != 0 || len(b) == 1 {
		return nil, fmt.Errorf("snapshot index in %s: %w", dir, ErrIncomplete)
	}
	ends := make([]int64, 0, (len(b)-1)/8)
	for p := 1; p < len(b); p += 8 {
		ends = append(ends, int64(binary.BigEndian.Uint64(b[p:])))
	}
	st, err := os.Stat(filepath.Join(dir, snapshotFile))
	if err != nil || st.Size() < ends[len(ends)-1] {
		return nil, fmt.Errorf("snapshot data in %s shorter than its index: %w", dir, ErrIncomplete)
	}
	return ends, nil
}

// writeFileSync writes a file through a temporary name, fsyncs it, renames
// it into place and fsyncs the directory, so the file is either absent or
// complete after a crash.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", filepath.Base(path), err)
	}
	return SyncDir(filepath.Dir(path))
}

// WriteFileAtomic is writeFileSync for other packages: path holds either its
// old content or data after a crash, never a mix.
func WriteFileAtomic(path string, data []byte) error { return writeFileSync(path, data) }

// SyncDir fsyncs a directory so entries created or renamed in it survive a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
