// Package shapes is Galvani's engine. It turns a shape request's validated
// parameters into a Definition (normalised, hashed into a handle), keeps the
// Registry of live shapes (created on demand, persisted, restored on
// restart, invalidated), and runs the Collector, which feeds every
// replicated transaction to the shapes it affects and makes their logs
// durable before the LSN is acknowledged.
//
// # Life of a shape
//
//  1. Resolve finds the live shape for a definition or creates it: the table
//     is added to the publication, the shape is registered with the
//     Collector (which from then on buffers the table's transactions for
//     it), the snapshot transaction starts and reports pg_current_snapshot()
//     to the Collector, which replays the buffer through the visibility
//     filter; rows stream into the snapshot file; meta.json is written last.
//     A directory without meta.json is an interrupted creation and is
//     removed on startup, so a crash never leaves a half-created shape.
//  2. The Collector appends each later transaction's changes (converted per
//     protocol §5.6) to the shape's log, skipping transactions the snapshot
//     already contains (§12.2) and, after a restart, transactions at or
//     below the log's last offset, so replay writes nothing twice.
//  3. A shape is invalidated by TRUNCATE, by a schema change that affects
//     it, or by deletion; its handle never comes back.
//
// # Invariants
//
// Acknowledge after durability: Collector.Flushed only moves past a
// transaction once every log it touched is fsynced (group commit at
// transaction boundaries). Readers see only published, complete
// transactions. Offsets are (commit LSN, 2 × change index), a pure function
// of the WAL.
package shapes
