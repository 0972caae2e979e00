package server_test

import (
	"context"
	"net/url"
	"strconv"
	"testing"

	"github.com/galvani-sync/galvani/internal/pg"
)

// txn runs the statements in one transaction and returns its 32-bit xid as
// TanStack DB's awaitTxId sees it (pg_current_xact_id()::xid::text, read
// inside the transaction), with the WAL position before it began and after
// it committed.
func (h *harness) txn(t *testing.T, stmts ...string) (xid uint32, before, after pg.LSN) {
	t.Helper()
	ctx := context.Background()
	before = h.walLSN(t)
	tx, err := h.db.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // no-op after Commit
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			t.Fatalf("exec %s: %v", s, err)
		}
	}
	var text string
	if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()::xid::text").Scan(&text); err != nil {
		t.Fatalf("read xid: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	x, err := strconv.ParseUint(text, 10, 32)
	if err != nil {
		t.Fatalf("xid %q: %v", text, err)
	}
	return uint32(x), before, h.walLSN(t)
}

// walLSN returns pg_current_wal_insert_lsn().
func (h *harness) walLSN(t *testing.T) pg.LSN {
	t.Helper()
	var text string
	if err := h.db.QueryRow(context.Background(), "SELECT pg_current_wal_insert_lsn()::text").Scan(&text); err != nil {
		t.Fatalf("read wal lsn: %v", err)
	}
	lsn, err := pg.ParseLSN(text)
	if err != nil {
		t.Fatal(err)
	}
	return lsn
}

// checkLSN checks that the transaction's lsn header lies within the WAL
// written while the transaction ran.
func checkLSN(t *testing.T, what, lsn string, before, after pg.LSN) {
	t.Helper()
	v, err := strconv.ParseUint(lsn, 10, 64)
	if err != nil {
		t.Errorf("%s: lsn %q: %v", what, lsn, err)
		return
	}
	if pg.LSN(v) <= before || pg.LSN(v) > after {
		t.Errorf("%s: lsn %d (%s) outside the transaction's WAL range (%s, %s]", what, v, pg.LSN(v), before, after)
	}
}

// TestChangeMessages checks how replicated changes become messages
// (protocol §5.2, §5.6, §4.3, §10.4): replica=default updates carry the
// primary key and changed columns, replica=full the whole row and
// old_value; deletes carry the key (default) or the whole row (full);
// updates touching no selected column produce nothing; a primary-key change
// is a delete and an insert linked by key_change_to/from at op and op+1;
// last marks the shape's last message of a transaction; lsn is the same
// decimal string for the whole transaction; op_position is twice the
// change's index in the whole transaction; txids is [xid].
func TestChangeMessages(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE items (id int PRIMARY KEY, a text, b text, n int);
		CREATE TABLE other (id int PRIMARY KEY, v text);
		INSERT INTO items VALUES (1, 'a1', 'b1', 1), (2, 'a2', 'b2', 2), (3, 'a3', 'b3', 3);
	`)
	def := h.sync(t, "items")
	full := h.follow(t, url.Values{"table": {"items"}, "replica": {"full"}})
	sub := h.follow(t, url.Values{"table": {"items"}, "columns": {"id,a"}})
	// other must be published too, so its changes reach the stream and
	// count in op positions either way.
	h.sync(t, "other")
	rel := `["public","items"]`
	key := func(id int) string { return `"public"."items"/"` + strconv.Itoa(id) + `"` }

	// Transaction 1: changes to items interleaved with changes to other.
	n0, n1, n2 := len(def.log), len(full.log), len(sub.log)
	xid, before, after := h.txn(t,
		"INSERT INTO other VALUES (1, 'x')",       // change 0
		"UPDATE items SET a = 'a1x' WHERE id = 1", // change 1 → op 2
		"UPDATE other SET v = 'y' WHERE id = 1",   // change 2
		"UPDATE items SET b = 'b2x' WHERE id = 2", // change 3 → op 6
		"DELETE FROM items WHERE id = 3",          // change 4 → op 8
		"INSERT INTO other VALUES (2, 'z')",       // change 5
	)
	def.waitMessages(t, n0+3)
	full.waitMessages(t, n1+3)
	sub.waitMessages(t, n2+2)
	lsn := expectTxn(t, "replica=default", def.log[n0:], []changeJSON{
		{key: key(1), op: "update", value: `{"id":"1","a":"a1x"}`, relation: rel, op2: 2},
		{key: key(2), op: "update", value: `{"id":"2","b":"b2x"}`, relation: rel, op2: 6},
		{key: key(3), op: "delete", value: `{"id":"3"}`, relation: rel, op2: 8, last: true},
	}, xid)
	checkLSN(t, "transaction 1", lsn, before, after)
	if l := expectTxn(t, "replica=full", full.log[n1:], []changeJSON{
		{key: key(1), op: "update", value: `{"id":"1","a":"a1x","b":"b1","n":"1"}`, oldValue: `{"a":"a1"}`, relation: rel, op2: 2},
		{key: key(2), op: "update", value: `{"id":"2","a":"a2","b":"b2x","n":"2"}`, oldValue: `{"b":"b2"}`, relation: rel, op2: 6},
		{key: key(3), op: "delete", value: `{"id":"3","a":"a3","b":"b3","n":"3"}`, relation: rel, op2: 8, last: true},
	}, xid); l != lsn {
		t.Errorf("lsn differs between shapes for one transaction: %s and %s", lsn, l)
	}
	expectTxn(t, "columns=id,a", sub.log[n2:], []changeJSON{
		{key: key(1), op: "update", value: `{"id":"1","a":"a1x"}`, relation: rel, op2: 2},
		{key: key(3), op: "delete", value: `{"id":"3"}`, relation: rel, op2: 8, last: true},
	}, xid)

	// Transaction 2: a primary-key change.
	n0, n1, n2 = len(def.log), len(full.log), len(sub.log)
	xid, before, after = h.txn(t, "UPDATE items SET id = 10 WHERE id = 1")
	def.waitMessages(t, n0+2)
	full.waitMessages(t, n1+2)
	sub.waitMessages(t, n2+2)
	to, from := keyChangeJSON("key_change_to", key(10)), keyChangeJSON("key_change_from", key(1))
	lsn = expectTxn(t, "primary-key change, replica=default", def.log[n0:], []changeJSON{
		{key: key(1), op: "delete", value: `{"id":"1"}`, relation: rel, op2: 0, keyChange: to},
		{key: key(10), op: "insert", value: `{"id":"10","a":"a1x","b":"b1","n":"1"}`, relation: rel, op2: 1, keyChange: from, last: true},
	}, xid)
	checkLSN(t, "transaction 2", lsn, before, after)
	expectTxn(t, "primary-key change, replica=full", full.log[n1:], []changeJSON{
		{key: key(1), op: "delete", value: `{"id":"1","a":"a1x","b":"b1","n":"1"}`, relation: rel, op2: 0, keyChange: to},
		{key: key(10), op: "insert", value: `{"id":"10","a":"a1x","b":"b1","n":"1"}`, relation: rel, op2: 1, keyChange: from, last: true},
	}, xid)
	expectTxn(t, "primary-key change, columns=id,a", sub.log[n2:], []changeJSON{
		{key: key(1), op: "delete", value: `{"id":"1"}`, relation: rel, op2: 0, keyChange: to},
		{key: key(10), op: "insert", value: `{"id":"10","a":"a1x"}`, relation: rel, op2: 1, keyChange: from, last: true},
	}, xid)

	// Transaction 3 changes only n (not selected by sub); transaction 4 is
	// a no-op update (nothing changes); transaction 5 is a sentinel insert.
	// sub must see only the sentinel, the others nothing of transaction 4.
	n0, n1, n2 = len(def.log), len(full.log), len(sub.log)
	xid3, _, _ := h.txn(t, "UPDATE items SET n = n + 1 WHERE id = 2")
	h.txn(t, "UPDATE items SET a = a WHERE id = 2")
	xid5, _, _ := h.txn(t, "INSERT INTO items VALUES (4, 'a4', 'b4', 4)")
	def.waitMessages(t, n0+2)
	full.waitMessages(t, n1+2)
	sub.waitMessages(t, n2+1)
	sentinel := changeJSON{key: key(4), op: "insert", value: `{"id":"4","a":"a4","b":"b4","n":"4"}`, relation: rel, last: true}
	expectTxn(t, "update of n, replica=default", def.log[n0:n0+1], []changeJSON{
		{key: key(2), op: "update", value: `{"id":"2","n":"3"}`, relation: rel, last: true},
	}, xid3)
	expectTxn(t, "sentinel after a no-op update, replica=default", def.log[n0+1:], []changeJSON{sentinel}, xid5)
	expectTxn(t, "update of n, replica=full", full.log[n1:n1+1], []changeJSON{
		{key: key(2), op: "update", value: `{"id":"2","a":"a2","b":"b2x","n":"3"}`, oldValue: `{"n":"2"}`, relation: rel, last: true},
	}, xid3)
	expectTxn(t, "sentinel after a no-op update, replica=full", full.log[n1+1:], []changeJSON{sentinel}, xid5)
	sentinel.value = `{"id":"4","a":"a4"}`
	expectTxn(t, "columns=id,a: only the sentinel", sub.log[n2:], []changeJSON{sentinel}, xid5)

	// Transaction 6: a delete of the primary-key-changed row.
	n0, n1 = len(def.log), len(full.log)
	xid, _, _ = h.txn(t, "DELETE FROM items WHERE id = 10")
	def.waitMessages(t, n0+1)
	full.waitMessages(t, n1+1)
	expectTxn(t, "delete, replica=default", def.log[n0:], []changeJSON{
		{key: key(10), op: "delete", value: `{"id":"10"}`, relation: rel, last: true},
	}, xid)
	expectTxn(t, "delete, replica=full", full.log[n1:], []changeJSON{
		{key: key(10), op: "delete", value: `{"id":"10","a":"a1x","b":"b1","n":"1"}`, relation: rel, last: true},
	}, xid)

	want := h.queryRows(t, "SELECT id, a, b, n FROM items")
	for _, s := range []*shapeStream{def, full} {
		if got := s.rowsByColumn(t, "id"); !equalRows(want, got) {
			t.Errorf("%v: materialised rows %v, table %v", s.def, got, want)
		}
	}
}

// equalRows compares materialised rows with table rows.
func equalRows(a, b map[string]map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, ra := range a {
		rb, ok := b[k]
		if !ok || len(ra) != len(rb) {
			return false
		}
		for c, v := range ra {
			if rb[c] != v {
				return false
			}
		}
	}
	return true
}
