package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// changeJSON is the expected JSON of a replicated change message; lsn and
// xid are filled in by expectTxn.
type changeJSON struct {
	key, op   string
	value     string // JSON object
	oldValue  string // JSON object, "" for none
	relation  string // JSON array
	op2       uint64 // op_position
	keyChange string // `"key_change_to":"…"` or `"key_change_from":"…"`, "" for none
	last      bool
}

// render returns the message as a decoded JSON value for comparison.
func (c changeJSON) render(t *testing.T, lsn string, xid uint32) any {
	t.Helper()
	keyJSON, _ := json.Marshal(c.key)
	s := fmt.Sprintf(`{"key":%s,"value":%s`, keyJSON, c.value)
	if c.oldValue != "" {
		s += `,"old_value":` + c.oldValue
	}
	s += fmt.Sprintf(`,"headers":{"operation":%q,"relation":%s,"lsn":%q,"op_position":%d,"txids":[%d]`, c.op, c.relation, lsn, c.op2, xid)
	if c.keyChange != "" {
		s += "," + c.keyChange
	}
	if c.last {
		s += `,"last":true`
	}
	return mustJSON(t, s+"}}")
}

// keyChangeJSON renders a key_change_to / key_change_from header entry.
func keyChangeJSON(name, key string) string {
	k, _ := json.Marshal(key)
	return fmt.Sprintf("%q:%s", name, k)
}

// expectTxn checks that msgs are exactly want, all from one transaction:
// the lsn of the first message is used for every message, and must be a
// decimal string; xid is the transaction's 32-bit id (0: take the first
// message's).
func expectTxn(t *testing.T, what string, msgs []map[string]any, want []changeJSON, xid uint32) string {
	t.Helper()
	if len(msgs) == 0 {
		t.Errorf("%s: no messages, want %d", what, len(want))
		return ""
	}
	hdrs, _ := msgs[0]["headers"].(map[string]any)
	lsn, _ := hdrs["lsn"].(string)
	if !decimal.MatchString(lsn) {
		t.Errorf("%s: lsn %v is not a decimal string", what, hdrs["lsn"])
	}
	if xid == 0 {
		if ids, ok := hdrs["txids"].([]any); ok && len(ids) == 1 {
			if f, ok := ids[0].(float64); ok {
				xid = uint32(f)
			}
		}
	}
	got := make([]any, len(msgs))
	for i, m := range msgs {
		got[i] = m
	}
	exp := make([]any, len(want))
	for i, w := range want {
		exp[i] = w.render(t, lsn, xid)
	}
	if diff := cmp.Diff(exp, got); diff != "" {
		t.Errorf("%s: messages differ (-want +got):\n%s", what, diff)
	}
	return lsn
}

// TestKeys checks row keys (protocol §5.3) on the snapshot and the
// replication path: composite primary keys in key order, tables without a
// primary key (every column is the key, so an update is a delete of the
// old key and an insert of the new one, §5.6), and schema and table names
// with capitals, dots, slashes and quotes.
func TestKeys(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE comp (a text, b int, v text, PRIMARY KEY (b, a));
		INSERT INTO comp VALUES ('x/y', 1, 'one'), ('', 2, 'empty');
		CREATE TABLE nopk (a int, b text);
		INSERT INTO nopk VALUES (1, 'x'), (2, NULL);
		CREATE SCHEMA "My.Schema";
		CREATE TABLE "My.Schema"."Weird/Table" (id text PRIMARY KEY, v text);
		INSERT INTO "My.Schema"."Weird/Table" VALUES ('a/b.c', 'snap');
		CREATE TABLE "Q""T" (id int PRIMARY KEY);
		INSERT INTO "Q""T" VALUES (1);
	`)

	t.Run("composite", func(t *testing.T) {
		s := h.sync(t, "comp")
		want := map[string]map[string]any{
			`"public"."comp"/"1"/"x//y"`: {"a": "x/y", "b": "1", "v": "one"},
			`"public"."comp"/"2"/""`:     {"a": "", "b": "2", "v": "empty"},
		}
		if diff := cmp.Diff(want, s.rows); diff != "" {
			t.Errorf("snapshot rows (-want +got):\n%s", diff)
		}
		wantSchema := mustJSON(t, `{"a":{"type":"text","pk_index":1,"not_null":true},"b":{"type":"int4","pk_index":0,"not_null":true},"v":{"type":"text"}}`)
		if diff := cmp.Diff(wantSchema, mustJSON(t, s.schema)); diff != "" {
			t.Errorf("electric-schema (-want +got):\n%s", diff)
		}
		n := len(s.log)
		h.exec(t, `INSERT INTO comp VALUES ('p/q', 3, 'live')`)
		h.exec(t, `UPDATE comp SET v = 'two' WHERE b = 1`)
		s.waitMessages(t, n+2)
		rel := `["public","comp"]`
		expectTxn(t, "insert", s.log[n:n+1], []changeJSON{
			{key: `"public"."comp"/"3"/"p//q"`, op: "insert", value: `{"a":"p/q","b":"3","v":"live"}`, relation: rel, last: true},
		}, 0)
		expectTxn(t, "update", s.log[n+1:], []changeJSON{
			{key: `"public"."comp"/"1"/"x//y"`, op: "update", value: `{"a":"x/y","b":"1","v":"two"}`, relation: rel, last: true},
		}, 0)
	})

	t.Run("no primary key", func(t *testing.T) {
		s := h.sync(t, "nopk")
		want := map[string]map[string]any{
			`"public"."nopk"/"1"/"x"`: {"a": "1", "b": "x"},
			`"public"."nopk"/"2"/_`:   {"a": "2", "b": nil},
		}
		if diff := cmp.Diff(want, s.rows); diff != "" {
			t.Errorf("snapshot rows (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(mustJSON(t, `{"a":{"type":"int4"},"b":{"type":"text"}}`), mustJSON(t, s.schema)); diff != "" {
			t.Errorf("electric-schema: a table without a primary key has no pk_index (-want +got):\n%s", diff)
		}
		n := len(s.log)
		h.exec(t, `UPDATE nopk SET b = 'y' WHERE a = 1`)
		h.exec(t, `DELETE FROM nopk WHERE a = 2`)
		h.exec(t, `INSERT INTO nopk VALUES (3, 'a/b')`)
		s.waitMessages(t, n+4)
		rel := `["public","nopk"]`
		oldKey, newKey := `"public"."nopk"/"1"/"x"`, `"public"."nopk"/"1"/"y"`
		expectTxn(t, "update of a table without primary key", s.log[n:n+2], []changeJSON{
			{key: oldKey, op: "delete", value: `{"a":"1","b":"x"}`, relation: rel, op2: 0, keyChange: keyChangeJSON("key_change_to", newKey)},
			{key: newKey, op: "insert", value: `{"a":"1","b":"y"}`, relation: rel, op2: 1, keyChange: keyChangeJSON("key_change_from", oldKey), last: true},
		}, 0)
		expectTxn(t, "delete with NULL key part", s.log[n+2:n+3], []changeJSON{
			{key: `"public"."nopk"/"2"/_`, op: "delete", value: `{"a":"2","b":null}`, relation: rel, last: true},
		}, 0)
		expectTxn(t, "insert", s.log[n+3:], []changeJSON{
			{key: `"public"."nopk"/"3"/"a//b"`, op: "insert", value: `{"a":"3","b":"a/b"}`, relation: rel, last: true},
		}, 0)
		want = h.queryRows(t, "SELECT a, b FROM nopk")
		if diff := cmp.Diff(want, s.rowsByColumn(t, "a")); diff != "" {
			t.Errorf("rows after changes (-want +got):\n%s", diff)
		}
	})

	t.Run("quoted names", func(t *testing.T) {
		s := h.sync(t, `"My.Schema"."Weird/Table"`)
		snapKey := `"My..Schema"."Weird//Table"/"a//b.c"`
		if _, ok := s.rows[snapKey]; !ok || len(s.rows) != 1 {
			t.Errorf("snapshot keys %v, want [%s]", keys(s.rows), snapKey)
		}
		if hdrs, _ := s.log[0]["headers"].(map[string]any); !cmp.Equal(hdrs["relation"], []any{"My.Schema", "Weird/Table"}) {
			t.Errorf("snapshot relation header %v, want [My.Schema Weird/Table]", hdrs["relation"])
		}
		n := len(s.log)
		h.exec(t, `INSERT INTO "My.Schema"."Weird/Table" VALUES ('d.e/f', 'live'); UPDATE "My.Schema"."Weird/Table" SET v = 'upd' WHERE id = 'a/b.c'`)
		s.waitMessages(t, n+2)
		rel := `["My.Schema","Weird/Table"]`
		expectTxn(t, "live changes", s.log[n:], []changeJSON{
			{key: `"My..Schema"."Weird//Table"/"d.e//f"`, op: "insert", value: `{"id":"d.e/f","v":"live"}`, relation: rel},
			{key: snapKey, op: "update", value: `{"id":"a/b.c","v":"upd"}`, relation: rel, op2: 2, last: true},
		}, 0)

		q := h.sync(t, `"Q""T"`)
		if _, ok := q.rows[`"public"."Q"T"/"1"`]; !ok || len(q.rows) != 1 {
			t.Errorf(`snapshot keys %v, want ["public"."Q"T"/"1"] (a quote is not escaped in keys)`, keys(q.rows))
		}
		n = len(q.log)
		h.exec(t, `INSERT INTO "Q""T" VALUES (2)`)
		q.waitMessages(t, n+1)
		if k := q.log[n]["key"]; k != `"public"."Q"T"/"2"` {
			t.Errorf("replicated key %v, want %s", k, strconv.Quote(`"public"."Q"T"/"2"`))
		}
	})
}

// TestQuotedColumns checks the columns parameter with quoted names (protocol
// §2.1: quoted identifiers keep case and may hold commas and quotes) and the
// electric-schema header staying ASCII for non-ASCII names.
func TestQuotedColumns(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE cols (id int PRIMARY KEY, "Ünï ""q""" text, "a,b" text, other text);
		INSERT INTO cols VALUES (1, 'u', 'ab', 'o');
	`)
	s := h.follow(t, url.Values{"table": {"cols"}, "columns": {`"id","Ünï ""q""","a,b"`}})
	want := map[string]map[string]any{`"public"."cols"/"1"`: {"id": "1", `Ünï "q"`: "u", "a,b": "ab"}}
	if diff := cmp.Diff(want, s.rows); diff != "" {
		t.Errorf("snapshot rows (-want +got):\n%s", diff)
	}
	for _, c := range s.schema {
		if c > 0x7e {
			t.Errorf("electric-schema %q is not ASCII", s.schema)
			break
		}
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(s.schema), &schema); err != nil {
		t.Fatalf("electric-schema %q: %v", s.schema, err)
	}
	wantSchema := mustJSON(t, `{"id":{"type":"int4","pk_index":0,"not_null":true},"Ünï \"q\"":{"type":"text"},"a,b":{"type":"text"}}`)
	if diff := cmp.Diff(wantSchema, any(schema)); diff != "" {
		t.Errorf("electric-schema (-want +got):\n%s", diff)
	}
	n := len(s.log)
	h.exec(t, `UPDATE cols SET other = 'not selected' WHERE id = 1`)
	h.exec(t, `UPDATE cols SET "a,b" = 'AB' WHERE id = 1`)
	s.waitMessages(t, n+1)
	expectTxn(t, "update of a quoted column", s.log[n:], []changeJSON{
		{key: `"public"."cols"/"1"`, op: "update", value: `{"id":"1","a,b":"AB"}`, relation: `["public","cols"]`, last: true},
	}, 0)
}

func keys(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
