package replication

import (
	"context"
	"time"

	"github.com/galvani-sync/galvani/internal/pg"
)

// EventKind says what an Event carries.
type EventKind uint8

// The kinds of event a Stream emits.
const (
	// EventBegin starts a transaction: Xid and CommitLSN are set.
	EventBegin EventKind = iota + 1
	// EventChange carries one change of the current transaction.
	EventChange
	// EventCommit ends the current transaction: CommitLSN and EndLSN are set.
	EventCommit
	// EventReset says the stream was interrupted and will restart from the
	// last acknowledged LSN: any transaction begun and not committed must be
	// discarded.
	EventReset
	// EventStart is emitted once the stream is established, with StartLSN
	// set to the position Postgres resumes from and SystemID/Timeline
	// identifying the database cluster's history.
	EventStart
	// EventInvalidateAll says the stream cannot vouch for anything sent
	// before (the slot or publication was recreated, the slot was lost):
	// every shape must be invalidated. Reason says why.
	EventInvalidateAll
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventBegin:
		return "begin"
	case EventChange:
		return "change"
	case EventCommit:
		return "commit"
	case EventReset:
		return "reset"
	case EventStart:
		return "start"
	case EventInvalidateAll:
		return "invalidate-all"
	}
	return "unknown"
}

// Event is one step of the replication stream.
type Event struct {
	Kind       EventKind
	Xid        uint32    // Begin
	CommitLSN  pg.LSN    // Begin, Commit: the LSN of the commit record (the offset's tx part)
	EndLSN     pg.LSN    // Commit: the LSN just past the transaction; what gets acknowledged
	CommitTime time.Time // Begin, Commit
	StartLSN   pg.LSN    // Start
	SystemID   string    // Start: IDENTIFY_SYSTEM's systemid
	Timeline   int32     // Start: IDENTIFY_SYSTEM's timeline
	Reason     string    // InvalidateAll
	Change     pg.Change // Change
}

// Sink consumes the stream. Handle is called from the stream's goroutine,
// in WAL order, and may block to apply backpressure. Flushed returns the
// end LSN of the last transaction that is durable everywhere it must be;
// Handle must not return before it has taken ownership of ev's contents.
type Sink interface {
	Handle(ctx context.Context, ev Event) error
	Flushed() pg.LSN
}
