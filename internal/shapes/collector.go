package shapes

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/replication"
	"github.com/galvani-sync/galvani/internal/router"
	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/internal/snapshot"
	"github.com/galvani-sync/galvani/internal/where"
)

// Group commit bounds: the Collector makes logs durable when the stream has
// nothing more queued, or at the latest after this many transactions or
// this much time since the first unflushed commit.
const (
	groupCommitTxns    = 1000
	groupCommitLatency = 20 * time.Millisecond
	eventQueueSize     = 4096
	recentXids         = 4096
)

// Collector feeds replicated transactions to the shapes they affect. One
// goroutine (Run) owns all consumer state; registrations and removals reach
// it as commands applied between transactions. It satisfies
// replication.Sink.
type Collector struct {
	log     *slog.Logger
	events  chan replication.Event
	cmds    chan command
	stopped chan struct{} // closed when Run returns

	flushed atomic.Uint64 // end LSN of the last durable transaction
	global  atomic.Uint64 // commit LSN of the last transaction every shape has
	txns    atomic.Uint64 // transactions processed
	routed  atomic.Uint64 // (change, shape) pairs applied

	// Owned by Run.
	tables     map[pg.OID]*router.Table[*Shape] // shapes of each table, indexed by their conditions
	candidates []*Shape                         // scratch: shapes a change is routed to
	seen       map[*Shape]struct{}              // scratch for routing
	inTxn      bool
	xid        uint32
	lsn        pg.LSN
	touched    []*Shape
	buffering  []*Shape // touched shapes whose snapshot is not yet known
	dirty      map[*Shape]struct{}
	pendingEnd pg.LSN // end LSN of the last processed, not yet durable transaction
	pendingLSN pg.LSN
	unflushed  int
	firstUnfl  time.Time
	deferred   []command
	enc        encoder
	seq        uint64 // committed transactions processed
	recent     [recentXids]uint32
	onGone     func(*Shape, string)
	// onStart, when set, is told the database's identity at each stream
	// start and reports whether it differs from the one the shapes were
	// built from (a restored or different cluster).
	onStart func(systemID string) (changed bool)
	// maxTxnBytes, when positive, bounds a transaction's value bytes; the
	// shapes a larger transaction touches are invalidated.
	maxTxnBytes int64
	txnBytes    int64
}

type command struct {
	fn   func() error
	done chan error
	// anytime commands may run inside a transaction; the others wait for
	// its end.
	anytime bool
}

// NewCollector returns a Collector. onGone is called, from the Collector's
// goroutine, for each shape the stream invalidates (truncate, schema change,
// storage failure); it must not call back into the Collector.
func NewCollector(log *slog.Logger, onGone func(*Shape, string)) *Collector {
	return &Collector{
		log:     log.With("subsystem", "collector"),
		events:  make(chan replication.Event, eventQueueSize),
		cmds:    make(chan command),
		stopped: make(chan struct{}),
		tables:  make(map[pg.OID]*router.Table[*Shape]),
		seen:    make(map[*Shape]struct{}),
		dirty:   make(map[*Shape]struct{}),
		onGone:  onGone,
	}
}

// Handle queues a replication event; it blocks while the queue is full.
func (c *Collector) Handle(ctx context.Context, ev replication.Event) error {
	select {
	case c.events <- ev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flushed returns the end LSN of the last transaction that every affected
// shape has made durable: the LSN that may be acknowledged.
func (c *Collector) Flushed() pg.LSN { return pg.LSN(c.flushed.Load()) }

// Transactions returns how many transactions the Collector processed.
func (c *Collector) Transactions() uint64 { return c.txns.Load() }

// ChangesRouted returns how many times a change was applied to a shape.
func (c *Collector) ChangesRouted() uint64 { return c.routed.Load() }

// GlobalLSN returns the commit LSN up to which every shape's log holds
// everything (global_last_seen_lsn).
func (c *Collector) GlobalLSN() pg.LSN { return pg.LSN(c.global.Load()) }

// restore adds a shape loaded from disk. Only before Run.
func (c *Collector) restore(s *Shape) { c.route(s) }

// route starts routing the table's changes to s, indexed by the necessary
// condition of its where clause when it has one.
func (c *Collector) route(s *Shape) {
	t := c.tables[s.rel.ID]
	if t == nil {
		t = router.NewTable[*Shape](where.ArrayElements)
		c.tables[s.rel.ID] = t
	}
	t.Add(s, s.routingConds())
}

// shapesOf returns every shape on a table.
func (c *Collector) shapesOf(rel pg.OID) []*Shape {
	if t := c.tables[rel]; t != nil {
		return t.All()
	}
	return nil
}

// do runs fn on the Collector's goroutine between transactions.
func (c *Collector) do(ctx context.Context, fn func() error) error {
	return c.send(ctx, command{fn: fn, done: make(chan error, 1)})
}

func (c *Collector) send(ctx context.Context, cmd command) error {
	select {
	case c.cmds <- cmd:
	case <-c.stopped:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-cmd.done:
		return err
	case <-c.stopped:
		return ErrClosed
	case <-ctx.Done():
		// The command still runs; its effects are undone by the caller's
		// cleanup (remove), which is queued behind it.
		return ctx.Err()
	}
}

// register starts routing the table's transactions to s, buffering them
// until its snapshot is known.
func (c *Collector) register(ctx context.Context, s *Shape) error {
	return c.do(ctx, func() error {
		s.regSeq = c.seq
		c.route(s)
		return nil
	})
}

// setSnapshot gives s its snapshot and replays the transactions buffered
// since registration through the visibility filter. It returns
// snapshot.ErrRetry if a transaction processed before registration is not
// visible in snap: its commit record reached the stream before the
// transaction became visible to new snapshots, so its changes would be
// missing from both; a fresh snapshot will contain it.
//
// It may run inside a transaction, so a large transaction in progress is
// not buffered in memory until its end: the buffered part of it is applied
// and the rest flows to the shape directly.
func (c *Collector) setSnapshot(ctx context.Context, s *Shape, snap pg.Snapshot) error {
	return c.send(ctx, command{anytime: true, done: make(chan error, 1), fn: func() error {
		start := uint64(0)
		if c.seq > recentXids {
			start = c.seq - recentXids
		}
		for q := max(start, 0); q < s.regSeq; q++ {
			if !snap.Visible(c.recent[q%recentXids]) {
				return snapshot.ErrRetry
			}
		}
		s.snap, s.snapKnown = snap, true
		for _, t := range s.buffered {
			for i := range t.changes {
				if err := s.apply(&t.changes[i], t.xid, t.lsn, &c.enc); err != nil {
					c.applyFailed(s, err)
					return ErrGone
				}
			}
			if c.inTxn && t.lsn == c.lsn {
				c.touched = append(c.touched, s) // committed with the rest
				continue
			}
			if appended, err := s.commit(); err != nil {
				c.applyFailed(s, err)
				return ErrGone
			} else if appended {
				c.dirty[s] = struct{}{}
			}
		}
		s.buffered = nil
		return nil
	}})
}

// remove stops routing to s.
func (c *Collector) remove(ctx context.Context, s *Shape) error {
	return c.do(ctx, func() error {
		c.unroute(s)
		return nil
	})
}

func (c *Collector) unroute(s *Shape) {
	if t := c.tables[s.rel.ID]; t != nil {
		t.Remove(s)
		if t.Len() == 0 {
			delete(c.tables, s.rel.ID)
		}
	}
	delete(c.dirty, s)
}

// applyFailed handles an error from a shape's consumer: invalidation or a
// storage failure ends the shape, not the stream.
func (c *Collector) applyFailed(s *Shape, err error) error {
	var inv *invalidation
	reason := "storage failure: " + err.Error()
	if errors.As(err, &inv) {
		reason = inv.reason
	} else {
		c.log.Error("shape storage failed; invalidating", "handle", s.handle, "error", err)
	}
	s.rollback()
	c.unroute(s)
	c.onGone(s, reason)
	return nil
}

// Run processes events and commands until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	defer close(c.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			// Shutting down: make what is complete durable, so the final
			// acknowledgement covers it and a restart replays less.
			if !c.inTxn && c.unflushed > 0 {
				c.flush(ctx)
			}
			return ctx.Err()
		case ev := <-c.events:
			if err := c.event(ctx, ev); err != nil {
				return err
			}
			if !c.inTxn && c.unflushed > 0 {
				if len(c.events) == 0 || c.unflushed >= groupCommitTxns || time.Since(c.firstUnfl) >= groupCommitLatency {
					if err := c.flush(ctx); err != nil {
						return err
					}
				}
			}
		case cmd := <-c.cmds:
			if c.inTxn && !cmd.anytime {
				c.deferred = append(c.deferred, cmd)
				continue
			}
			c.runCommand(ctx, cmd)
		}
	}
}

func (c *Collector) runCommand(ctx context.Context, cmd command) {
	err := cmd.fn()
	// Inside a transaction logs hold part of it: flushing waits for its end.
	if len(c.dirty) > 0 && !c.inTxn {
		if ferr := c.flush(ctx); ferr != nil && err == nil {
			err = ferr
		}
	}
	cmd.done <- err
}

func (c *Collector) event(ctx context.Context, ev replication.Event) error {
	switch ev.Kind {
	case replication.EventInvalidateAll:
		c.invalidateAll(ev.Reason)
	case replication.EventStart:
		if c.onStart != nil && c.onStart(ev.SystemID) {
			c.invalidateAll("database system identifier changed")
		}
		if pg.LSN(c.global.Load()) < ev.StartLSN {
			c.global.Store(uint64(ev.StartLSN))
		}
		if pg.LSN(c.flushed.Load()) < ev.StartLSN {
			c.flushed.Store(uint64(ev.StartLSN))
		}
	case replication.EventReset:
		c.abortTxn()
	case replication.EventBegin:
		if c.inTxn {
			c.abortTxn()
		}
		c.inTxn, c.xid, c.lsn = true, ev.Xid, ev.CommitLSN
		c.touched, c.buffering = c.touched[:0], c.buffering[:0]
		c.txnBytes = 0
	case replication.EventChange:
		if !c.inTxn {
			return nil
		}
		if c.maxTxnBytes > 0 {
			c.txnBytes += rowBytes(ev.Change.Old) + rowBytes(ev.Change.New)
			if c.txnBytes > c.maxTxnBytes {
				c.tooBig(ev.Change.Relation.ID)
				return nil
			}
		}
		for _, s := range c.routeChange(&ev.Change) {
			if !s.snapKnown {
				c.buffer(s, ev.Change)
				continue
			}
			if !s.tx.decided || s.tx.lsn != c.lsn {
				c.touched = append(c.touched, s)
			}
			if err := s.apply(&ev.Change, c.xid, c.lsn, &c.enc); err != nil {
				c.applyFailed(s, err)
			}
			c.routed.Add(1)
		}
	case replication.EventCommit:
		if !c.inTxn {
			return nil
		}
		for _, s := range c.touched {
			if s.Gone() {
				continue
			}
			appended, err := s.commit()
			if err != nil {
				c.applyFailed(s, err)
				continue
			}
			if appended {
				c.dirty[s] = struct{}{}
			}
		}
		c.recent[c.seq%recentXids] = c.xid
		c.seq++
		c.txns.Add(1)
		c.inTxn = false
		c.pendingEnd, c.pendingLSN = ev.EndLSN, c.lsn
		if c.unflushed == 0 {
			c.firstUnfl = time.Now()
		}
		c.unflushed++
		for _, cmd := range c.deferred {
			c.runCommand(ctx, cmd)
		}
		c.deferred = c.deferred[:0]
	}
	return nil
}

// tooBig invalidates the shapes of a transaction over maxTxnBytes: those
// it touched so far and those on the table of its current change.
// (Galvani's memory does not grow with a transaction, so this limit is a
// policy, not a safeguard; upstream purges every shape instead.)
func (c *Collector) tooBig(rel pg.OID) {
	victims := append(append([]*Shape{}, c.touched...), c.buffering...)
	victims = append(victims, c.shapesOf(rel)...)
	for _, s := range victims {
		if s.Gone() {
			continue
		}
		c.log.Warn("transaction exceeds ELECTRIC_EXPERIMENTAL_MAX_TXN_SIZE; invalidating shape", "handle", s.handle, "limit", c.maxTxnBytes)
		s.rollback()
		c.unroute(s)
		c.onGone(s, "transaction too large")
	}
}

func rowBytes(r pg.Row) int64 {
	var n int64
	for _, v := range r {
		n += int64(len(v.Text))
	}
	return n
}

// invalidateAll ends every shape: the stream can no longer vouch for what
// their logs hold.
func (c *Collector) invalidateAll(reason string) {
	c.abortTxn()
	var all []*Shape
	for _, t := range c.tables {
		all = append(all, t.All()...)
	}
	if len(all) > 0 {
		c.log.Warn("invalidating every shape", "reason", reason, "shapes", len(all))
	}
	for _, s := range all {
		c.unroute(s)
		c.onGone(s, reason)
	}
}

// routeChange returns the shapes a change may affect: by the index of
// their where clauses' conditions, on the old and the new row; every shape
// of the table for a truncate.
func (c *Collector) routeChange(ch *pg.Change) []*Shape {
	t := c.tables[ch.Relation.ID]
	if t == nil {
		return nil
	}
	if ch.Op == pg.OpTruncate {
		return t.All()
	}
	rel := ch.Relation
	value := func(row pg.Row) router.Value {
		return func(col string) (string, bool) {
			i := rel.ColumnIndex(col)
			if i < 0 || i >= len(row) || row[i].Null {
				return "", false
			}
			return row[i].Text, true
		}
	}
	switch {
	case ch.Old != nil && ch.New != nil && !ch.OldKeyOnly:
		c.candidates = t.Route(c.candidates[:0], c.seen, value(ch.Old), value(ch.New))
	case ch.Op == pg.OpInsert:
		c.candidates = t.Route(c.candidates[:0], c.seen, value(ch.New))
	case ch.Op == pg.OpDelete && ch.Old != nil && !ch.OldKeyOnly:
		c.candidates = t.Route(c.candidates[:0], c.seen, value(ch.Old))
	default:
		// Without the old row nothing can be ruled out; such a change
		// invalidates the shapes it reaches.
		c.candidates = append(c.candidates[:0], t.All()...)
	}
	return c.candidates
}

// buffer keeps a change for a shape whose snapshot is not yet known.
func (c *Collector) buffer(s *Shape, ch pg.Change) {
	n := len(s.buffered)
	if n == 0 || s.buffered[n-1].lsn != c.lsn {
		s.buffered = append(s.buffered, bufferedTxn{xid: c.xid, lsn: c.lsn})
		c.buffering = append(c.buffering, s)
		n++
	}
	s.buffered[n-1].changes = append(s.buffered[n-1].changes, ch)
}

// abortTxn discards the partial transaction of an interrupted stream;
// Postgres sends it again from the acknowledged LSN.
func (c *Collector) abortTxn() {
	if !c.inTxn {
		return
	}
	for _, s := range c.touched {
		if err := s.rollback(); err != nil {
			c.applyFailed(s, err)
		}
	}
	for _, s := range c.buffering {
		if n := len(s.buffered); n > 0 && s.buffered[n-1].lsn == c.lsn {
			s.buffered = s.buffered[:n-1]
		}
	}
	c.inTxn = false
	c.touched, c.buffering = c.touched[:0], c.buffering[:0]
}

// flush is the group commit: hand every dirty log's records to its file
// and publish them to readers, then make them durable together (see
// shapelog's package documentation for why publishing may come first),
// then advance the global and acknowledged LSNs.
func (c *Collector) flush(ctx context.Context) error {
	if len(c.dirty) > 0 {
		shapes := make([]*Shape, 0, len(c.dirty))
		logs := make([]*shapelog.Log, 0, len(c.dirty))
		for s := range c.dirty {
			if err := s.wlog.Write(); err != nil {
				c.applyFailed(s, err)
				continue
			}
			s.wlog.Publish()
			shapes = append(shapes, s)
			logs = append(logs, s.wlog)
		}
		for i, err := range shapelog.SyncAll(logs) {
			if err != nil {
				c.applyFailed(shapes[i], err)
			}
		}
		clear(c.dirty)
	}
	if c.unflushed > 0 {
		c.global.Store(uint64(c.pendingLSN))
		c.flushed.Store(uint64(c.pendingEnd))
		c.unflushed = 0
	}
	return nil
}
