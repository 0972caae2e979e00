package e2e

// The official @electric-sql/client, with its DEFAULT value parser, against
// Galvani (e2e/compat/client.mjs): every value type round-trips and equals
// what Postgres has, in each live mode and log mode, through a 409 and with
// a secret.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// valsDDL creates a table with a column of every value type the client
// parses (or deliberately leaves a string), and rows with edge values.
const valsDDL = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'with space');
CREATE TABLE vals (
  id int PRIMARY KEY,
  i2 int2, i4 int4, i8 int8,
  num numeric, nump numeric(10,3),
  f4 float4, f8 float8,
  b bool,
  t text NOT NULL DEFAULT '',
  vc varchar(20), ch char(5),
  u uuid, d date, tm time, ts timestamp, tstz timestamptz, iv interval,
  j json, jb jsonb, by bytea,
  ai int4[], ai8 int8[], at text[], ab bool[], af float8[], a2 int4[][],
  m mood, am mood[]
);
INSERT INTO vals VALUES
 (1, 32767, 2147483647, 9223372036854775807,
  12345678901234567890.123456789, 1.500,
  3.14, 1.7976931348623157e308,
  true, 'hello "world" \ back/slash', 'varchar', 'ab',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '12:34:56.789',
  '2024-01-31 12:00:00.123456', '2024-01-31 12:00:00.123+02', '1 year 2 months 3 days 04:05:06.5',
  '{"a": [1, 2.5, "x"], "b": null}', '{"k": {"n": -1.5e3}, "s": "ünï"}', '\x0001fffe',
  '{1,NULL,3}', '{9223372036854775807,-1}', '{"a,b","c\"d","NULL",NULL,"",x}', '{t,f,NULL}',
  '{1.5,NaN,Infinity,-Infinity}', '{{1,2},{3,NULL}}', 'happy', '{sad,"with space"}'),
 (2, -32768, -2147483648, -9223372036854775808,
  'NaN', -0.001,
  'NaN', '-Infinity',
  false, '', '', '',
  '00000000-0000-0000-0000-000000000000', '0001-01-01', '00:00', 'infinity', '-infinity', '-1 day',
  '"just a string"', '[]', '\x',
  '{}', '{}', '{}', '{}', '{}', '{}', 'sad', '{}'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'nulls', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 0, 0, 0, 'Infinity', 0, 'Infinity', '-0',
  true, 'tab	newline
end', 'x', 'abcde',
  'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12', '2000-01-01', '23:59:59.999999', '1999-12-31 23:59:59', '2038-01-19 03:14:07+00', 'PT0S',
  'null', '{"a": 1}', '\xdeadbeef',
  '{0}', '{0}', '{" "}', '{f}', '{-0}', '{{1}}', 'ok', '{NULL}');`

// valsTypes is the client-side type of every vals column (electric-schema
// type and dims, as the client's parser uses them).
var valsTypes = map[string]colType{
	"id": {"int4", 0}, "i2": {"int2", 0}, "i4": {"int4", 0}, "i8": {"int8", 0},
	"num": {"numeric", 0}, "nump": {"numeric", 0}, "f4": {"float4", 0}, "f8": {"float8", 0},
	"b": {"bool", 0}, "t": {"text", 0}, "vc": {"varchar", 0}, "ch": {"bpchar", 0},
	"u": {"uuid", 0}, "d": {"date", 0}, "tm": {"time", 0}, "ts": {"timestamp", 0},
	"tstz": {"timestamptz", 0}, "iv": {"interval", 0}, "j": {"json", 0}, "jb": {"jsonb", 0},
	"by": {"bytea", 0}, "ai": {"int4", 1}, "ai8": {"int8", 1}, "at": {"text", 1},
	"ab": {"bool", 1}, "af": {"float8", 1}, "a2": {"int4", 2}, "m": {"mood", 0}, "am": {"mood", 1},
}

// valsLiveWrites changes vals through replication: new rows copying the
// edge values (so the live path formats them too), updates that change
// types and NULLs, a delete, then an update of a new row.
func valsLiveWrites(t *testing.T, dbURL string) {
	pgtest.Exec(t, dbURL, `BEGIN;
		INSERT INTO vals SELECT id + 4, i2, i4, i8, num, nump, f4, f8, b, t, vc, ch, u, d, tm, ts, tstz, iv, j, jb, by,
		                        ai, ai8, at, ab, af, a2, m, am FROM vals WHERE id IN (1, 2);
		UPDATE vals SET b = false, f8 = 'NaN', ai = '{{7,8},{9,10}}', i8 = -1, j = '[1,{"x":[]}]', t = 'updated' WHERE id = 1;
		UPDATE vals SET (i2, i4, i8, num, f4, f8, b, vc, ch, u, d, tm, ts, tstz, iv, j, jb, by, ai, ai8, at, ab, af, a2, m, am) =
		      (SELECT i2, i4, i8, num, f4, f8, b, vc, ch, u, d, tm, ts, tstz, iv, j, jb, by, ai, ai8, at, ab, af, a2, m, am FROM vals WHERE id = 2)
		      WHERE id = 3;
		DELETE FROM vals WHERE id = 4;
		COMMIT;`)
	pgtest.Exec(t, dbURL, `UPDATE vals SET at = '{"new, value",NULL}', f4 = -1.25, tstz = '2024-06-01 00:00:00.5-07:30' WHERE id = 5;
		UPDATE vals SET b = NULL, am = '{happy,happy}' WHERE id = 6;`)
}

func compatShapeURL(srv *server) string { return srv.url("/v1/shape") }

// waitUpToDate waits for the next up-to-date of shape; an error event fails.
func waitUpToDate(t *testing.T, p *nodeProc, shape string, timeout time.Duration) (compatEvent, jsRows) {
	t.Helper()
	ev, ok := p.waitEvent(timeout, func(ev compatEvent) bool {
		return ev.shape() == shape && (ev.Event == "up-to-date" || ev.Event == "error")
	})
	if !ok {
		t.Fatalf("no up-to-date for %s within %v; failures: %v", shape, timeout, p.failures())
	}
	if ev.Event == "error" {
		t.Fatalf("client error for %s: %s", shape, ev)
	}
	rows, err := decodeJSRows(ev.Rows)
	if err != nil {
		t.Fatalf("%s: %v (%s)", shape, err, ev)
	}
	return ev, rows
}

// convergeRows waits until an up-to-date of shape carries exactly want.
func convergeRows(t *testing.T, p *nodeProc, shape string, timeout time.Duration, want jsRows) compatEvent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := "no up-to-date received"
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("%s did not converge within %v; last difference:\n%s\nfailures: %v", shape, timeout, last, p.failures())
		}
		ev, ok := p.waitEvent(left, func(ev compatEvent) bool {
			return ev.shape() == shape && (ev.Event == "up-to-date" || ev.Event == "error")
		})
		if !ok {
			continue
		}
		if ev.Event == "error" {
			t.Fatalf("client error for %s: %s", shape, ev)
		}
		got, err := decodeJSRows(ev.Rows)
		if err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		if last = diffJSRows(got, want); last == "" {
			return ev
		}
	}
}

// requestsOf returns the URLs a driver fetched.
func requestsOf(t *testing.T, p *nodeProc) []string {
	t.Helper()
	v, err := p.call(map[string]any{"cmd": "requests"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Requests []struct{ URL string } `json:"requests"`
	}
	if err := json.Unmarshal(v, &r); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, q := range r.Requests {
		out = append(out, q.URL)
	}
	return out
}

func idIn(ids ...int) func(Row) bool {
	return func(r Row) bool {
		for _, id := range ids {
			if r["id"] != nil && *r["id"] == fmt.Sprint(id) {
				return true
			}
		}
		return false
	}
}

// runValsMode syncs vals with one client configuration, checks the initial
// state and the state after live writes. initialAll says whether the
// client must see the rows that existed before it started (full log from
// -1) or none of them (changes_only, offset=now); keepAfter selects the
// rows it must hold after the writes (nil: all).
func runValsMode(t *testing.T, shapeCfg map[string]any, params map[string]any, initialAll bool, keepAfter func(Row) bool) *nodeProc {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, valsDDL)
	srv := startServer(t, dbURL)
	conn := connect(t, dbURL)

	shapeCfg["name"] = "vals"
	params["table"] = "vals"
	shapeCfg["params"] = params
	p := startNode(t, "client.mjs", map[string]any{"url": compatShapeURL(srv), "shapes": []any{shapeCfg}})

	_, got := waitUpToDate(t, p, "vals", 60*time.Second)
	want := jsRows{}
	if initialAll {
		want = expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, nil)
	}
	if d := diffJSRows(got, want); d != "" {
		t.Fatalf("initial rows differ from Postgres (parsed by the client's default parser):\n%s", d)
	}

	valsLiveWrites(t, dbURL)
	want = expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, keepAfter)
	convergeRows(t, p, "vals", 60*time.Second, want)
	if f := p.failures(); len(f) > 0 {
		t.Errorf("client reported failed requests: %v", f)
	}
	return p
}

func TestCompatClientTypesLongPoll(t *testing.T) {
	p := runValsMode(t, map[string]any{}, map[string]any{}, true, nil)
	for _, u := range requestsOf(t, p) {
		if strings.Contains(u, "live_sse") {
			t.Errorf("long-poll client made an SSE request: %s", u)
		}
	}
}

func TestCompatClientTypesSSE(t *testing.T) {
	p := runValsMode(t, map[string]any{"liveSse": true}, map[string]any{}, true, nil)
	// The changes must have come over SSE, and the client must not have
	// fallen back to long-polling (it does after 3 short SSE connections).
	var sse, longPoll int
	for _, u := range requestsOf(t, p) {
		q := mustQuery(t, u)
		switch {
		case q.Get("live") == "true" && q.Get("live_sse") == "true":
			sse++
		case q.Get("live") == "true":
			longPoll++
		}
	}
	if sse == 0 || longPoll > 0 {
		t.Errorf("SSE client made %d SSE and %d long-poll live requests; want only SSE", sse, longPoll)
	}
}

func TestCompatClientChangesOnly(t *testing.T) {
	// Only rows inserted after the client started; updates of rows it never
	// saw inserted are ignored by the client in changes_only mode.
	p := runValsMode(t, map[string]any{"log": "changes_only"}, map[string]any{}, false, idIn(5, 6))
	for _, u := range requestsOf(t, p) {
		if q := mustQuery(t, u); q.Get("log") != "changes_only" {
			t.Errorf("request without log=changes_only: %s", u)
		}
	}
}

func TestCompatClientOffsetNow(t *testing.T) {
	// In full mode the client merges an update of a row it never saw into
	// an empty row, so with replica=default it would hold partial rows;
	// replica=full makes every update carry the whole row: the client must
	// end with every row written after it started (4 was deleted).
	p := runValsMode(t, map[string]any{"offset": "now"}, map[string]any{"replica": "full"}, false, idIn(1, 3, 5, 6))
	reqs := requestsOf(t, p)
	if len(reqs) == 0 || mustQuery(t, reqs[0]).Get("offset") != "now" {
		t.Errorf("first request is not offset=now: %v", reqs)
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Query()
}

// TestCompatClientMustRefetch deletes the shape the client follows: the
// client must get a 409, refetch from scratch under a new handle, and end
// equal to SELECT.
func TestCompatClientMustRefetch(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, valsDDL)
	srv := startServer(t, dbURL, "ELECTRIC_ENABLE_INTEGRATION_TESTING=true")
	conn := connect(t, dbURL)
	p := startNode(t, "client.mjs", map[string]any{"url": compatShapeURL(srv), "shapes": []any{
		map[string]any{"name": "vals", "params": map[string]any{"table": "vals"}},
	}})
	first, got := waitUpToDate(t, p, "vals", 60*time.Second)
	if d := diffJSRows(got, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, nil)); d != "" {
		t.Fatalf("initial rows differ:\n%s", d)
	}
	oldHandle := *first.Handle
	// Let the client settle into its live long-poll, then delete the shape
	// under it; change data too, so the refetch must bring new state.
	time.Sleep(300 * time.Millisecond)
	req, _ := http.NewRequest(http.MethodDelete, srv.url("/v1/shape?table=vals&handle="+url.QueryEscape(oldHandle)), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("DELETE /v1/shape: %d, want 202", resp.StatusCode)
	}
	valsLiveWrites(t, dbURL)

	if _, ok := p.waitEvent(30*time.Second, func(ev compatEvent) bool { return ev.Event == "must-refetch" }); !ok {
		t.Fatalf("client saw no must-refetch after the shape was deleted; failures: %v", p.failures())
	}
	ev := convergeRows(t, p, "vals", 60*time.Second, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, nil))
	if ev.Handle == nil || *ev.Handle == oldHandle {
		t.Errorf("handle after refetch = %v, want a new one (old %s)", ev.Handle, oldHandle)
	}
	saw409 := false
	for _, f := range p.failures() {
		if f.Status != nil && *f.Status == 409 {
			saw409 = true
		} else {
			t.Errorf("unexpected failure: %s", f)
		}
	}
	if !saw409 {
		t.Errorf("the client never saw a 409")
	}
	// After the refetch the client follows the new shape live.
	pgtest.Exec(t, dbURL, `UPDATE vals SET t = 'after refetch' WHERE id = 1`)
	convergeRows(t, p, "vals", 30*time.Second, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, nil))
}

// TestCompatClientSecret runs a server with ELECTRIC_SECRET: a client with
// the secret syncs, one without it (or with a wrong one) gets a 401 that
// the client surfaces to onError.
func TestCompatClientSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, valsDDL)
	const secret = "s3cr3t/+&= value"
	srv := startServer(t, dbURL, "ELECTRIC_INSECURE=false", "ELECTRIC_SECRET="+secret)
	conn := connect(t, dbURL)

	ok := startNode(t, "client.mjs", map[string]any{"url": compatShapeURL(srv), "secret": secret, "shapes": []any{
		map[string]any{"name": "vals", "params": map[string]any{"table": "vals"}},
		map[string]any{"name": "vals-sse", "params": map[string]any{"table": "vals"}, "liveSse": true},
	}})
	want := expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, nil)
	for _, s := range []string{"vals", "vals-sse"} {
		if _, got := waitUpToDate(t, ok, s, 60*time.Second); diffJSRows(got, want) != "" {
			t.Fatalf("%s with the secret: rows differ:\n%s", s, diffJSRows(got, want))
		}
	}
	valsLiveWrites(t, dbURL)
	want = expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, nil)
	convergeRows(t, ok, "vals", 60*time.Second, want)
	convergeRows(t, ok, "vals-sse", 60*time.Second, want)

	for _, tc := range []struct{ name, secret string }{{"no-secret", ""}, {"wrong-secret", "s3cr3t"}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := map[string]any{"url": compatShapeURL(srv), "shapes": []any{
				map[string]any{"name": "vals", "params": map[string]any{"table": "vals"}},
			}}
			if tc.secret != "" {
				cfg["secret"] = tc.secret
			}
			bad := startNode(t, "client.mjs", cfg)
			ev, got := bad.waitEvent(30*time.Second, func(ev compatEvent) bool {
				return ev.shape() == "vals" && (ev.Event == "error" || ev.Event == "up-to-date")
			})
			if !got {
				t.Fatalf("client without the right secret surfaced no error within 30s")
			}
			if ev.Event != "error" || ev.Status == nil || *ev.Status != http.StatusUnauthorized {
				t.Fatalf("got %s, want an error with status 401", ev)
			}
			if _, leaked := bad.lastEvent(func(ev compatEvent) bool { return ev.Event == "up-to-date" }); leaked {
				t.Fatalf("client without the right secret received shape data")
			}
		})
	}
}

// TestCompatClientWhereParams syncs a shape with `where` and positional
// `params`: rows equal the filtered SELECT, initially and as rows move in
// and out of the shape.
func TestCompatClientWhereParams(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, valsDDL)
	srv := startServer(t, dbURL)
	conn := connect(t, dbURL)
	shapes := []any{
		map[string]any{"name": "where", "params": map[string]any{
			"table": "vals", "where": `i4 >= $1 AND t <> $2`, "params": map[string]any{"1": "0", "2": "nulls"}}},
		map[string]any{"name": "where-sse", "liveSse": true, "params": map[string]any{
			"table": "vals", "where": `b = $1 OR i2 = $2`, "params": []any{"true", "-32768"}}},
		// Enum comparisons: ordering by the enum's sort order (sad < ok <
		// happy, unlike text) and array overlap with a parameter.
		map[string]any{"name": "where-enum", "params": map[string]any{
			"table": "vals", "where": `m > $1 OR am && $2`, "params": map[string]any{"1": "ok", "2": "{sad}"}}},
	}
	p := startNode(t, "client.mjs", map[string]any{"url": compatShapeURL(srv), "shapes": shapes})
	keepA := func(r Row) bool {
		return r["i4"] != nil && atoi(t, *r["i4"]) >= 0 && *r["t"] != "nulls"
	}
	keepB := func(r Row) bool {
		return (r["b"] != nil && *r["b"] == "t") || (r["i2"] != nil && *r["i2"] == "-32768")
	}
	const enumWhere = `m > 'ok' OR am && '{sad}'`
	for _, c := range []struct {
		name string
		keep func(Row) bool
	}{{"where", keepA}, {"where-sse", keepB}, {"where-enum", valsWhere(t, conn, enumWhere)}} {
		_, got := waitUpToDate(t, p, c.name, 60*time.Second)
		if d := diffJSRows(got, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, c.keep)); d != "" {
			t.Fatalf("%s: initial rows differ from the filtered SELECT:\n%s", c.name, d)
		}
	}
	valsLiveWrites(t, dbURL)
	// Move rows in and out of both shapes.
	pgtest.Exec(t, dbURL, `UPDATE vals SET i4 = -5, b = true WHERE id = 5;
		UPDATE vals SET i4 = 10, t = 'in now', b = false, m = 'ok' WHERE id = 3;
		UPDATE vals SET i2 = 1 WHERE id = 6;`)
	convergeRows(t, p, "where", 60*time.Second, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, keepA))
	convergeRows(t, p, "where-sse", 60*time.Second, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, keepB))
	// Rows move into and out of the enum shape.
	pgtest.Exec(t, dbURL, `UPDATE vals SET m = 'happy' WHERE id = 4;
		UPDATE vals SET m = 'sad', am = '{ok}' WHERE id = 1;
		UPDATE vals SET am = '{ok,sad}' WHERE id = 5;`)
	convergeRows(t, p, "where-enum", 60*time.Second, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, valsWhere(t, conn, enumWhere)))
	if f := p.failures(); len(f) > 0 {
		t.Errorf("client reported failed requests: %v", f)
	}
}

// valsWhere returns a filter keeping the rows of vals that Postgres
// selects, now, with WHERE cond.
func valsWhere(t *testing.T, conn *pgx.Conn, cond string) func(Row) bool {
	t.Helper()
	var ids []string
	rows, err := conn.Query(context.Background(), "SELECT id::text FROM vals WHERE "+cond)
	if err != nil {
		t.Fatalf("SELECT id FROM vals WHERE %s: %v", cond, err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return func(r Row) bool { return r["id"] != nil && slices.Contains(ids, *r["id"]) }
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not an int: %q", s)
	}
	return n
}

// TestCompatClientSubsetSnapshot uses requestSnapshot (GET and POST) on a
// changes_only stream: the injected rows equal the subset SELECT with every
// type parsed, the snapshot metadata has the documented form, later
// changes to those rows are applied, and fetchSnapshot returns the same.
func TestCompatClientSubsetSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, valsDDL)
	srv := startServer(t, dbURL)
	conn := connect(t, dbURL)
	p := startNode(t, "client.mjs", map[string]any{"url": compatShapeURL(srv), "shapes": []any{
		map[string]any{"name": "get", "params": map[string]any{"table": "vals"}, "log": "changes_only"},
		map[string]any{"name": "post", "params": map[string]any{"table": "vals"}, "log": "changes_only", "subsetMethod": "POST"},
	}})
	for _, s := range []string{"get", "post"} {
		if _, got := waitUpToDate(t, p, s, 60*time.Second); len(got) != 0 {
			t.Fatalf("%s: changes_only stream started with rows: %v", s, got)
		}
	}
	ctx := context.Background()

	type subsetResult struct {
		Rows map[string]json.RawMessage `json:"rows"`
	}
	// Shape.requestSnapshot: rows injected into the Shape.
	for _, c := range []struct {
		shape  string
		subset map[string]any
		keep   func(Row) bool
	}{
		{"get", map[string]any{"where": "id <= $1", "params": map[string]any{"1": "2"}, "orderBy": "id DESC", "limit": 5}, idIn(1, 2)},
		{"post", map[string]any{"where": "t = $1 OR id = $2", "params": map[string]any{"1": "nulls", "2": "4"}}, idIn(3, 4)},
	} {
		v, err := p.call(map[string]any{"cmd": "requestSnapshot", "shape": c.shape, "subset": c.subset}, 60*time.Second)
		if err != nil {
			t.Fatalf("%s: requestSnapshot: %v", c.shape, err)
		}
		var r subsetResult
		if err := json.Unmarshal(v, &r); err != nil {
			t.Fatal(err)
		}
		got, err := decodeJSRows(r.Rows)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffJSRows(got, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, c.keep)); d != "" {
			t.Fatalf("%s: Shape after requestSnapshot differs from the subset SELECT:\n%s", c.shape, d)
		}
	}
	// Changes to snapshotted rows are applied; rows outside stay out.
	pgtest.Exec(t, dbURL, `UPDATE vals SET t = 'changed', i8 = 42 WHERE id IN (1, 3);
		DELETE FROM vals WHERE id = 2;
		INSERT INTO vals (id, t, i8) VALUES (10, 'new', 10);`)
	convergeRows(t, p, "get", 60*time.Second, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, idIn(1, 10)))
	convergeRows(t, p, "post", 60*time.Second, expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, idIn(3, 4, 10)))

	// fetchSnapshot (not injected) by GET and POST: data and metadata.
	for _, method := range []string{"GET", "POST"} {
		v, err := p.call(map[string]any{"cmd": "fetchSnapshot", "shape": "get", "subset": map[string]any{
			"where": "i8 >= $1", "params": map[string]any{"1": "0"}, "orderBy": "id", "limit": 3, "offset": 0, "method": method}}, 60*time.Second)
		if err != nil {
			t.Fatalf("fetchSnapshot %s: %v", method, err)
		}
		var r struct {
			Metadata struct {
				Xmin         *string  `json:"xmin"`
				Xmax         *string  `json:"xmax"`
				XipList      []string `json:"xip_list"`
				DatabaseLSN  *string  `json:"database_lsn"`
				SnapshotMark *int64   `json:"snapshot_mark"`
			} `json:"metadata"`
			Data           map[string]json.RawMessage `json:"data"`
			ResponseOffset *string                    `json:"responseOffset"`
			ResponseHandle *string                    `json:"responseHandle"`
		}
		if err := json.Unmarshal(v, &r); err != nil {
			t.Fatalf("fetchSnapshot %s: %v in %s", method, err, v)
		}
		m := r.Metadata
		if m.Xmin == nil || m.Xmax == nil || m.DatabaseLSN == nil || m.SnapshotMark == nil || m.XipList == nil {
			t.Errorf("fetchSnapshot %s: incomplete metadata %s", method, v)
		}
		got, err := decodeJSRows(r.Data)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, row := range conn.PgConn().ExecParams(ctx, `SELECT id FROM vals WHERE i8 >= 0 ORDER BY id LIMIT 3`, nil, nil, nil, nil).Read().Rows {
			ids = append(ids, string(row[0]))
		}
		want := expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, func(r Row) bool {
			for _, id := range ids {
				if *r["id"] == id {
					return true
				}
			}
			return false
		})
		if d := diffJSRows(got, want); d != "" {
			t.Errorf("fetchSnapshot %s: data differs from SELECT … ORDER BY id LIMIT 3:\n%s", method, d)
		}
	}
	// Subset where clauses compare enum columns with labels (§10.3, §13.2),
	// as parameters or literals: equality, IN, array containment, and
	// ordering by the enum's sort order (sad < ok < happy < 'with space',
	// not text order); the rows are those SELECT returns. A label the enum
	// lacks is refused with a 400 naming it, as Postgres refuses it.
	enumRows := func(cond string) func(Row) bool { return valsWhere(t, conn, cond) }
	for _, method := range []string{"GET", "POST"} {
		for _, c := range []struct {
			where  string
			params map[string]any
			keep   func(Row) bool
		}{
			{"m = $1", map[string]any{"1": "ok"}, enumRows("m = 'ok'")},
			{"m > $1", map[string]any{"1": "sad"}, enumRows("m > 'sad'")},
			{"m <= 'happy' AND m <> 'ok'", nil, enumRows("m <= 'happy' AND m <> 'ok'")},
			{"m IN ('sad', 'with space') OR am @> '{\"with space\"}'", nil, enumRows(`m IN ('sad', 'with space') OR am @> '{"with space"}'`)},
			{"m::text = $1", map[string]any{"1": "ok"}, enumRows("m::text = 'ok'")},
		} {
			subset := map[string]any{"where": c.where, "method": method}
			if c.params != nil {
				subset["params"] = c.params
			}
			v, err := p.call(map[string]any{"cmd": "fetchSnapshot", "shape": "get", "subset": subset}, 60*time.Second)
			if err != nil {
				t.Errorf("fetchSnapshot %s where %s: %v", method, c.where, err)
				continue
			}
			var r struct {
				Data map[string]json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(v, &r); err != nil {
				t.Fatal(err)
			}
			got, err := decodeJSRows(r.Data)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedJSRows(t, conn, "public", "vals", []string{"id"}, valsTypes, c.keep)
			if len(want) == 0 {
				t.Fatalf("where %s selects no rows of vals; the check would prove nothing", c.where)
			}
			if d := diffJSRows(got, want); d != "" {
				t.Errorf("fetchSnapshot %s where %s: data differs from SELECT:\n%s", method, c.where, d)
			}
		}
		_, err := p.call(map[string]any{"cmd": "fetchSnapshot", "shape": "get", "subset": map[string]any{
			"where": "m = $1", "params": map[string]any{"1": "xyz"}, "method": method}}, 60*time.Second)
		if err == nil || !strings.Contains(err.Error(), "status 400") || !strings.Contains(err.Error(), `invalid input value for enum mood: \"xyz\"`) {
			t.Errorf("fetchSnapshot %s where m = 'xyz' = %v; want a 400 naming the invalid label", method, err)
		}
	}
}
