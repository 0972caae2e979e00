package shapes

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/replication"
	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/internal/snapshot"
	"github.com/galvani-sync/galvani/protocol"
)

var testRel = &pg.Relation{
	ID: 42, Schema: "public", Name: "t",
	Columns:         []pg.Column{{Name: "id", TypeOID: 23, TypeName: "int4", PKIndex: 0}, {Name: "v", TypeOID: 25, TypeName: "text", PKIndex: -1}},
	PK:              []int{0},
	ReplicaIdentity: 'f',
}

// newTestShape makes a shape with an empty, complete snapshot.
func newTestShape(t *testing.T, handle string) *Shape {
	t.Helper()
	dir := t.TempDir()
	l, err := shapelog.Create(dir, shapelog.Options{ChunkThreshold: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := l.NewSnapshotWriter()
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Finish([]byte(`{"headers":{"control":"snapshot-end"}}`)); err != nil {
		t.Fatal(err)
	}
	s, err := newShape(handle, Definition{Schema: "public", Table: "t", Replica: protocol.ReplicaDefault, Log: protocol.LogFull}, testRel, l, dir, shapelog.Options{ChunkThreshold: 1 << 20}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return s
}

// runCollector runs a Collector until the test ends.
func runCollector(t *testing.T, shapes ...*Shape) *Collector {
	t.Helper()
	c := NewCollector(slog.New(slog.DiscardHandler), func(*Shape, string) {})
	for _, s := range shapes {
		c.restore(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return c
}

// txn feeds one transaction inserting the given ids.
func txn(t *testing.T, c *Collector, xid uint32, lsn pg.LSN, ids ...int) {
	t.Helper()
	ctx := context.Background()
	send := func(ev replication.Event) {
		if err := c.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	send(replication.Event{Kind: replication.EventBegin, Xid: xid, CommitLSN: lsn})
	for i, id := range ids {
		send(replication.Event{Kind: replication.EventChange, Xid: xid, CommitLSN: lsn, Change: pg.Change{
			Op: pg.OpInsert, Relation: testRel, Index: uint64(i),
			New: pg.Row{{Text: strconv.Itoa(id)}, {Text: "x"}},
		}})
	}
	send(replication.Event{Kind: replication.EventCommit, Xid: xid, CommitLSN: lsn, EndLSN: lsn + 1})
}

// waitFlushed waits until the Collector acknowledges end.
func waitFlushed(t *testing.T, c *Collector, end pg.LSN) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Flushed() < end {
		if time.Now().After(deadline) {
			t.Fatalf("Flushed() = %v, want %v", c.Flushed(), end)
		}
		time.Sleep(time.Millisecond)
	}
}

// logIDs returns the ids of the inserts in s's durable log, in order.
func logIDs(t *testing.T, s *Shape) []int {
	t.Helper()
	body, _, _, err := s.log.Load().AppendChanges([]byte("["), protocol.SnapshotEnd)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []struct {
		Value   map[string]string `json:"value"`
		Headers map[string]any    `json:"headers"`
	}
	if err := json.Unmarshal(append(body, ']'), &msgs); err != nil {
		t.Fatalf("log is not a JSON array: %v: %s", err, body)
	}
	var ids []int
	for _, m := range msgs {
		id, _ := strconv.Atoi(m.Value["id"])
		ids = append(ids, id)
	}
	return ids
}

// TestCollectorSkipsTransactionsInSnapshot: a transaction is applied iff
// the shape's snapshot does not contain it (protocol §12.2).
func TestCollectorSkipsTransactionsInSnapshot(t *testing.T) {
	s := newTestShape(t, "h1")
	s.snap, s.snapKnown = pg.Snapshot{Xmin: 100, Xmax: 105, Xip: []uint64{102}}, true
	c := runCollector(t, s)
	for i, xid := range []uint32{99, 101, 102, 104, 106, 107} {
		txn(t, c, xid, pg.LSN(1000+10*i), int(xid))
	}
	waitFlushed(t, c, 1000+10*5+1)
	if got, want := logIDs(t, s), []int{102, 106, 107}; !slices.Equal(got, want) {
		t.Errorf("log holds transactions %v, want %v (99, 101, 104 are in the snapshot)", got, want)
	}
}

// TestCollectorSkipsReplayedTransactions: after a restart Postgres resends
// from the acknowledged LSN; transactions already in the log are skipped.
func TestCollectorSkipsReplayedTransactions(t *testing.T) {
	s := newTestShape(t, "h1")
	s.snapKnown = true
	c := runCollector(t, s)
	txn(t, c, 10, 2000, 1, 2)
	txn(t, c, 11, 2010, 3)
	waitFlushed(t, c, 2011)
	// The same WAL again, then a new transaction.
	txn(t, c, 10, 2000, 1, 2)
	txn(t, c, 11, 2010, 3)
	txn(t, c, 12, 2020, 4)
	waitFlushed(t, c, 2021)
	if got, want := logIDs(t, s), []int{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("log = %v, want %v: replayed transactions must not be appended twice", got, want)
	}
}

// TestCollectorResetDropsPartialTransaction: a stream interrupted inside a
// transaction leaves nothing of it; the resent transaction is appended once.
func TestCollectorResetDropsPartialTransaction(t *testing.T) {
	s := newTestShape(t, "h1")
	s.snapKnown = true
	c := runCollector(t, s)
	ctx := context.Background()
	txn(t, c, 10, 3000, 1)
	c.Handle(ctx, replication.Event{Kind: replication.EventBegin, Xid: 11, CommitLSN: 3010})
	c.Handle(ctx, replication.Event{Kind: replication.EventChange, Xid: 11, CommitLSN: 3010, Change: pg.Change{
		Op: pg.OpInsert, Relation: testRel, New: pg.Row{{Text: "2"}, {Text: "x"}}}})
	c.Handle(ctx, replication.Event{Kind: replication.EventReset})
	txn(t, c, 11, 3010, 2, 3)
	waitFlushed(t, c, 3011)
	if got, want := logIDs(t, s), []int{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("log = %v, want %v", got, want)
	}
}

// TestCollectorAcknowledgesUnrelatedTransactions: a transaction no shape
// cares about is acknowledged at once.
func TestCollectorAcknowledgesUnrelatedTransactions(t *testing.T) {
	c := runCollector(t)
	txn(t, c, 10, 4000, 1)
	waitFlushed(t, c, 4001)
	if got := c.GlobalLSN(); got != 4000 {
		t.Errorf("GlobalLSN() = %v, want 4000", got)
	}
}

// TestCollectorRetriesSnapshotRacingCommit: a transaction the stream
// delivered before the shape registered, but that a new snapshot does not
// yet see, would be missing from both; setSnapshot asks for a new one.
func TestCollectorRetriesSnapshotRacingCommit(t *testing.T) {
	c := runCollector(t)
	txn(t, c, 50, 5000, 1)
	waitFlushed(t, c, 5001)
	s := newTestShape(t, "h2")
	ctx := context.Background()
	if err := c.register(ctx, s); err != nil {
		t.Fatal(err)
	}
	txn(t, c, 51, 5010, 2) // buffered until the snapshot is known
	// Events and commands reach the Collector on separate channels: wait
	// until the transaction is in, or setSnapshot could come first.
	waitFlushed(t, c, 5011)
	err := c.setSnapshot(ctx, s, pg.Snapshot{Xmin: 50, Xmax: 52, Xip: []uint64{50, 51}})
	if !errors.Is(err, snapshot.ErrRetry) {
		t.Fatalf("setSnapshot with xid 50 in progress = %v, want ErrRetry", err)
	}
	if err := c.setSnapshot(ctx, s, pg.Snapshot{Xmin: 51, Xmax: 52, Xip: []uint64{51}}); err != nil {
		t.Fatalf("setSnapshot = %v", err)
	}
	if got, want := logIDs(t, s), []int{2}; !slices.Equal(got, want) {
		t.Errorf("log = %v, want %v: the buffered transaction, invisible to the snapshot, is applied", got, want)
	}
}

// TestCollectorSnapshotKnownMidTransaction: a shape whose snapshot becomes
// known while a (large) transaction streams joins it there: the buffered
// part is applied and the rest flows directly, committed as one.
func TestCollectorSnapshotKnownMidTransaction(t *testing.T) {
	c := runCollector(t)
	s := newTestShape(t, "h3")
	ctx := context.Background()
	if err := c.register(ctx, s); err != nil {
		t.Fatal(err)
	}
	insert := func(i uint64, id int) replication.Event {
		return replication.Event{Kind: replication.EventChange, Xid: 60, CommitLSN: 6000, Change: pg.Change{
			Op: pg.OpInsert, Relation: testRel, Index: i, New: pg.Row{{Text: strconv.Itoa(id)}, {Text: "x"}}}}
	}
	c.Handle(ctx, replication.Event{Kind: replication.EventBegin, Xid: 60, CommitLSN: 6000})
	c.Handle(ctx, insert(0, 1))
	if err := c.setSnapshot(ctx, s, pg.Snapshot{Xmin: 60, Xmax: 61, Xip: []uint64{60}}); err != nil {
		t.Fatalf("setSnapshot inside a transaction = %v", err)
	}
	c.Handle(ctx, insert(1, 2))
	c.Handle(ctx, replication.Event{Kind: replication.EventCommit, Xid: 60, CommitLSN: 6000, EndLSN: 6001})
	waitFlushed(t, c, 6001)
	if got, want := logIDs(t, s), []int{1, 2}; !slices.Equal(got, want) {
		t.Errorf("log = %v, want %v", got, want)
	}
}
