// Package replication reads a Postgres logical replication stream (pgoutput,
// protocol version 1) and hands decoded transactions to a Sink, one event at
// a time, in WAL order. It owns the replication slot and the publication:
// it creates them when missing and reuses them on restart, and it adds tables
// to the publication on demand (Publisher).
//
// It knows nothing of shapes. The Sink tells it, through Flushed, the LSN up
// to which everything handed over is durable; only that LSN is acknowledged
// to Postgres (architecture invariant 1), so whatever a crash loses is sent
// again on restart.
//
// Values arrive in text format, produced by each type's output function
// under the session settings of DisplaySettings, so they are identical to
// the snapshot path's.
package replication
