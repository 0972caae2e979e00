package shapelog_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/shapelog"
	"github.com/galvani-sync/galvani/protocol"
)

// TestConcurrentReaders runs one writer and several readers the way the
// server does: readers take Head's offset and channel, read by offset and
// wait on the channel when caught up. Each reader checks that offsets
// strictly increase, that it sees every record exactly once and in order,
// and that a read ends either at the end of a whole transaction or at a
// chunk boundary, never in the middle of a transaction that is not yet
// durable.
func TestConcurrentReaders(t *testing.T) {
	const (
		threshold = 2000
		nTx       = 300
		nReaders  = 4
	)
	var all []rec
	var txs [][]rec
	for k := range nTx {
		tx := txn(int64(1000+10*k), 1+k%7, (k*53)%400)
		txs = append(txs, tx)
		all = append(all, tx...)
	}
	boundary := make(map[protocol.Offset]bool)
	for _, o := range chunkEnds(all, threshold) {
		boundary[o] = true
	}
	final := all[len(all)-1].Off

	l, _ := newLog(t, threshold)
	var wg sync.WaitGroup
	for range nReaders {
		wg.Go(func() {
			if err := readAllConcurrently(l, all, boundary, final); err != nil {
				t.Error(err)
			}
		})
	}
	// The writer syncs after one to three transactions.
	for k, tx := range txs {
		appendAll(t, l, tx)
		if k%3 != 1 {
			if err := l.Sync(); err != nil {
				t.Fatalf("Sync: %v", err)
			}
		}
	}
	if err := l.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	wg.Wait()
}

// readAllConcurrently reads l from after the snapshot until final, checking each read
// against all, the records the writer appends.
func readAllConcurrently(l *shapelog.Log, all []rec, boundary map[protocol.Offset]bool, final protocol.Offset) error {
	// A client that has read the snapshot's only chunk asks from 0_0.
	from, next := off(0, 0), 0 // next: index in all of the next record to see
	deadline := time.After(time.Minute)
	for from != final {
		head, changed := l.Head()
		if !from.Less(head) {
			select {
			case <-changed:
				continue
			case <-deadline:
				return fmt.Errorf("reader at %v: no new data for a minute", from)
			}
		}
		out, end, n, err := l.AppendChanges(nil, from)
		if err != nil {
			return fmt.Errorf("AppendChanges(nil, %v): %w", from, err)
		}
		if n == 0 {
			return fmt.Errorf("AppendChanges(nil, %v) returns nothing though Head() = %v", from, head)
		}
		if !from.Less(end) {
			return fmt.Errorf("AppendChanges(nil, %v) ends at %v, not after it", from, end)
		}
		bodies, err := splitArray(out)
		if err != nil {
			return fmt.Errorf("AppendChanges(nil, %v): %w", from, err)
		}
		if len(bodies) != n || next+n > len(all) {
			return fmt.Errorf("AppendChanges(nil, %v) = %d records, reports %d, %d remain", from, len(bodies), n, len(all)-next)
		}
		for i, b := range bodies {
			if want := all[next+i].Body; b != want {
				return fmt.Errorf("AppendChanges(nil, %v): record %d is %.60s, want %.60s", from, i, b, want)
			}
		}
		next += n
		last := all[next-1]
		if end != last.Off {
			return fmt.Errorf("AppendChanges(nil, %v) ends at %v, but its last record is at %v", from, end, last.Off)
		}
		var body txBody
		if err := json.Unmarshal([]byte(last.Body), &body); err != nil {
			return err
		}
		if body.I != body.N-1 && !boundary[end] {
			return fmt.Errorf("AppendChanges(nil, %v) ends at %v, record %d of %d of transaction %d, which is no chunk boundary", from, end, body.I+1, body.N, body.Tx)
		}
		if now, _ := l.Head(); now.Less(end) {
			return fmt.Errorf("AppendChanges(nil, %v) ends at %v, after Head() = %v", from, end, now)
		}
		from = end
	}
	if next != len(all) {
		return fmt.Errorf("reader saw %d records, want %d", next, len(all))
	}
	return nil
}
