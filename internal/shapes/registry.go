package shapes

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/internal/snapshot"
	"github.com/galvani-sync/galvani/protocol"
)

const (
	metaFile    = "meta.json"
	metaVersion = 1
	shapesDir   = "shapes"
	trashPrefix = ".trash-"
)

var (
	// ErrGone is returned for a shape that was invalidated or deleted while
	// it was being created or read; the HTTP layer answers 409.
	ErrGone = errors.New("shapes: shape gone")
	// ErrClosed is returned after the registry was closed.
	ErrClosed = errors.New("shapes: registry closed")
)

// Publisher ensures a table is published for replication before its
// snapshot (replication.Publisher satisfies it).
type Publisher interface {
	Ensure(ctx context.Context, rel *pg.Relation) error
}

// Config configures a Registry.
type Config struct {
	// StorageDir is ELECTRIC_STORAGE_DIR; shapes live under StorageDir/shapes.
	StorageDir     string
	ChunkThreshold int64
	// SnapshotPool runs snapshot transactions.
	SnapshotPool *pgxpool.Pool
	Publisher    Publisher
	Logger       *slog.Logger
	// MaxShapes, when positive, is the number of shapes above which the
	// least recently used are evicted (ELECTRIC_MAX_SHAPES).
	MaxShapes int
	// MaxTxnBytes, when positive, invalidates the shapes touched by a
	// transaction whose values exceed it (ELECTRIC_EXPERIMENTAL_MAX_TXN_SIZE).
	MaxTxnBytes int64
}

// meta is the content of a shape's meta.json, written last at creation.
type meta struct {
	Version    int          `json:"version"`
	Handle     string       `json:"handle"`
	Definition Definition   `json:"definition"`
	Relation   *pg.Relation `json:"relation"`
	Snapshot   pg.Snapshot  `json:"snapshot"`
	CreatedAt  time.Time    `json:"created_at"`
}

// storedMeta is meta as load reads it: the relation is kept raw, so
// shapes with the same table description share one decoded copy.
type storedMeta struct {
	Version    int             `json:"version"`
	Handle     string          `json:"handle"`
	Definition Definition      `json:"definition"`
	Relation   json.RawMessage `json:"relation"`
	Snapshot   pg.Snapshot     `json:"snapshot"`
	CreatedAt  time.Time       `json:"created_at"`
}

// Registry holds the live shapes. It is safe for concurrent use.
type Registry struct {
	cfg       Config
	log       *slog.Logger
	dir       string
	collector *Collector
	intern    *interner
	ctx       context.Context // ends at Close; creations run under it
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	snapshotRows atomic.Uint64

	mu         sync.Mutex
	closed     bool
	byKey      map[string]*Shape
	byHandle   map[string]*Shape
	creating   map[string]*creation
	lastMicros int64
}

type creation struct {
	done  chan struct{}
	shape *Shape
	err   error
}

// OpenRegistry loads the shapes in cfg.StorageDir, removing interrupted
// creations, and returns the registry with its Collector. Start the
// Collector (Run) before creating shapes.
func OpenRegistry(cfg Config) (*Registry, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := filepath.Join(cfg.StorageDir, shapesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create shapes dir: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Registry{
		cfg: cfg, log: log.With("subsystem", "shapes"), dir: dir, ctx: ctx, cancel: cancel, intern: newInterner(),
		byKey: make(map[string]*Shape), byHandle: make(map[string]*Shape), creating: make(map[string]*creation),
	}
	r.collector = NewCollector(log, r.gone)
	r.collector.onStart = r.checkSystemID
	r.collector.maxTxnBytes = cfg.MaxTxnBytes
	entries, err := os.ReadDir(dir)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("read shapes dir: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), trashPrefix) {
			if err := r.removeInterrupted(path); err != nil {
				cancel()
				return nil, err
			}
			continue
		}
		paths = append(paths, path)
	}
	loaded, err := r.loadAll(paths)
	if err != nil {
		cancel()
		return nil, err
	}
	for _, s := range loaded {
		r.byKey[s.key] = s
		r.byHandle[s.handle] = s
		s.lastUsed.Store(s.createdAt.UnixNano())
		r.collector.restore(s)
	}
	r.log.Info("shapes restored", "count", len(r.byHandle))
	return r, nil
}

// removeInterrupted removes the directory of a shape whose creation or
// deletion was interrupted.
func (r *Registry) removeInterrupted(path string) error {
	r.log.Info("removing interrupted shape", "dir", filepath.Base(path))
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove interrupted shape: %w", err)
	}
	return nil
}

// loadAll loads the shapes in paths, several at once (loading is file
// reads and where-clause compilation, so it spreads over the cores and
// overlaps the reads), and removes the interrupted ones. The result keeps
// the order of paths.
func (r *Registry) loadAll(paths []string) ([]*Shape, error) {
	shapes := make([]*Shape, len(paths))
	errs := make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(len(paths), 2*runtime.GOMAXPROCS(0)+2) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				shapes[i], errs[i] = r.load(paths[i])
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	out := shapes[:0]
	var failed error
	for i, s := range shapes {
		switch {
		case errors.Is(errs[i], errIncomplete):
			if err := r.removeInterrupted(paths[i]); err != nil && failed == nil {
				failed = err
			}
		case errs[i] != nil:
			if failed == nil {
				failed = fmt.Errorf("load shape %s: %w", filepath.Base(paths[i]), errs[i])
			}
		default:
			out = append(out, s)
		}
	}
	if failed != nil {
		return nil, failed
	}
	return out, nil
}

var errIncomplete = errors.New("incomplete shape")

func (r *Registry) load(path string) (*Shape, error) {
	b, err := os.ReadFile(filepath.Join(path, metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errIncomplete
	}
	if err != nil {
		return nil, err
	}
	var m storedMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", metaFile, err)
	}
	if m.Version != metaVersion {
		return nil, fmt.Errorf("%s version %d, want %d", metaFile, m.Version, metaVersion)
	}
	rel, err := r.intern.relation(m.Relation)
	if err != nil {
		return nil, fmt.Errorf("parse %s: relation: %w", metaFile, err)
	}
	// meta.json is written after the snapshot is complete, so the log is
	// whole; it is opened, and its tail checked, on first use.
	s, err := newShape(m.Handle, m.Definition, rel, nil, path, shapelog.Options{ChunkThreshold: r.cfg.ChunkThreshold}, m.CreatedAt)
	if err != nil {
		return nil, err
	}
	s.schemaJSON = r.intern.string(s.schemaJSON)
	s.snap, s.snapKnown = m.Snapshot, true
	s.onLogError = r.brokenLog
	return s, nil
}

// brokenLog is told of a restored shape whose log could not be opened: the
// shape is removed, so its clients refetch a new one instead of failing on
// every request.
func (r *Registry) brokenLog(s *Shape, err error) {
	r.log.Error("shape log unreadable; removing shape", "handle", s.handle, "error", err)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.Delete(r.ctx, s); err != nil && r.ctx.Err() == nil {
			r.log.Error("remove shape with unreadable log", "handle", s.handle, "error", err)
		}
	}()
}

// Collector returns the registry's Collector, which replication feeds.
func (r *Registry) Collector() *Collector { return r.collector }

// Lookup returns the live shape for a definition key.
func (r *Registry) Lookup(key string) (*Shape, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.byKey[key]
	return s, ok
}

// Get returns the live shape with the handle.
func (r *Registry) Get(handle string) (*Shape, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.byHandle[handle]
	return s, ok
}

// SnapshotRows returns how many rows initial snapshots have written.
func (r *Registry) SnapshotRows() uint64 { return r.snapshotRows.Load() }

// StorageBytes returns the bytes the live shapes' logs hold on disk.
func (r *Registry) StorageBytes() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, s := range r.byHandle {
		n += s.sizeOnDisk()
	}
	return n
}

// Len returns the number of live shapes.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byHandle)
}

// Resolve returns the live shape for def, creating it (snapshot included)
// if there is none. Concurrent calls for one definition create one shape.
// rel is the table as the catalog describes it now.
func (r *Registry) Resolve(ctx context.Context, def Definition, rel *pg.Relation) (*Shape, error) {
	key := def.Key()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	if s, ok := r.byKey[key]; ok {
		r.mu.Unlock()
		return s, nil
	}
	c, ok := r.creating[key]
	if !ok {
		c = &creation{done: make(chan struct{})}
		r.creating[key] = c
		handle := r.newHandleLocked(def)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			s, err := r.create(r.ctx, handle, def, rel)
			r.mu.Lock()
			delete(r.creating, key)
			if err == nil {
				if r.closed {
					err = ErrClosed
				} else {
					s.Touch()
					r.byKey[key], r.byHandle[handle] = s, s
				}
			}
			victims := r.evictionVictimsLocked()
			r.mu.Unlock()
			c.shape, c.err = s, err
			close(c.done)
			for _, v := range victims {
				r.log.Info("evicting least recently used shape", "handle", v.handle, "max_shapes", r.cfg.MaxShapes)
				if err := r.Delete(r.ctx, v); err != nil && r.ctx.Err() == nil {
					r.log.Error("evict shape", "handle", v.handle, "error", err)
				}
			}
		}()
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.shape, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// evictionVictimsLocked returns the least recently used shapes beyond
// MaxShapes.
func (r *Registry) evictionVictimsLocked() []*Shape {
	excess := len(r.byHandle) - r.cfg.MaxShapes
	if r.cfg.MaxShapes <= 0 || excess <= 0 {
		return nil
	}
	all := make([]*Shape, 0, len(r.byHandle))
	for _, s := range r.byHandle {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b *Shape) int { return cmp.Compare(a.lastUsed.Load(), b.lastUsed.Load()) })
	return all[:excess]
}

// newHandleLocked returns a handle never used before: the definition's hash
// and a strictly increasing microsecond timestamp (protocol §3.2).
func (r *Registry) newHandleLocked(def Definition) string {
	us := time.Now().UnixMicro()
	if us <= r.lastMicros {
		us = r.lastMicros + 1
	}
	r.lastMicros = us
	return fmt.Sprintf("%d-%d", def.hash(), us)
}

// create builds a shape: directory, publication, registration with the
// Collector, snapshot, and last meta.json, which makes it permanent.
func (r *Registry) create(ctx context.Context, handle string, def Definition, rel *pg.Relation) (s *Shape, err error) {
	start := time.Now()
	path := filepath.Join(r.dir, handle)
	if err := os.Mkdir(path, 0o755); err != nil {
		return nil, fmt.Errorf("create shape dir: %w", err)
	}
	var registered *Shape // set once the Collector routes to the shape
	defer func() {
		if err == nil {
			return
		}
		if registered != nil {
			if rerr := r.collector.remove(context.WithoutCancel(ctx), registered); rerr != nil {
				r.log.Error("unregister failed shape", "handle", handle, "error", rerr)
			}
			registered.closeLog()
		}
		if rerr := os.RemoveAll(path); rerr != nil {
			r.log.Error("remove failed shape", "handle", handle, "error", rerr)
		}
	}()
	l, err := shapelog.Create(path, shapelog.Options{ChunkThreshold: r.cfg.ChunkThreshold})
	if err != nil {
		return nil, err
	}
	s, err = newShape(handle, def, rel, l, path, shapelog.Options{ChunkThreshold: r.cfg.ChunkThreshold}, start.UTC())
	if err != nil {
		l.Close()
		return nil, err
	}
	s.schemaJSON = r.intern.string(s.schemaJSON)
	if err := r.cfg.Publisher.Ensure(ctx, rel); err != nil {
		l.Close()
		return nil, err
	}
	if err := r.collector.register(ctx, s); err != nil {
		l.Close()
		return nil, err
	}
	registered = s

	sw, err := l.NewSnapshotWriter()
	if err != nil {
		return nil, err
	}
	var buf, scratch []byte
	q := snapshot.Query{Relation: rel}
	if s.where != nil {
		sql, args := s.where.SQL()
		q.Where = sql
		for _, a := range args {
			q.Args = append(q.Args, a)
		}
	}
	err = snapshot.Take(ctx, r.cfg.SnapshotPool, snapshot.Query{
		Relation: rel,
		Where:    q.Where,
		Args:     q.Args,
		NoRows:   def.Log == protocol.LogChangesOnly,
		OnSnapshot: func(snap pg.Snapshot, _ pg.LSN) error {
			// The Collector sets s.snap; its reply orders that write
			// before this goroutine's reads below.
			return r.collector.setSnapshot(ctx, s, snap)
		},
		OnRow: func(row pg.Row) error {
			buf, scratch = s.appendSnapshotInsert(buf[:0], row, scratch)
			return sw.Add(buf)
		},
	})
	if err != nil {
		sw.Abort()
		return nil, fmt.Errorf("snapshot %s: %w", rel.QualifiedName(), err)
	}
	if err := sw.Finish(appendSnapshotEnd(nil, s.snap)); err != nil {
		return nil, err
	}
	m, err := json.Marshal(meta{Version: metaVersion, Handle: handle, Definition: def, Relation: rel, Snapshot: s.snap, CreatedAt: s.createdAt})
	if err != nil {
		return nil, fmt.Errorf("encode shape metadata: %w", err)
	}
	if err := shapelog.WriteFileAtomic(filepath.Join(path, metaFile), m); err != nil {
		return nil, err
	}
	if err := shapelog.SyncDir(r.dir); err != nil {
		return nil, err
	}
	r.snapshotRows.Add(uint64(sw.Rows()))
	r.log.Info("shape created", "handle", handle, "table", rel.QualifiedName(), "rows", sw.Rows(), "took", time.Since(start))
	return s, nil
}

// identity is state/identity.json: the database the shapes were built from.
type identity struct {
	SystemID string `json:"system_id"`
}

// checkSystemID compares the database's system identifier with the one
// recorded, records the new one, and reports a change: shapes built from
// another cluster (or before a restore) cannot continue.
func (r *Registry) checkSystemID(systemID string) bool {
	dir := filepath.Join(r.cfg.StorageDir, "state")
	path := filepath.Join(dir, "identity.json")
	var old identity
	if b, err := os.ReadFile(path); err == nil {
		json.Unmarshal(b, &old)
	}
	if old.SystemID == systemID {
		return false
	}
	b, _ := json.Marshal(identity{SystemID: systemID})
	if err := os.MkdirAll(dir, 0o755); err == nil {
		if err := shapelog.WriteFileAtomic(path, b); err != nil {
			r.log.Error("record database identity", "error", err)
		}
	}
	return old.SystemID != ""
}

// gone is the Collector's callback for an invalidated shape.
func (r *Registry) gone(s *Shape, reason string) {
	r.log.Info("shape invalidated", "handle", s.handle, "reason", reason)
	r.drop(s)
}

// Delete removes a shape: readers get ErrGone (409) and its handle never
// returns.
func (r *Registry) Delete(ctx context.Context, s *Shape) error {
	if err := r.collector.remove(ctx, s); err != nil {
		return err
	}
	r.drop(s)
	return nil
}

// drop forgets s, wakes its readers and removes its files. The directory is
// first renamed to a trash name, so a crash midway leaves nothing that
// loads as a shape.
func (r *Registry) drop(s *Shape) {
	if s.gone.Swap(true) {
		return
	}
	r.mu.Lock()
	if r.byKey[s.key] == s {
		delete(r.byKey, s.key)
	}
	delete(r.byHandle, s.handle)
	r.mu.Unlock()
	s.closeLog()
	trash := filepath.Join(r.dir, trashPrefix+s.handle)
	if err := os.Rename(s.dir, trash); err != nil {
		r.log.Error("remove shape files", "handle", s.handle, "error", err)
		return
	}
	if err := os.RemoveAll(trash); err != nil {
		r.log.Error("remove shape files", "handle", s.handle, "error", err)
	}
}

// Close stops creations in progress and closes every log.
func (r *Registry) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.byHandle {
		s.closeLog()
	}
	return nil
}
