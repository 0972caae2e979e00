package e2e

// TanStack DB with @tanstack/electric-db-collection against Galvani
// (e2e/compat/tanstack.mjs): the collection syncs a shape, txids of writes
// made in Postgres transactions resolve the collection's awaitTxId (from
// change messages, and from snapshot-end for writes the initial snapshot
// already contains), optimistic mutations whose backend returns a txid are
// confirmed, and the collection equals SELECT.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

var tsItemsTypes = map[string]colType{
	"id": {"int4", 0}, "title": {"text", 0}, "n": {"int8", 0}, "done": {"bool", 0}, "meta": {"jsonb", 0},
}

// txWrite runs sql in a transaction and returns its 32-bit txid as the
// TanStack docs tell an app backend to: pg_current_xact_id()::xid::text.
func txWrite(t *testing.T, conn *pgx.Conn, sql string, args ...any) uint32 {
	t.Helper()
	ctx := context.Background()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if sql != "" {
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var txt string
	if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::xid::text`).Scan(&txt); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(txt, 10, 32)
	if err != nil {
		t.Fatalf("txid %q: %v", txt, err)
	}
	return uint32(n)
}

// tanstackRows keys a collection's rows like the shape (the collection keys
// by id; the comparison uses the protocol key of the same row).
func tanstackRows(t *testing.T, raw map[string]json.RawMessage) jsRows {
	t.Helper()
	rows, err := decodeJSRows(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := jsRows{}
	for k, r := range rows {
		out[`"public"."items"/"`+k+`"`] = r
	}
	return out
}

func tanstackState(t *testing.T, p *nodeProc) jsRows {
	t.Helper()
	v, err := p.call(map[string]any{"cmd": "rows"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Rows map[string]json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(v, &r); err != nil {
		t.Fatal(err)
	}
	return tanstackRows(t, r.Rows)
}

func TestCompatTanStackAwaitTxId(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL, n int8, done bool NOT NULL DEFAULT false, meta jsonb)`)
	conn := connect(t, dbURL)
	// A write committed before the shape exists: the initial snapshot
	// contains it, so only snapshot-end can tell the collection about its txid.
	snapTxid := txWrite(t, conn, `INSERT INTO items SELECT i, 'item '||i, i * 1000000000000, i % 2 = 0, jsonb_build_object('i', i) FROM generate_series(1, 50) i`)

	srv := startServer(t, dbURL)
	p := startNode(t, "tanstack.mjs", map[string]any{"url": compatShapeURL(srv), "params": map[string]any{"table": "items"}, "key": "id"})
	ready, ok := p.waitEvent(60*time.Second, func(ev compatEvent) bool { return ev.Event == "ready" || ev.Event == "error" })
	if !ok || ready.Event != "ready" {
		t.Fatalf("collection not ready: %v; failures: %v", ready, p.failures())
	}
	want := func() jsRows { return expectedJSRows(t, conn, "public", "items", []string{"id"}, tsItemsTypes, nil) }
	if d := diffJSRows(tanstackRows(t, ready.Rows), want()); d != "" {
		t.Fatalf("collection after initial sync differs from SELECT:\n%s", d)
	}

	await := func(txid uint32, timeout time.Duration) error {
		_, err := p.call(map[string]any{"cmd": "awaitTxId", "txid": txid, "timeout": timeout.Milliseconds()}, timeout+10*time.Second)
		return err
	}
	if err := await(snapTxid, 5*time.Second); err != nil {
		t.Fatalf("awaitTxId(%d) for a write contained in the initial snapshot: %v", snapTxid, err)
	}
	// A txid that no transaction has used yet must not resolve (so the
	// resolutions above and below are not vacuous).
	future := txWrite(t, conn, "") + 1000
	if err := await(future, 1500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("awaitTxId(%d) for a txid not yet used: %v, want a timeout", future, err)
	}

	// Writes through Postgres: each txid resolves and the collection then equals SELECT.
	writes := []string{
		`INSERT INTO items VALUES (100, 'new', 9007199254740993, true, '{"deep": [1, 2, {"x": null}]}')`,
		`UPDATE items SET title = 'renamed', n = -1 WHERE id = 1; UPDATE items SET done = NOT done WHERE id BETWEEN 2 AND 10`,
		`DELETE FROM items WHERE id % 5 = 0`,
		`INSERT INTO items VALUES (101, 'a', NULL, false, NULL); UPDATE items SET meta = NULL WHERE id = 101; DELETE FROM items WHERE id = 3`,
	}
	for i, w := range writes {
		txid := txWrite(t, conn, w)
		start := time.Now()
		if err := await(txid, 15*time.Second); err != nil {
			t.Fatalf("write %d (txid %d): awaitTxId: %v", i, txid, err)
		}
		if d := diffJSRows(tanstackState(t, p), want()); d != "" {
			t.Fatalf("write %d: awaitTxId(%d) resolved after %v but the collection differs from SELECT:\n%s", i, txid, time.Since(start), d)
		}
	}
	if f := p.failures(); len(f) > 0 {
		t.Errorf("collection reported failed requests: %v", f)
	}
}

// TestCompatTanStackMutations drives optimistic mutations through the
// collection: its onInsert/onUpdate/onDelete ask the test (acting as the
// app backend) to write to Postgres and return the transaction's txid; the
// collection confirms each mutation only when that txid arrives from Galvani.
func TestCompatTanStackMutations(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL, n int8, done bool NOT NULL DEFAULT false, meta jsonb);
		INSERT INTO items VALUES (1, 'one', 1, false, NULL), (2, 'two', 2, true, '{"a": 1}');`)
	conn := connect(t, dbURL)
	srv := startServer(t, dbURL)
	p := startNode(t, "tanstack.mjs", map[string]any{"url": compatShapeURL(srv), "params": map[string]any{"table": "items"}, "key": "id"})
	if ev, ok := p.waitEvent(60*time.Second, func(ev compatEvent) bool { return ev.Event == "ready" || ev.Event == "error" }); !ok || ev.Event != "ready" {
		t.Fatalf("collection not ready: %v; failures: %v", ev, p.failures())
	}

	// backend answers one "backend" event: applies the mutations in one
	// transaction and replies with its txid.
	backend := func() {
		t.Helper()
		ev, ok := p.waitEvent(30*time.Second, func(ev compatEvent) bool { return ev.Event == "backend" || ev.Event == "error" })
		if !ok || ev.Event != "backend" {
			t.Fatalf("no backend request from the mutation handler: %v", ev)
		}
		var muts []struct {
			Type     string                     `json:"type"`
			Key      json.RawMessage            `json:"key"`
			Modified map[string]json.RawMessage `json:"modified"`
			Changes  map[string]json.RawMessage `json:"changes"`
		}
		if err := json.Unmarshal(ev.Muts, &muts); err != nil {
			t.Fatal(err)
		}
		var sql []string
		for _, m := range muts {
			key, err := decodeJS(m.Key)
			if err != nil {
				t.Fatal(err)
			}
			id := jsRepr(key)
			id = strings.TrimSuffix(strings.TrimPrefix(id, "Number("), ")")
			switch m.Type {
			case "insert":
				sql = append(sql, fmt.Sprintf(`INSERT INTO items (id, title, n, done) VALUES (%s, %s, %s, %s)`,
					id, sqlLit(t, m.Modified["title"]), sqlLit(t, m.Modified["n"]), sqlLit(t, m.Modified["done"])))
			case "update":
				for col, v := range m.Changes {
					sql = append(sql, fmt.Sprintf(`UPDATE items SET %s = %s WHERE id = %s`, pgx.Identifier{col}.Sanitize(), sqlLit(t, v), id))
				}
			case "delete":
				sql = append(sql, `DELETE FROM items WHERE id = `+id)
			}
		}
		txid := txWrite(t, conn, strings.Join(sql, "; "))
		p.send(map[string]any{"cmd": "backendReply", "rid": ev.RID, "txid": txid})
	}
	mutate := func(cmd map[string]any) {
		t.Helper()
		id := p.send(cmd)
		backend()
		res, err := p.result(id, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK {
			t.Fatalf("%v: mutation not persisted: %s", cmd, res.Error)
		}
		var r struct {
			Rows map[string]json.RawMessage `json:"rows"`
		}
		json.Unmarshal(res.Value, &r)
		if d := diffJSRows(tanstackRows(t, r.Rows), expectedJSRows(t, conn, "public", "items", []string{"id"}, tsItemsTypes, nil)); d != "" {
			t.Fatalf("%v: collection right after the mutation was confirmed differs from SELECT:\n%s", cmd, d)
		}
	}
	mutate(map[string]any{"cmd": "insert", "row": map[string]any{"id": 3, "title": "three", "n": 3, "done": false, "meta": nil}})
	mutate(map[string]any{"cmd": "update", "key": 1, "set": map[string]any{"title": "uno", "done": true}})
	mutate(map[string]any{"cmd": "delete", "key": 2})
	if f := p.failures(); len(f) > 0 {
		t.Errorf("collection reported failed requests: %v", f)
	}
}

// sqlLit renders a driver-encoded JS value as a SQL literal.
func sqlLit(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	if raw == nil {
		return "NULL"
	}
	v, err := decodeJS(raw)
	if err != nil {
		t.Fatal(err)
	}
	switch x := v.(type) {
	case nil:
		return "NULL"
	case bool:
		return strconv.FormatBool(x)
	case jsStr:
		return "'" + strings.ReplaceAll(string(x), "'", "''") + "'"
	case jsBig:
		return string(x)
	case jsNum:
		return strconv.FormatFloat(float64(x), 'f', -1, 64)
	}
	t.Fatalf("cannot write %s", jsRepr(v))
	return ""
}
