package server_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/protocol"
)

// TestRestart stops Galvani and starts it again on the same storage and
// database (protocol §3.2, §4.3): the shape keeps its handle, a client
// resuming with its saved handle and offset gets exactly the changes after
// that offset (no 409, nothing twice, nothing lost), including writes made
// while Galvani was down, and a fresh client gets the same rows.
func TestRestart(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE items (id int PRIMARY KEY, title text);
		INSERT INTO items VALUES (1, 'one'), (2, 'two');
	`)
	s := h.sync(t, "items")
	full := h.follow(t, map[string][]string{"table": {"items"}, "replica": {"full"}})
	handle := s.handle

	// A burst of transactions right before the stop: they are in the log,
	// but the slot may not have been acknowledged past them yet, so
	// Postgres sends them again after the restart.
	n, nf := len(s.log), len(full.log)
	for i := 3; i < 13; i++ {
		h.exec(t, fmt.Sprintf("INSERT INTO items VALUES (%d, 'before stop')", i))
	}
	h.exec(t, "UPDATE items SET title = 'updated before stop' WHERE id = 1")
	s.waitMessages(t, n+11)
	full.waitMessages(t, nf+11)
	h.stop(t)
	savedHandle, savedOffset := s.handle, s.offset

	// Written while Galvani is down.
	h.exec(t, "INSERT INTO items VALUES (100, 'while down')")
	h.exec(t, "UPDATE items SET title = 'updated while down' WHERE id = 2")
	h.exec(t, "DELETE FROM items WHERE id = 3")

	h.start(t)
	// global_last_seen_lsn restarts from the slot's acknowledged position,
	// which may lag what the clients saw; it need only grow within a run.
	s.lastGlobal, full.lastGlobal = "", ""
	if status, header, _ := h.getRaw(t, "table=items&offset=-1"); status != http.StatusOK || header.Get("electric-handle") != handle {
		t.Errorf("offset=-1 after restart: %d, handle %s, want 200 and the same handle %s", status, header.Get("electric-handle"), handle)
	}

	// The client resumes where it was: only the three downtime changes.
	n = len(s.log)
	s.waitMessages(t, n+3)
	if s.refetches != 0 {
		t.Errorf("resuming after restart: %d must-refetch responses, want none", s.refetches)
	}
	if s.handle != savedHandle {
		t.Errorf("resuming after restart: handle %s, want %s", s.handle, savedHandle)
	}
	saved, _ := protocol.ParseOffset(savedOffset)
	var got []string
	for _, m := range s.log[n:] {
		hdrs := m["headers"].(map[string]any)
		got = append(got, fmt.Sprintf("%v %v", hdrs["operation"], m["key"]))
		lsn, _ := hdrs["lsn"].(string)
		tx, err := strconv.ParseInt(lsn, 10, 64)
		if err != nil || !saved.Less(protocol.Offset{Tx: tx}) {
			t.Errorf("after restart: message at lsn %s, not after the saved offset %s", lsn, savedOffset)
		}
	}
	want := []string{
		`insert "public"."items"/"100"`,
		`update "public"."items"/"2"`,
		`delete "public"."items"/"3"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes after restart (-want +got):\n%s", diff)
	}

	// Nothing more arrives, and every client agrees with the table.
	h.exec(t, "INSERT INTO items VALUES (200, 'sentinel')")
	s.waitFor(t, "sentinel", func() bool { _, ok := s.rows[`"public"."items"/"200"`]; return ok })
	full.waitFor(t, "sentinel", func() bool { _, ok := full.rows[`"public"."items"/"200"`]; return ok })
	if len(s.log) != n+4 {
		t.Errorf("after restart: %d messages, want 4: %v", len(s.log)-n, s.log[n:])
	}
	rows := h.queryRows(t, "SELECT id, title FROM items")
	fresh := h.sync(t, "items")
	for _, c := range []*shapeStream{s, full, fresh} {
		if diff := cmp.Diff(rows, c.rowsByColumn(t, "id")); diff != "" {
			t.Errorf("%v: rows after restart (-want +got):\n%s", c.def, diff)
		}
	}
	if fresh.handle != handle {
		t.Errorf("fresh client after restart: handle %s, want %s", fresh.handle, handle)
	}
}
