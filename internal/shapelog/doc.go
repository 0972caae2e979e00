// Package shapelog stores each shape's log as append-only files in the
// shape's directory: the initial snapshot, written once, and the change log,
// appended to by the shape's single writer and read concurrently by any
// number of readers.
//
// # Files
//
// snapshot.jsonl holds the snapshot's messages (row inserts, then the
// snapshot-end control message) as JSON lines. snapshot.idx holds the byte
// offsets in snapshot.jsonl where each snapshot chunk ends, as a version
// byte (1) followed by big-endian uint64s; it is written and fsynced after
// snapshot.jsonl, so a snapshot without an index is incomplete. A reader
// serves a snapshot chunk by streaming its lines from snapshot.jsonl
// (OpenSnapshotChunk), each newline but the last turned into a comma.
//
// changes.log holds change records, back to back:
//
//	+--------+--------+---------+---------+-------+-----------+
//	| len u32| crc u32| tx i64  | op u64  | flags | body      |
//	+--------+--------+---------+---------+-------+-----------+
//	  4        4        8         8         1       len bytes
//
// All integers are big-endian. crc is CRC-32C (Castagnoli) over tx, op,
// flags and body. body is the message JSON the server sends. flags bit 0
// (FlagLast) marks the shape's last record of a transaction: the file's
// valid content ends after the last record that carries it and passes its
// checksum. Open truncates anything after that point (a torn write, or a
// transaction whose commit never became durable), so a torn tail is never
// served.
//
// # Chunks
//
// The change log is divided into chunks for caching: after appending a
// record, if the bodies appended since the previous chunk boundary reach the
// chunk threshold, the chunk ends after that record. Boundaries depend only
// on the sequence of records and the threshold, so a log rebuilt by replay
// after a crash has the same boundaries.
//
// # Durability
//
// The writer appends a transaction's records, hands them to the file at
// the commit (Write) and publishes them to readers (Publish) before they
// are on disk; making them durable (SyncData) comes after, for many logs
// at once (SyncAll), and only then may the replication slot be
// acknowledged past the transaction. Serving records before they are on
// disk is safe because they can only be lost with the machine, and then
// the slot, not yet acknowledged past them, replays the same transactions:
// Open cuts the log after its last valid FlagLast record, the replay
// appends the same records at the same offsets (offsets come from the
// WAL), and a client that had already read them sees nothing change. A
// crash of the process alone loses nothing written.
//
// # Invariants
//
// Offsets strictly increase. One goroutine owns a Log's write side
// (Append, Write, Publish, SyncData); readers run alongside it and never
// observe bytes past the transaction-aligned end published by the last
// Publish. Readers that wait for new data take the change channel and the
// published offset under the same lock, so no wake-up is lost (see Head).
package shapelog
