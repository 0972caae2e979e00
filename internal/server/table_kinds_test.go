package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTableKinds checks tables that reach a shape differently (protocol
// §5.5, §5.8): a partitioned table's shape follows all its partitions under
// the root's name; unchanged TOASTed values are taken from the old row;
// a stored generated column can be left out with columns=.
func TestTableKinds(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE p (id int, region text, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
		CREATE TABLE p_eu PARTITION OF p FOR VALUES IN ('eu');
		CREATE TABLE p_us PARTITION OF p FOR VALUES IN ('us');
		INSERT INTO p VALUES (1, 'eu', 'a'), (2, 'us', 'b');

		CREATE TABLE big (id int PRIMARY KEY, n int, doc text);
		ALTER TABLE big ALTER COLUMN doc SET STORAGE EXTERNAL; -- stored out of line, uncompressed
		INSERT INTO big VALUES (1, 1, repeat('abcdefghij', 1000));

		CREATE TABLE g (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED);
		INSERT INTO g (id, a) VALUES (1, 1);
	`)

	t.Run("partitioned root", func(t *testing.T) {
		s := h.sync(t, "p")
		n := len(s.log)
		h.exec(t, "INSERT INTO p VALUES (3, 'eu', 'c'), (4, 'us', 'd')")
		h.exec(t, "UPDATE p_us SET v = 'e' WHERE id = 2")
		h.exec(t, "UPDATE p SET region = 'us' WHERE id = 1") // moves the row between partitions
		s.waitFor(t, "changes", func() bool {
			row := s.rows[`"public"."p"/"1"/"us"`]
			return len(s.log) >= n+4 && row != nil
		})
		for _, m := range s.log[n:] {
			hdrs := m["headers"].(map[string]any)
			if !cmp.Equal(hdrs["relation"], []any{"public", "p"}) {
				t.Errorf("change %v: relation %v, want the root [public p]", m["key"], hdrs["relation"])
			}
		}
		want := map[string]map[string]any{}
		for id, row := range h.queryRows(t, "SELECT id, region, v FROM p") {
			want[`"public"."p"/"`+id+`"/"`+row["region"].(string)+`"`] = row
		}
		if diff := cmp.Diff(want, s.rows); diff != "" {
			t.Errorf("rows of the partitioned table (-want +got):\n%s", diff)
		}
	})

	t.Run("toast", func(t *testing.T) {
		def := h.sync(t, "big")
		full := h.follow(t, url.Values{"table": {"big"}, "replica": {"full"}})
		n0, n1 := len(def.log), len(full.log)
		h.exec(t, "UPDATE big SET n = 2 WHERE id = 1") // doc unchanged: sent as "unchanged TOAST"
		def.waitMessages(t, n0+1)
		full.waitMessages(t, n1+1)
		expectTxn(t, "replica=default", def.log[n0:], []changeJSON{
			{key: `"public"."big"/"1"`, op: "update", value: `{"id":"1","n":"2"}`, relation: `["public","big"]`, last: true},
		}, 0)
		doc := h.queryRows(t, "SELECT id, doc FROM big")["1"]["doc"].(string)
		if got := full.log[n1]["value"].(map[string]any)["doc"]; got != doc {
			t.Errorf("replica=full update: doc is %d bytes, want the unchanged %d-byte value", len(got.(string)), len(doc))
		}
		if got := full.log[n1]["old_value"]; !cmp.Equal(got, map[string]any{"n": "1"}) {
			t.Errorf("replica=full update: old_value %v, want {n:1}", got)
		}
	})

	t.Run("generated column left out", func(t *testing.T) {
		s := h.follow(t, url.Values{"table": {"g"}, "columns": {"id,a"}})
		h.exec(t, "INSERT INTO g (id, a) VALUES (2, 2)")
		h.exec(t, "UPDATE g SET a = 10 WHERE id = 1")
		s.waitMessages(t, 3)
		want := h.queryRows(t, "SELECT id, a FROM g")
		if diff := cmp.Diff(want, s.rowsByColumn(t, "id")); diff != "" {
			t.Errorf("rows (-want +got):\n%s", diff)
		}
		if s.refetches != 0 {
			t.Errorf("%d refetches, want none", s.refetches)
		}
	})
}

// TestPartitionShapeRejected: changes of partitions are published under
// their partitioned root, so a shape on a single partition could not be
// kept current; it is refused with a 400 that says to shape the root.
func TestPartitionShapeRejected(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE p (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
		CREATE TABLE p_eu PARTITION OF p FOR VALUES IN ('eu');
	`)
	status, _, body := h.getRaw(t, "table=p_eu&offset=-1")
	if status != http.StatusBadRequest || !strings.Contains(string(body), "single partition") {
		t.Errorf("GET ?table=p_eu&offset=-1 = %d %s, want 400 naming the partition restriction", status, body)
	}
}

// TestGeneratedColumnsRejected: on Postgres < 18 pgoutput does not send
// stored generated columns, so a shape selecting one is refused with the
// protocol's message (§2.2) rather than accepted and invalidated by every
// write.
func TestGeneratedColumnsRejected(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE g (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED);
	`)
	for _, tt := range []struct{ query, msg string }{
		{"table=g&offset=-1", "The following columns are generated and cannot be included in the shape: b. " +
			"You can exclude them from the shape by explicitly listing which columns to fetch in the 'columns' query param"},
		{"table=g&offset=-1&columns=id,b", "The following columns are generated and cannot be included in the shape: b"},
	} {
		status, _, body := h.getRaw(t, tt.query)
		want := map[string]any{"message": "Invalid request", "errors": map[string]any{"columns": []any{tt.msg}}}
		if status != http.StatusBadRequest || !cmp.Equal(mustJSON(t, string(body)), any(want)) {
			t.Errorf("GET ?%s = %d %s, want 400 %v", tt.query, status, body, want)
		}
	}
}

// TestReplicaIdentityResetInvalidates checks that a shape whose table lost
// REPLICA IDENTITY FULL (operator DDL) is invalidated rather than fed
// updates without old rows (protocol §5.5, §9.1): the client refetches and
// ends up with the table's rows, never an update of a key it lacks.
func TestReplicaIdentityResetInvalidates(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE items (id int PRIMARY KEY, title text);
		INSERT INTO items VALUES (1, 'one'), (2, 'two');
	`)
	s := h.sync(t, "items")
	h.exec(t, "ALTER TABLE items REPLICA IDENTITY DEFAULT")
	h.exec(t, "UPDATE items SET id = 10 WHERE id = 1")
	h.exec(t, "INSERT INTO items VALUES (3, 'three')")
	s.waitFor(t, "row 3", func() bool { _, ok := s.rows[`"public"."items"/"3"`]; return ok })
	want := h.queryRows(t, "SELECT id, title FROM items")
	if diff := cmp.Diff(want, s.rowsByColumn(t, "id")); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

// TestPartitionedReplicaFull: REPLICA IDENTITY FULL is set on every
// partition of a partitioned table (it does not recurse), so replica=full
// updates carry old_value and deletes the full old row (§5.2).
func TestPartitionedReplicaFull(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE p (id int, region text, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
		CREATE TABLE p_eu PARTITION OF p FOR VALUES IN ('eu');
		INSERT INTO p VALUES (1, 'eu', 'a'), (2, 'eu', 'b');
	`)
	full := h.follow(t, url.Values{"table": {"p"}, "replica": {"full"}})
	n := len(full.log)
	h.exec(t, "UPDATE p SET v = 'x' WHERE id = 1")
	h.exec(t, "DELETE FROM p WHERE id = 2")
	full.waitMessages(t, n+2)
	rel := `["public","p"]`
	expectTxn(t, "update", full.log[n:n+1], []changeJSON{
		{key: `"public"."p"/"1"/"eu"`, op: "update", value: `{"id":"1","region":"eu","v":"x"}`, oldValue: `{"v":"a"}`, relation: rel, last: true},
	}, 0)
	expectTxn(t, "delete", full.log[n+1:], []changeJSON{
		{key: `"public"."p"/"2"/"eu"`, op: "delete", value: `{"id":"2","region":"eu","v":"b"}`, relation: rel, last: true},
	}, 0)
}
