package shapelog_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/protocol"
)

// rec is a change record as a test writes it and expects to read it back.
type rec struct {
	Off   protocol.Offset
	Flags byte
	Body  string
}

// off is shorthand for an offset literal.
func off(tx int64, op uint64) protocol.Offset { return protocol.Offset{Tx: tx, Op: op} }

const (
	snapshotRow = `{"key":"\"public\".\"items\"/\"1\"","value":{"id":"1"},"headers":{"operation":"insert"}}`
	snapshotEnd = `{"headers":{"control":"snapshot-end"}}`
)

// txBody is the JSON body of change i of n in transaction tx; pad makes it
// longer. Readers decode it to check they see whole transactions.
type txBody struct {
	Tx  int64  `json:"tx"`
	I   int    `json:"i"`
	N   int    `json:"n"`
	Pad string `json:"pad,omitempty"`
}

// txn returns the n records of the transaction with commit LSN tx, at ops
// 0, 2, 4, … (protocol §4.3), the last one carrying FlagLast.
func txn(tx int64, n, pad int) []rec {
	recs := make([]rec, n)
	for i := range recs {
		b, err := json.Marshal(txBody{Tx: tx, I: i, N: n, Pad: strings.Repeat("x", pad)})
		if err != nil {
			panic(err)
		}
		recs[i] = rec{Off: off(tx, uint64(2*i)), Body: string(b)}
	}
	recs[n-1].Flags = shapelog.FlagLast
	return recs
}

// txns concatenates transactions.
func txns(ts ...[]rec) []rec {
	var all []rec
	for _, t := range ts {
		all = append(all, t...)
	}
	return all
}

// newLog creates a log in a fresh directory with a one-row snapshot. The
// log is checked and closed when the test ends.
func newLog(tb testing.TB, threshold int64) (*shapelog.Log, string) {
	tb.Helper()
	dir := tb.TempDir()
	l, err := shapelog.Create(dir, shapelog.Options{ChunkThreshold: threshold})
	if err != nil {
		tb.Fatalf("Create(%q): %v", dir, err)
	}
	tb.Cleanup(func() { closeChecked(tb, l, threshold) })
	sw, err := l.NewSnapshotWriter()
	if err != nil {
		tb.Fatalf("NewSnapshotWriter: %v", err)
	}
	if err := sw.Add([]byte(snapshotRow)); err != nil {
		tb.Fatalf("SnapshotWriter.Add: %v", err)
	}
	if err := sw.Finish([]byte(snapshotEnd)); err != nil {
		tb.Fatalf("SnapshotWriter.Finish: %v", err)
	}
	return l, dir
}

// openLog opens the log in dir; it is checked and closed when the test ends.
func openLog(tb testing.TB, dir string, threshold int64) *shapelog.Log {
	tb.Helper()
	l, err := shapelog.Open(dir, shapelog.Options{ChunkThreshold: threshold})
	if err != nil {
		tb.Fatalf("Open(%q): %v", dir, err)
	}
	tb.Cleanup(func() { closeChecked(tb, l, threshold) })
	return l
}

// closeChecked verifies the invariants of an open log, then closes it.
func closeChecked(tb testing.TB, l *shapelog.Log, threshold int64) {
	if !l.Closed() {
		checkLog(tb, l, threshold)
	}
	if err := l.Close(); err != nil {
		tb.Errorf("Close: %v", err)
	}
}

// checkLog verifies what the package documentation promises of a log:
// changes.log decodes as records with strictly increasing offsets and good
// checksums up to the durable offset, which ends a transaction (FlagLast);
// readers see exactly those records; and the chunks they see are the ones
// the threshold rule gives for that sequence of records.
func checkLog(tb testing.TB, l *shapelog.Log, threshold int64) {
	tb.Helper()
	head, _ := l.Head()
	disk, _ := decodeFile(tb, filepath.Join(l.Dir(), "changes.log"))
	var durable []rec
	if !head.IsSnapshot() {
		for _, r := range disk {
			if !head.Less(r.Off) {
				durable = append(durable, r)
			}
		}
		if len(durable) == 0 || durable[len(durable)-1].Off != head {
			tb.Errorf("Head() = %v, which is no record in changes.log", head)
			return
		}
		if durable[len(durable)-1].Flags&shapelog.FlagLast == 0 {
			tb.Errorf("Head() = %v, a record without FlagLast: readers would see half a transaction", head)
		}
	}
	for i := 1; i < len(disk); i++ {
		if !disk[i-1].Off.Less(disk[i].Off) {
			tb.Errorf("changes.log: record %d at %v follows %v", i, disk[i].Off, disk[i-1].Off)
		}
	}
	bodies, ends, err := walk(l, protocol.BeforeAll)
	if err != nil {
		tb.Errorf("reading the log from -1: %v", err)
		return
	}
	if diff := cmp.Diff(recBodies(durable), bodies); diff != "" {
		tb.Errorf("reading the log from -1 gives other bodies than changes.log up to Head() = %v (-file +read):\n%s", head, diff)
	}
	if diff := cmp.Diff(walkEnds(durable, threshold), ends); diff != "" {
		tb.Errorf("reading the log from -1 gives other chunk ends than the threshold rule (-rule +read):\n%s", diff)
	}
	recs, err := eachAll(l, protocol.BeforeAll)
	if err != nil {
		tb.Errorf("EachChange from -1: %v", err)
		return
	}
	if diff := cmp.Diff(recOffsets(durable), recOffsets(recs)); diff != "" {
		tb.Errorf("EachChange from -1 gives other offsets than changes.log up to Head() = %v (-file +read):\n%s", head, diff)
	}
}

// eachAll reads the log from offset from to its durable end with
// EachChange, one chunk per call, keeping each record's offset and body.
func eachAll(l *shapelog.Log, from protocol.Offset) ([]rec, error) {
	var recs []rec
	for {
		n := 0
		end, err := l.EachChange(from, func(o protocol.Offset, body []byte) {
			recs = append(recs, rec{Off: o, Body: string(body)})
			n++
		})
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if end != from {
				return nil, fmt.Errorf("EachChange(%v) calls fn for no record and returns %v, want %v", from, end, from)
			}
			return recs, nil
		}
		if last := recs[len(recs)-1].Off; end != last {
			return nil, fmt.Errorf("EachChange(%v) returns %v, but its last record is at %v", from, end, last)
		}
		from = end
	}
}

func recOffsets(recs []rec) []protocol.Offset {
	var offs []protocol.Offset
	for _, r := range recs {
		offs = append(offs, r.Off)
	}
	return offs
}

// decodeFile decodes the change records of path following the format in
// the package documentation, independently of the package's own decoder.
// It stops at the first record that is incomplete or fails its checksum and
// returns the records and the number of bytes they cover.
func decodeFile(tb testing.TB, path string) ([]rec, int) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read %s: %v", path, err)
	}
	return decode(data)
}

const headerSize = 4 + 4 + 8 + 8 + 1

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func decode(data []byte) ([]rec, int) {
	var recs []rec
	pos := 0
	for len(data)-pos >= headerSize {
		h := data[pos : pos+headerSize]
		n := int(binary.BigEndian.Uint32(h[0:]))
		if len(data)-pos-headerSize < n {
			break
		}
		body := data[pos+headerSize : pos+headerSize+n]
		crc := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, body)
		if crc != binary.BigEndian.Uint32(h[4:]) {
			break
		}
		recs = append(recs, rec{
			Off:   off(int64(binary.BigEndian.Uint64(h[8:])), binary.BigEndian.Uint64(h[16:])),
			Flags: h[24],
			Body:  string(body),
		})
		pos += headerSize + n
	}
	return recs, pos
}

// encodedSize is the size of recs in changes.log.
func encodedSize(recs []rec) int64 {
	var n int64
	for _, r := range recs {
		n += headerSize + int64(len(r.Body))
	}
	return n
}

// appendAll appends recs without syncing.
func appendAll(tb testing.TB, l *shapelog.Log, recs []rec) {
	tb.Helper()
	for _, r := range recs {
		if err := l.Append(r.Off, r.Flags, []byte(r.Body)); err != nil {
			tb.Fatalf("Append(%v, %d, %.40q…): %v", r.Off, r.Flags, r.Body, err)
		}
	}
}

// commit appends recs and syncs.
func commit(tb testing.TB, l *shapelog.Log, recs []rec) {
	tb.Helper()
	appendAll(tb, l, recs)
	if err := l.Sync(); err != nil {
		tb.Fatalf("Sync: %v", err)
	}
}

// read calls AppendChanges(nil, from) and splits the result into bodies.
func read(l *shapelog.Log, from protocol.Offset) ([]string, protocol.Offset, error) {
	out, end, n, err := l.AppendChanges(nil, from)
	if err != nil {
		return nil, end, err
	}
	bodies, err := splitArray(out)
	if err != nil {
		return nil, end, err
	}
	if len(bodies) != n {
		return nil, end, fmt.Errorf("AppendChanges(nil, %v) reports %d records, returns %d", from, n, len(bodies))
	}
	if n == 0 && end != from {
		return nil, end, fmt.Errorf("AppendChanges(nil, %v) returns no records and offset %v, want %v", from, end, from)
	}
	return bodies, end, nil
}

// splitArray parses the comma-separated JSON values a reader appends.
func splitArray(out []byte) ([]string, error) {
	var msgs []json.RawMessage
	if err := json.Unmarshal([]byte("["+string(out)+"]"), &msgs); err != nil {
		return nil, fmt.Errorf("[%s] is not a JSON array: %w", out, err)
	}
	bodies := make([]string, len(msgs))
	for i, m := range msgs {
		bodies[i] = string(m)
	}
	return bodies, nil
}

// walk reads the log from offset from to its durable end the way a client
// does, one chunk per request, and returns the bodies and the offset each
// request ended at.
func walk(l *shapelog.Log, from protocol.Offset) ([]string, []protocol.Offset, error) {
	var bodies []string
	var ends []protocol.Offset
	for {
		b, end, err := read(l, from)
		if err != nil {
			return nil, nil, err
		}
		if len(b) == 0 {
			return bodies, ends, nil
		}
		if !from.Less(end) {
			return nil, nil, fmt.Errorf("AppendChanges(nil, %v) ends at %v, not after it", from, end)
		}
		bodies = append(bodies, b...)
		ends = append(ends, end)
		from = end
	}
}

// mustWalk is walk for the test goroutine.
func mustWalk(tb testing.TB, l *shapelog.Log, from protocol.Offset) ([]string, []protocol.Offset) {
	tb.Helper()
	bodies, ends, err := walk(l, from)
	if err != nil {
		tb.Fatalf("reading the log from %v: %v", from, err)
	}
	return bodies, ends
}

// chunkEnds applies the rule of the package documentation: after a record,
// if the bodies since the previous boundary reach the threshold, the chunk
// ends after it.
func chunkEnds(recs []rec, threshold int64) []protocol.Offset {
	var ends []protocol.Offset
	var n int64
	for _, r := range recs {
		n += int64(len(r.Body))
		if n >= threshold {
			ends = append(ends, r.Off)
			n = 0
		}
	}
	return ends
}

// walkEnds is the sequence of offsets a walk from -1 over recs ends at: the
// closed chunks' last offsets, then the last record's if its chunk is open.
func walkEnds(recs []rec, threshold int64) []protocol.Offset {
	ends := chunkEnds(recs, threshold)
	if len(recs) > 0 && (len(ends) == 0 || ends[len(ends)-1] != recs[len(recs)-1].Off) {
		ends = append(ends, recs[len(recs)-1].Off)
	}
	return ends
}

func recBodies(recs []rec) []string {
	var b []string
	for _, r := range recs {
		b = append(b, r.Body)
	}
	return b
}

// closed reports whether ch is closed, without blocking.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func fileSize(tb testing.TB, path string) int64 {
	tb.Helper()
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatalf("stat: %v", err)
	}
	return st.Size()
}
