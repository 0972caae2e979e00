package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/protocol"
)

// TestSchemaChanges checks that DDL affecting a shape invalidates it
// (protocol §9.1): its clients get 409 and refetch the table as it is now.
func TestSchemaChanges(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE items (id int PRIMARY KEY, a text, b text);
		INSERT INTO items VALUES (1, 'a1', 'b1');
	`)
	all := h.sync(t, "items")
	sub := h.follow(t, url.Values{"table": {"items"}, "columns": {"id,a"}})

	// A new column changes an all-columns shape; the refetch has it.
	h.exec(t, "ALTER TABLE items ADD COLUMN c text DEFAULT 'c'")
	h.exec(t, "INSERT INTO items VALUES (2, 'a2', 'b2', 'c2')")
	all.waitFor(t, "refetch after ADD COLUMN", func() bool { return all.refetches == 1 && len(all.rows) == 2 })
	want := h.queryRows(t, "SELECT id, a, b, c FROM items")
	if diff := cmp.Diff(want, all.rowsByColumn(t, "id")); diff != "" {
		t.Errorf("all columns after ADD COLUMN (-want +got):\n%s", diff)
	}
	sub.waitFor(t, "row 2", func() bool { return len(sub.rows) == 2 })
	want = h.queryRows(t, "SELECT id, a FROM items")
	if diff := cmp.Diff(want, sub.rowsByColumn(t, "id")); diff != "" {
		t.Errorf("columns=id,a after ADD COLUMN (-want +got):\n%s", diff)
	}

	// Renaming a selected column invalidates both; the all-columns client
	// refetches the new name, the columns=id,a one is told a is gone (the
	// definition is validated before the handle is looked at).
	refetches := all.refetches
	h.exec(t, "ALTER TABLE items RENAME COLUMN a TO a_renamed")
	h.exec(t, "INSERT INTO items VALUES (3, 'a3', 'b3', 'c3')")
	all.waitFor(t, "refetch after RENAME COLUMN", func() bool { return all.refetches > refetches && len(all.rows) == 3 })
	want = h.queryRows(t, "SELECT id, a_renamed, b, c FROM items")
	if diff := cmp.Diff(want, all.rowsByColumn(t, "id")); diff != "" {
		t.Errorf("all columns after RENAME COLUMN (-want +got):\n%s", diff)
	}
	q, _ := sub.query()
	status, _, body := h.getRaw(t, q)
	if status != http.StatusBadRequest || !cmp.Equal(mustJSON(t, string(body)), mustJSON(t,
		`{"message":"Invalid request","errors":{"columns":["The following columns are not found on the table: a"]}}`)) {
		t.Errorf("columns=id,a after a was renamed: %d %s, want 400 naming a", status, body)
	}

	// A changed column type invalidates too.
	refetches = all.refetches
	h.exec(t, "ALTER TABLE items ALTER COLUMN b TYPE int USING length(b)")
	h.exec(t, "UPDATE items SET b = 42 WHERE id = 1")
	all.waitFor(t, "refetch after ALTER TYPE", func() bool {
		row := all.rows[`"public"."items"/"1"`]
		return all.refetches > refetches && row != nil && row["b"] == "42"
	})
	if s := all.schema; !cmp.Equal(mustJSON(t, s).(map[string]any)["b"], mustJSON(t, `{"type":"int4"}`)) {
		t.Errorf("electric-schema after ALTER TYPE: %s, want b as int4", s)
	}
}

// TestDroppedTableIsANewShape checks that a dropped and recreated table is a
// new shape (protocol §3.1: the table OID is part of a shape's identity) and
// that a renamed table's shape is invalidated (§9.1): clients get 409, not
// the old rows forever, and the old name is unknown.
func TestDroppedTableIsANewShape(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{longPollTimeout: time.Second}, `
		CREATE TABLE items (id int PRIMARY KEY, title text);
		INSERT INTO items VALUES (1, 'old');
		CREATE TABLE gone (id int PRIMARY KEY);
	`)
	s := h.sync(t, "items")
	old := s.handle
	h.exec(t, "DROP TABLE items; CREATE TABLE items (id int PRIMARY KEY, title text); INSERT INTO items VALUES (2, 'new')")
	// The existing client learns the shape is gone and refetches the new table.
	s.waitFor(t, "refetch of the recreated table", func() bool { return s.refetches > 0 && s.upToDate })
	want := h.queryRows(t, "SELECT id, title FROM items")
	if diff := cmp.Diff(want, s.rowsByColumn(t, "id")); diff != "" {
		t.Errorf("rows after DROP and CREATE (-want +got):\n%s", diff)
	}
	if s.handle == old {
		t.Errorf("recreated table served under the old handle %s", old)
	}

	// A renamed table's shape is gone too: a long-poll waiting on it is
	// answered 409, and the old name is unknown.
	g := h.sync(t, "gone")
	q, _ := g.query()
	waiting := make(chan string, 1)
	go func() {
		resp, body, err := h.send(context.Background(), http.MethodGet, h.shapeTarget(q), nil)
		if err != nil {
			waiting <- err.Error()
			return
		}
		waiting <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	time.Sleep(200 * time.Millisecond)
	h.exec(t, "ALTER TABLE gone RENAME TO renamed; INSERT INTO renamed VALUES (1)")
	select {
	case got := <-waiting:
		if want := "409 " + protocol.MustRefetchResponse; got != want {
			t.Errorf("long-poll on the shape of a renamed table: %s, want %s", got, want)
		}
	case <-time.After(waitTimeout):
		t.Errorf("long-poll on the shape of a renamed table did not return")
	}
	if status, _, body := h.getRaw(t, "table=gone&offset=-1"); status != http.StatusBadRequest {
		t.Errorf("GET table=gone after RENAME: %d %s, want 400 (table does not exist)", status, body)
	}
}
