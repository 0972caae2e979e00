package client

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/galvani-sync/galvani/protocol"
)

// DefaultSubscriptionBuffer is the buffer of a subscription made with a
// non-positive size.
const DefaultSubscriptionBuffer = 64

// errRunTwice reports a second Shape.Run.
var errRunTwice = errors.New("client: Shape.Run called twice")

// Row is a materialised row: column name → Postgres text value, nil for
// SQL NULL.
type Row map[string]*string

// Get returns a column's value; ok is false when it is NULL or absent.
func (r Row) Get(column string) (value string, ok bool) {
	v := r[column]
	if v == nil {
		return "", false
	}
	return *v, true
}

// Clone returns a copy of r that shares nothing with it.
func (r Row) Clone() Row {
	if r == nil {
		return nil
	}
	c := make(Row, len(r))
	for k, v := range r {
		if v != nil {
			s := *v
			v = &s
		}
		c[k] = v
	}
	return c
}

// Equal reports whether r and o hold the same columns and values.
func (r Row) Equal(o Row) bool {
	return maps.EqualFunc(r, o, func(a, b *string) bool {
		return (a == nil) == (b == nil) && (a == nil || *a == *b)
	})
}

// Change is the net effect of one data message on a Shape's rows. Its
// rows are shared with the Shape and every subscriber: do not modify them
// (Clone first).
type Change struct {
	Operation protocol.Operation
	Key       string
	// Row is the whole row after the change (an update's partial value
	// merged into the old row); for a delete, the row as it was.
	Row Row
	// OldRow is the row before an update, or before an insert that
	// replaced a row with the same key; nil otherwise.
	OldRow Row
	// KeyChangeTo (on a delete) and KeyChangeFrom (on an insert) are set
	// when the pair is a primary-key change.
	KeyChangeTo, KeyChangeFrom string
}

// Update is what a Shape tells its subscribers each time its rows reach a
// new consistent state (an up-to-date that brought changes, the first
// up-to-date, or the one completing a refetch).
type Update struct {
	// Changes are the row changes since the previous Update, in log
	// order; after a refetch, the difference between the old and the new
	// rows (deletes first).
	Changes []Change
	// Refetched reports that the server invalidated the shape and the
	// rows were rebuilt from a fresh snapshot.
	Refetched bool
	// Handle and Offset are the shape's position after this update.
	Handle, Offset string
}

// Shape materialises a shape's rows by key from a ShapeStream: inserts
// replace a row, updates merge their (possibly partial) values into it,
// deletes remove it; a primary-key change arrives as a delete of the old
// key and an insert of the new one. In changes_only mode an update or
// delete of a key never inserted is ignored, as the TypeScript client
// does.
//
// Rows only ever holds states the shape really had: messages are applied
// at up-to-date boundaries, and after a must-refetch the old rows stay
// visible until the new snapshot is complete, then are replaced at once.
//
// Drive a Shape either with Run, or by calling Apply with each batch of a
// stream you pull yourself. All methods are safe for concurrent use.
//
// # Subscriptions
//
// Subscribe returns a bounded channel of Updates. Delivery never blocks
// the Shape: a subscriber whose buffer is full when an Update is ready is
// dropped (its channel is closed and Err reports ErrSlowSubscriber). To
// catch up, subscribe again and then read Rows; an Update's changes may
// then repeat what Rows already shows, so apply them idempotently (set
// Change.Row, or delete the key).
type Shape struct {
	stream      *ShapeStream
	changesOnly bool
	running     atomic.Bool

	mu       sync.Mutex
	rows     map[string]Row
	pending  []protocol.Message // since the last up-to-date
	refetch  bool               // a must-refetch came: pending rebuilds rows
	synced   bool               // rows are a state reached since the last must-refetch
	first    bool               // no Update sent yet
	ready    chan struct{}      // closed while synced
	done     chan struct{}      // closed when Run returns
	runErr   error
	subs     map[*Subscription]struct{}
	handle   string
	offset   string
	schema   Schema
	received int // data messages received
}

// NewShape returns a Shape fed by stream. rows, when not nil, are the rows
// materialised up to the stream's starting Offset and Handle (as saved
// from an earlier Shape's Rows, Offset and Handle); nil starts empty.
func NewShape(stream *ShapeStream, rows map[string]Row) *Shape {
	s := &Shape{
		stream:      stream,
		changesOnly: stream.req.ChangesOnly,
		rows:        make(map[string]Row, len(rows)),
		first:       true,
		ready:       make(chan struct{}),
		done:        make(chan struct{}),
		subs:        map[*Subscription]struct{}{},
		handle:      stream.Handle(),
		offset:      stream.Offset(),
	}
	for k, r := range rows {
		s.rows[k] = r.Clone()
	}
	return s
}

// Shape returns a Shape for req, ready to Run.
func (c *Client) Shape(req ShapeRequest) (*Shape, error) {
	st, err := c.Stream(req)
	if err != nil {
		return nil, err
	}
	return NewShape(st, nil), nil
}

// Stream returns the stream the Shape reads.
func (s *Shape) Stream() *ShapeStream { return s.stream }

// Run pulls batches from the stream and applies them until ctx ends or the
// stream fails; it returns that error (ctx.Err() when ctx ended). When Run
// returns, every subscription is closed with the error as its Err and the
// stream's connection is released. Run may be called once.
func (s *Shape) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errRunTwice
	}
	var err error
	for {
		var b Batch
		if b, err = s.stream.Next(ctx); err != nil {
			break
		}
		s.Apply(b)
	}
	s.stream.release()
	s.mu.Lock()
	s.runErr = err
	close(s.done)
	for sub := range s.subs {
		s.drop(sub, err)
	}
	s.mu.Unlock()
	return err
}

// Apply applies one batch and, when the batch completes a consistent
// state, returns the resulting Update (ok is false otherwise) after
// delivering it to the subscribers.
func (s *Shape) Apply(b Batch) (u Update, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range b.Messages {
		switch {
		case m.IsData():
			s.pending = append(s.pending, m)
			s.received++
		case m.IsControl(protocol.ControlMustRefetch):
			s.pending = s.pending[:0]
			s.refetch = true
			if s.synced {
				s.synced = false
				s.ready = make(chan struct{})
			}
		}
	}
	if sc := s.stream.Schema(); sc != nil || b.MustRefetch {
		s.schema = sc
	}
	if !b.UpToDate {
		return Update{}, false
	}
	u = Update{Handle: b.Handle, Offset: b.Offset, Refetched: s.refetch}
	if s.refetch {
		fresh := make(map[string]Row, len(s.pending))
		for i := range s.pending {
			s.apply(fresh, &s.pending[i], nil)
		}
		u.Changes = diff(s.rows, fresh)
		s.rows, s.refetch = fresh, false
	} else {
		for i := range s.pending {
			s.apply(s.rows, &s.pending[i], &u.Changes)
		}
	}
	clear(s.pending)
	s.pending = s.pending[:0]
	s.handle, s.offset = b.Handle, b.Offset
	if !s.synced {
		s.synced = true
		close(s.ready)
	}
	if len(u.Changes) == 0 && !u.Refetched && !s.first {
		return u, true
	}
	s.first = false
	for sub := range s.subs {
		select {
		case sub.c <- u:
		default:
			s.drop(sub, ErrSlowSubscriber)
		}
	}
	return u, true
}

// apply applies one data message to rows, recording the change when
// changes is not nil.
func (s *Shape) apply(rows map[string]Row, m *protocol.Message, changes *[]Change) {
	old, exists := rows[m.Key]
	ch := Change{Operation: m.Headers.Operation, Key: m.Key, KeyChangeTo: m.Headers.KeyChangeTo, KeyChangeFrom: m.Headers.KeyChangeFrom}
	switch m.Headers.Operation {
	case protocol.OperationInsert:
		row := Row(m.Value).Clone()
		if row == nil {
			row = Row{}
		}
		rows[m.Key] = row
		ch.Row = row
		if exists {
			ch.OldRow = old
		}
	case protocol.OperationUpdate:
		if !exists && s.changesOnly {
			return
		}
		row := make(Row, len(old)+len(m.Value))
		maps.Copy(row, old)
		maps.Copy(row, Row(m.Value).Clone())
		rows[m.Key] = row
		ch.Row, ch.OldRow = row, old
	case protocol.OperationDelete:
		if !exists {
			return
		}
		delete(rows, m.Key)
		ch.Row = old
	default:
		return
	}
	if changes != nil {
		*changes = append(*changes, ch)
	}
}

// diff returns the changes turning old into fresh: deletes, then inserts
// and updates, each in key order.
func diff(old, fresh map[string]Row) []Change {
	var changes []Change
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := fresh[k]; !ok {
			changes = append(changes, Change{Operation: protocol.OperationDelete, Key: k, Row: old[k]})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(fresh)) {
		o, ok := old[k]
		switch {
		case !ok:
			changes = append(changes, Change{Operation: protocol.OperationInsert, Key: k, Row: fresh[k]})
		case !o.Equal(fresh[k]):
			changes = append(changes, Change{Operation: protocol.OperationUpdate, Key: k, Row: fresh[k], OldRow: o})
		}
	}
	return changes
}

// Rows returns a copy of the rows, by key.
func (s *Shape) Rows() map[string]Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Row, len(s.rows))
	for k, r := range s.rows {
		out[k] = r.Clone()
	}
	return out
}

// Get returns a copy of the row with the given key.
func (s *Shape) Get(key string) (Row, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[key]
	return r.Clone(), ok
}

// Len returns the number of rows.
func (s *Shape) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rows)
}

// Received returns how many data messages the Shape has been given,
// including those not yet applied (progress of an initial sync).
func (s *Shape) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Offset and Handle return the position of the rows Rows returns: persist
// them together to resume with NewShape.
func (s *Shape) Offset() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offset
}

// Handle returns the shape handle of the rows Rows returns.
func (s *Shape) Handle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handle
}

// Schema returns the shape's columns, nil until the first response.
func (s *Shape) Schema() Schema {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schema
}

// UpToDate reports whether the rows are complete: an up-to-date arrived
// since the start or the last must-refetch.
func (s *Shape) UpToDate() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced
}

// Wait blocks until the rows are complete (see UpToDate), ctx ends, or Run
// returns first (then it returns Run's error).
func (s *Shape) Wait(ctx context.Context) error {
	for {
		s.mu.Lock()
		synced, ready := s.synced, s.ready
		s.mu.Unlock()
		if synced {
			return nil
		}
		select {
		case <-ready:
		case <-s.done:
			s.mu.Lock()
			synced, err := s.synced, s.runErr
			s.mu.Unlock()
			if synced {
				return nil
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Subscription receives a Shape's Updates; see Shape for the policy for
// slow subscribers.
type Subscription struct {
	shape *Shape
	c     chan Update
	err   error // guarded by shape.mu
	done  bool  // guarded by shape.mu
}

// Subscribe returns a subscription whose channel buffers up to buffer
// Updates (DefaultSubscriptionBuffer when buffer ≤ 0). After Run has
// returned, the subscription is already closed.
func (s *Shape) Subscribe(buffer int) *Subscription {
	if buffer <= 0 {
		buffer = DefaultSubscriptionBuffer
	}
	sub := &Subscription{shape: s, c: make(chan Update, buffer)}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		sub.done, sub.err = true, s.runErr
		close(sub.c)
	default:
		s.subs[sub] = struct{}{}
	}
	return sub
}

// Updates returns the channel of Updates; it is closed when the
// subscription ends (see Err).
func (sub *Subscription) Updates() <-chan Update { return sub.c }

// Err reports why the channel closed: nil after Close, ErrSlowSubscriber,
// or the error Run returned.
func (sub *Subscription) Err() error {
	sub.shape.mu.Lock()
	defer sub.shape.mu.Unlock()
	return sub.err
}

// Close ends the subscription and closes its channel.
func (sub *Subscription) Close() {
	sub.shape.mu.Lock()
	defer sub.shape.mu.Unlock()
	sub.shape.drop(sub, nil)
}

// drop closes sub with err; the caller holds s.mu.
func (s *Shape) drop(sub *Subscription, err error) {
	if sub.done {
		return
	}
	sub.done, sub.err = true, err
	delete(s.subs, sub)
	close(sub.c)
}
