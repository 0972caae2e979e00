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
// snapshot.jsonl, so a snapshot without an index is incomplete.
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
// # Invariants
//
// Offsets strictly increase. One goroutine owns a Log's write side
// (Append, Sync); readers run alongside it and never observe bytes past the
// durable, transaction-aligned end published by the last Sync. Readers that
// wait for new data take the change channel and the durable offset under the
// same lock, so no wake-up is lost (see Head).
package shapelog
