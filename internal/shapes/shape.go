package shapes

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/galvani-sync/galvani/internal/catalog"
	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/router"
	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/internal/where"
	"github.com/galvani-sync/galvani/protocol"
)

// Shape is one live shape: its definition, its table as it was when the
// shape was created, and its log.
type Shape struct {
	handle       string
	def          Definition
	key          string
	rel          *pg.Relation
	cols         []int  // selected columns, indexes into rel.Columns
	isPK         []bool // per rel column
	schemaJSON   string
	where        *where.Expr // nil: every row
	dir          string
	logOpts      shapelog.Options
	log          atomic.Pointer[shapelog.Log] // nil until opened (a restored shape opens it on first use)
	logMu        sync.Mutex                   // serialises opening and closing the log
	logClosed    bool                         // under logMu: closed for good
	onLogError   func(*Shape, error)          // told when opening the log fails
	unopenedSize atomic.Int64                 // 1 + bytes on disk of a log not yet opened; 0 unknown
	createdAt    time.Time
	gone         atomic.Bool
	lastUsed     atomic.Int64 // unix nanoseconds of the last request, for eviction

	// Consumer state, owned by the Collector's goroutine.
	wlog       *shapelog.Log // the log, once the Collector has needed it
	snap       pg.Snapshot
	snapKnown  bool
	filterDone bool
	lastTx     int64 // commit LSN of the last transaction appended (valid once wlog is set)
	regSeq     uint64
	buffered   []bufferedTxn // transactions seen before the snapshot was known
	repRel     *pg.Relation  // replication's relation the column map was built for
	colMap     []int         // per rel column: index in repRel's rows
	identity   bool          // colMap is the identity
	tx         txState
	scratch    [2]pg.Row // mapped old and new rows
}

// txState is a shape's view of the transaction being processed.
type txState struct {
	lsn        pg.LSN
	decided    bool // skip was decided for lsn
	skip       bool
	xid        uint32
	pending    []byte // body of the last entry, not yet closed
	pendingOff protocol.Offset
	hasPending bool
	appended   bool // this transaction appended to the log
	ck         shapelog.Checkpoint
}

// bufferedTxn is a transaction kept for a shape whose snapshot is not yet known.
type bufferedTxn struct {
	xid     uint32
	lsn     pg.LSN
	changes []pg.Change
}

// log is the shape's open log, or nil for a restored shape: its log is
// opened on first use (by a reader or the Collector), so a restart reads
// no log and idle shapes hold no file.
func newShape(handle string, def Definition, rel *pg.Relation, log *shapelog.Log, dir string, opts shapelog.Options, created time.Time) (*Shape, error) {
	cols, err := def.selectedColumns(rel)
	if err != nil {
		return nil, err
	}
	var expr *where.Expr
	if def.Where != "" {
		if expr, err = compileWhere(def.Where, def.Params, rel); err != nil {
			return nil, fmt.Errorf("compile where clause of %s: %w", handle, err)
		}
	}
	isPK := make([]bool, len(rel.Columns))
	for _, i := range rel.PK {
		isPK[i] = true
	}
	s := &Shape{
		handle:     handle,
		def:        def,
		key:        def.Key(),
		rel:        rel,
		cols:       cols,
		isPK:       isPK,
		schemaJSON: string(catalog.AppendSchemaJSON(nil, rel, cols)),
		where:      expr,
		dir:        dir,
		logOpts:    opts,
		createdAt:  created,
	}
	if log != nil {
		s.log.Store(log)
		s.wlog = log // a new shape's log is empty: lastTx 0 is right
	}
	return s, nil
}

// routingConds returns the necessary condition of the shape's where clause
// for the router, by column name; nil when every row is a candidate. An
// equality condition is preferred; failing that, the first element of the
// first inclusion conjunct (`arr @> const`, `const = ANY(arr)`) must be in
// the row's array.
func (s *Shape) routingConds() []router.Cond {
	if s.where == nil {
		return nil
	}
	conds, ok := s.where.Conditions()
	if !ok {
		for _, inc := range s.where.Inclusions() {
			if len(inc.Elements) > 0 {
				return []router.Cond{{Column: s.rel.Columns[inc.Column].Name, Value: inc.Elements[0], Element: true}}
			}
		}
		return nil
	}
	if len(conds) == 0 {
		// The clause can match no row (col = NULL); routing nothing to
		// it is right, but keep it reachable: conditionless routing.
		return nil
	}
	out := make([]router.Cond, len(conds))
	for i, c := range conds {
		out[i] = router.Cond{Column: s.rel.Columns[c.Column].Name, Value: c.Value}
	}
	return out
}

// Handle returns the shape's handle.
func (s *Shape) Handle() string { return s.handle }

// Definition returns the shape's definition.
func (s *Shape) Definition() Definition { return s.def }

// Relation returns the table as it was when the shape was created.
func (s *Shape) Relation() *pg.Relation { return s.rel }

// SchemaJSON returns the electric-schema header value.
func (s *Shape) SchemaJSON() string { return s.schemaJSON }

// Log returns the shape's log, for reading.
//
// Log opens the log on first use; a log that cannot be opened (damaged
// files) is an error, and after the shape is gone or the registry closed
// it returns ErrGone or shapelog.ErrClosed.
func (s *Shape) Log() (*shapelog.Log, error) {
	if l := s.log.Load(); l != nil {
		return l, nil
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if l := s.log.Load(); l != nil {
		return l, nil
	}
	if s.gone.Load() {
		return nil, ErrGone
	}
	if s.logClosed {
		return nil, shapelog.ErrClosed
	}
	l, err := shapelog.Open(s.dir, s.logOpts)
	if err != nil {
		err = fmt.Errorf("open log of shape %s: %w", s.handle, err)
		if s.onLogError != nil {
			s.onLogError(s, err)
		}
		return nil, err
	}
	s.log.Store(l)
	return l, nil
}

// closeLog closes the log if it is open; Log fails afterwards.
func (s *Shape) closeLog() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.logClosed = true
	if l := s.log.Load(); l != nil {
		l.Close()
	}
}

// writeLog returns the log for the Collector, opening it and reading the
// last transaction it holds on first use. Only the Collector calls it.
func (s *Shape) writeLog() (*shapelog.Log, error) {
	if s.wlog != nil {
		return s.wlog, nil
	}
	l, err := s.Log()
	if err != nil {
		return nil, err
	}
	// The Collector is the log's only writer and has not written yet, so
	// the last offset is the one Open found.
	if off, ok := l.LastOffset(); ok {
		s.lastTx = off.Tx
	}
	s.wlog = l
	return l, nil
}

// sizeOnDisk returns the bytes of the shape's log: the open log's
// published size, or the files' sizes for a log not opened yet.
func (s *Shape) sizeOnDisk() int64 {
	if l := s.log.Load(); l != nil {
		return l.Size()
	}
	// Files nobody has opened do not change: stat them once.
	if n := s.unopenedSize.Load(); n > 0 {
		return n - 1
	}
	n := shapelog.SizeOnDisk(s.dir)
	s.unopenedSize.Store(n + 1)
	return n
}

// Touch records a request for the shape (least-recently-used eviction).
func (s *Shape) Touch() { s.lastUsed.Store(time.Now().UnixNano()) }

// Gone reports whether the shape was invalidated or deleted.
func (s *Shape) Gone() bool { return s.gone.Load() }

// mapRow returns row (laid out as repRel) laid out as the shape's relation.
// ok is false when repRel lacks a column the shape needs: the table changed
// under the shape.
func (s *Shape) mapRow(repRel *pg.Relation, row pg.Row, slot int) (pg.Row, bool) {
	if repRel != s.repRel {
		s.buildColMap(repRel)
	}
	if s.colMap == nil {
		return nil, false
	}
	if s.identity || row == nil {
		return row, true
	}
	if s.scratch[slot] == nil {
		s.scratch[slot] = make(pg.Row, len(s.rel.Columns))
	}
	out := s.scratch[slot]
	for i, j := range s.colMap {
		if j >= 0 {
			out[i] = row[j]
		} else {
			out[i] = pg.Value{Null: true}
		}
	}
	return out, true
}

// buildColMap maps the shape's columns to repRel's by name. A selected
// column that is missing, or a different column set for a shape that
// selects all columns, leaves colMap nil: the shape must be invalidated.
func (s *Shape) buildColMap(repRel *pg.Relation) {
	s.repRel, s.colMap, s.identity = repRel, nil, false
	if repRel.Schema != s.rel.Schema || repRel.Name != s.rel.Name || repRel.ReplicaIdentity != 'f' {
		return // renamed, or updates no longer carry old rows
	}
	m := make([]int, len(s.rel.Columns))
	identity := len(repRel.Columns) == len(s.rel.Columns)
	for i, c := range s.rel.Columns {
		m[i] = repRel.ColumnIndex(c.Name)
		if m[i] != i {
			identity = false
		}
		if m[i] < 0 && (s.isPK[i] || slices.Contains(s.cols, i)) {
			return
		}
		if m[i] >= 0 && repRel.Columns[m[i]].TypeOID != c.TypeOID {
			return
		}
	}
	if s.def.Columns == nil && len(repRel.Columns) != len(s.rel.Columns) {
		return
	}
	s.colMap, s.identity = m, identity
}

func (s *Shape) String() string {
	return fmt.Sprintf("shape %s (%s.%s)", s.handle, s.def.Schema, s.def.Table)
}
