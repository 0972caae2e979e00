package shapelog_test

import (
	"testing"

	"github.com/galvani-sync/galvani/internal/shapelog"
)

// TestSyncAll: SyncAll makes written records durable for few logs (one
// fdatasync each) and for many (one syncfs); afterwards each log reopens
// with every published record. A closed log among few reports its own
// error without hiding the others' success.
func TestSyncAll(t *testing.T) {
	for _, n := range []int{3, 40} {
		var logs []*shapelog.Log
		var dirs []string
		for i := range n {
			l, dir := newLog(t, 1<<20)
			appendAll(t, l, txn(int64(100+i), 2, 10))
			if err := l.Write(); err != nil {
				t.Fatal(err)
			}
			l.Publish()
			logs, dirs = append(logs, l), append(dirs, dir)
		}
		for i, err := range shapelog.SyncAll(logs) {
			if err != nil {
				t.Errorf("%d logs: SyncAll()[%d] = %v", n, i, err)
			}
		}
		if n < 32 {
			logs[1].Close()
			for i, err := range shapelog.SyncAll(logs) {
				if (err != nil) != (i == 1) {
					t.Errorf("%d logs, log 1 closed: SyncAll()[%d] = %v", n, i, err)
				}
			}
		}
		for i, l := range logs {
			l.Close()
			re, err := shapelog.Open(dirs[i], shapelog.Options{ChunkThreshold: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if last, ok := re.LastOffset(); !ok || last.Tx != int64(100+i) {
				t.Errorf("%d logs: log %d reopened with last offset %v, %v", n, i, last, ok)
			}
			re.Close()
		}
	}
}
