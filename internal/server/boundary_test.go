package server_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// TestSnapshotStreamBoundary creates shapes while a writer commits
// single-row transactions in a tight loop (protocol §12.2): the shape must
// hold exactly the table's rows afterwards, and no key may be inserted
// twice without a delete in between across snapshot and log (a
// transaction both in the snapshot and replayed from the stream), nor
// updated or deleted while absent (a transaction lost between them).
func TestSnapshotStreamBoundary(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	const tables = 4
	var setup string
	for i := range tables {
		setup += fmt.Sprintf("CREATE TABLE w%d (id int PRIMARY KEY, n int NOT NULL, note text);\n", i)
	}
	h := newHarness(t, harnessOptions{}, setup)

	for i := range tables {
		table := fmt.Sprintf("w%d", i)
		t.Run(table, func(t *testing.T) {
			// Odd tables also see updates and deletes of earlier rows; the
			// last two have several writers, so transactions are in
			// progress when the snapshot is taken (a non-empty xip list).
			mixed := i%2 == 1
			writers := 1
			if i >= 2 {
				writers = 4
			}
			var written atomic.Int64
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, writers)
			for w := range writers {
				go func() { done <- writeLoop(ctx, h.dbURL, table, w, writers, mixed, &written) }()
			}
			stopped := false
			stopWriter := func() {
				stop()
				stopped = true
				for range writers {
					if err := <-done; err != nil {
						t.Errorf("writer: %v", err)
					}
				}
			}
			defer func() {
				if !stopped {
					stopWriter()
				}
			}()
			// Let the writer get going, create the shape in its midst, and
			// keep writing for a while after the snapshot.
			waitUntil(t, func() bool { return written.Load() >= 20 })
			s := h.sync(t, table)
			mark := written.Load()
			waitUntil(t, func() bool { return written.Load() >= mark+50 })
			stopWriter()

			want := h.queryRows(t, "SELECT id, n, note FROM "+table)
			s.waitFor(t, "all rows", func() bool { return equalRows(want, s.rowsByColumn(t, "id")) })
			if diff := cmp.Diff(want, s.rowsByColumn(t, "id")); diff != "" {
				t.Errorf("shape differs from SELECT (-want +got):\n%s", diff)
			}
			t.Logf("%d transactions, %d rows, %d messages", written.Load(), len(want), len(s.log))
		})
	}
}

// writeLoop commits single-statement transactions on table until ctx
// ends: inserts, and with mixed also updates and deletes of earlier rows.
// Writer w of n uses the ids congruent to w modulo n.
func writeLoop(ctx context.Context, dbURL, table string, w, n int, mixed bool, written *atomic.Int64) error {
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for k := 1; ctx.Err() == nil; k++ {
		id := k*n + w
		sql := fmt.Sprintf("INSERT INTO %s VALUES (%d, 0, 'row %d')", table, id, id)
		if mixed {
			switch k % 4 {
			case 2:
				sql = fmt.Sprintf("UPDATE %s SET n = n + 1, note = 'updated' WHERE id = %d", table, (k/2)*n+w)
			case 3:
				sql = fmt.Sprintf("DELETE FROM %s WHERE id = %d", table, (k/3)*n+w)
			}
		}
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			return err
		}
		written.Add(1)
	}
	return nil
}

// waitUntil polls cond every millisecond for up to waitTimeout.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached after %v", waitTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}
