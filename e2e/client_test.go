package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/galvani-sync/galvani/client"
	"github.com/galvani-sync/galvani/e2e/nodeclient"
	"github.com/galvani-sync/galvani/examples/gatekeeper"
	"github.com/galvani-sync/galvani/internal/pgtest"
	"github.com/galvani-sync/galvani/protocol"
)

// e2eBackoff retries quickly, so a restarted server is found again soon.
var e2eBackoff = client.Backoff{Initial: 50 * time.Millisecond, Max: 500 * time.Millisecond}

// recorder is a transport that records request URLs.
type recorder struct {
	mu   sync.Mutex
	urls []*url.URL
	tr   *http.Transport
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL)
	r.mu.Unlock()
	return r.tr.RoundTrip(req)
}

func (r *recorder) requests() []*url.URL {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.urls)
}

// goClient returns a Go client for srv with its own recorded transport,
// closed at the end of the test.
func goClient(t *testing.T, srv *server) (*client.Client, *recorder) {
	t.Helper()
	rec := &recorder{tr: &http.Transport{}}
	t.Cleanup(rec.tr.CloseIdleConnections)
	return &client.Client{BaseURL: srv.url(""), HTTPClient: &http.Client{Transport: rec}, Backoff: e2eBackoff}, rec
}

// runShape runs shape until the test ends and returns it.
func runShape(t *testing.T, shape *client.Shape) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- shape.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Shape.Run() = %v, want context.Canceled", err)
		}
	})
}

func asRows(rows map[string]client.Row) map[string]Row {
	out := make(map[string]Row, len(rows))
	for k, r := range rows {
		out[k] = map[string]*string(r)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// projectColumns keeps the given columns of each row.
func projectColumns(rows map[string]Row, cols ...string) map[string]Row {
	out := make(map[string]Row, len(rows))
	for k, r := range rows {
		p := Row{}
		for _, c := range cols {
			p[c] = r[c]
		}
		out[k] = p
	}
	return out
}

// waitRows waits until shape's rows equal want().
func waitRows(t *testing.T, what string, shape *client.Shape, want func() map[string]Row) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := asRows(shape.Rows())
		w := want()
		if shape.UpToDate() && rowsEqual(got, w) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: Go shape never equalled SELECT:\n%s", what, describeDiff(got, w))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// itemsAndLate creates the tables the random workload of sync_test.go
// writes to.
func itemsAndLate(t *testing.T, dbURL string) {
	pgtest.Exec(t, dbURL, `
		CREATE TABLE items (
			id bigint PRIMARY KEY, title text NOT NULL, n int, price numeric(10,2),
			done boolean NOT NULL DEFAULT false, updated timestamptz, meta jsonb);
		INSERT INTO items
		SELECT i, 'item ' || i, i % 7, (i * 1.25)::numeric(10,2), i % 2 = 0,
		       '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 minute',
		       jsonb_build_object('i', i)
		FROM generate_series(1, 300) i;
		CREATE TABLE late (a int, b text, v text, PRIMARY KEY (a, b));
		INSERT INTO late VALUES (1, 'k/1', 'first');`)
}

// TestGoClientMatchesSelectAndOfficialClient is the differential test:
// after a random workload of inserts, updates, deletes and primary-key
// changes, the Go Shape equals SELECT and equals what the official
// TypeScript client materialises, for a whole-table shape, a replica=full
// shape with a column subset, and a composite-key table whose keys need
// escaping.
func TestGoClientMatchesSelectAndOfficialClient(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	_, dbURL := pgtest.NewDatabase(t)
	itemsAndLate(t, dbURL)
	srv := startServer(t, dbURL)
	c, _ := goClient(t, srv)
	conn := connect(t, dbURL)

	shapes := []struct {
		name string
		req  client.ShapeRequest
		node map[string]string
		want func() map[string]Row
	}{
		{"items", client.ShapeRequest{Table: "items"}, map[string]string{"table": "items"},
			func() map[string]Row { return tableRows(t, conn, "public", "items", []string{"id"}) }},
		{"items-full", client.ShapeRequest{Table: "items", Replica: "full", Columns: []string{"id", "title", "n"}},
			map[string]string{"table": "items", "replica": "full", "columns": "id,title,n"},
			func() map[string]Row {
				return projectColumns(tableRows(t, conn, "public", "items", []string{"id"}), "id", "title", "n")
			}},
		{"late", client.ShapeRequest{Table: "late"}, map[string]string{"table": "late"},
			func() map[string]Row { return tableRows(t, conn, "public", "late", []string{"a", "b"}) }},
	}
	goShapes := map[string]*client.Shape{}
	cfg := nodeclient.Config{URL: srv.url("/v1/shape")}
	for _, s := range shapes {
		sh, err := c.Shape(s.req)
		if err != nil {
			t.Fatal(err)
		}
		runShape(t, sh)
		goShapes[s.name] = sh
		cfg.Shapes = append(cfg.Shapes, nodeclient.ShapeConfig{Name: s.name, Params: s.node})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	node, err := nodeclient.Start(ctx, cfg, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer node.Stop()

	w := &workload{t: t, rng: rand.New(rand.NewPCG(seed, 2)), conn: conn, nextID: 301}
	for i := range 40 {
		w.randomTransaction()
		if i%10 == 9 {
			for _, s := range shapes {
				waitRows(t, fmt.Sprintf("%s after transaction %d", s.name, i), goShapes[s.name], s.want)
			}
		}
	}
	for _, s := range shapes {
		waitRows(t, s.name, goShapes[s.name], s.want)
		want := s.want()
		ev, err := node.WaitFor(ctx, func(ev nodeclient.Event) bool {
			return ev.Event == nodeclient.EventUpToDate && ev.Shape == s.name && rowsEqual(ev.ShapeRows, want)
		})
		if err != nil {
			t.Fatalf("%s: official client did not reach SELECT: %v", s.name, err)
		}
		if got := asRows(goShapes[s.name].Rows()); !rowsEqual(got, ev.ShapeRows) {
			t.Errorf("%s: Go shape differs from the official client's:\n%s", s.name, describeDiff(got, ev.ShapeRows))
		}
		if h := goShapes[s.name].Handle(); h != ev.Handle {
			t.Errorf("%s: Go client follows handle %s, the official client %s", s.name, h, ev.Handle)
		}
	}
}

// TestGoClientResumesAcrossServerKill: a shape saved (rows, offset,
// handle) and resumed after the server was killed with SIGKILL continues
// without a refetch; a shape left running through the kill retries and
// catches up, also without a refetch.
func TestGoClientResumesAcrossServerKill(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	itemsAndLate(t, dbURL)
	srv := startServer(t, dbURL)
	c, _ := goClient(t, srv)
	conn := connect(t, dbURL)
	want := func() map[string]Row { return tableRows(t, conn, "public", "items", []string{"id"}) }
	w := &workload{t: t, rng: rand.New(rand.NewPCG(7, 7)), conn: conn, nextID: 301}

	live, err := c.Shape(client.ShapeRequest{Table: "items"})
	if err != nil {
		t.Fatal(err)
	}
	liveUpdates := live.Subscribe(1024)
	runShape(t, live)

	first, err := c.Shape(client.ShapeRequest{Table: "items"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := first.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, dbURL, `UPDATE items SET title = title || '!' WHERE id = 1`)
	w.randomTransaction()
	waitRows(t, "before the kill", first, want)
	cancel()
	<-done
	saved, offset, handle := first.Rows(), first.Offset(), first.Handle()
	t.Logf("saved %d rows at handle %s offset %s", len(saved), handle, offset)
	if off, err := protocol.ParseOffset(offset); err != nil || off.IsSnapshot() {
		t.Fatalf("saved offset %s; want a position in the change log", offset)
	}

	w.randomTransaction()
	srv.kill()
	w.randomTransaction()
	w.randomTransaction()
	srv.start()
	w.randomTransaction()

	c2, rec := goClient(t, srv)
	st, err := c2.Stream(client.ShapeRequest{Table: "items", Offset: offset, Handle: handle})
	if err != nil {
		t.Fatal(err)
	}
	resumed := client.NewShape(st, saved)
	updates := resumed.Subscribe(1024)
	runShape(t, resumed)
	waitRows(t, "resumed shape", resumed, want)
	waitRows(t, "shape running through the kill", live, want)

	if got := rec.requests()[0].Query(); got.Get("offset") != offset || got.Get("handle") != handle || got.Get("live") != "" {
		t.Errorf("first resumed request = %v; want a catch-up at the saved offset %s and handle %s", got, offset, handle)
	}
	for _, sub := range []*client.Subscription{updates, liveUpdates} {
	drain:
		for {
			select {
			case u := <-sub.Updates():
				if u.Refetched {
					t.Errorf("an update was a refetch: a restart must not invalidate the shape")
				}
			default:
				break drain
			}
		}
	}
	if resumed.Handle() != handle || live.Handle() != handle {
		t.Errorf("handles after restart: resumed %s, live %s; want %s", resumed.Handle(), live.Handle(), handle)
	}
}

// TestGoClientRefetchAfterDelete: DELETE /v1/shape invalidates the shape;
// the Go Shape gets must-refetch, rebuilds under a new handle and equals
// SELECT again.
func TestGoClientRefetchAfterDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE inv (id int PRIMARY KEY, v text);
		INSERT INTO inv SELECT i, 'v' || i FROM generate_series(1, 50) i;`)
	srv := startServer(t, dbURL, "ELECTRIC_ENABLE_INTEGRATION_TESTING=true")
	c, rec := goClient(t, srv)
	conn := connect(t, dbURL)
	want := func() map[string]Row { return tableRows(t, conn, "public", "inv", []string{"id"}) }
	req := client.ShapeRequest{Table: "inv"}
	shape, err := c.Shape(req)
	if err != nil {
		t.Fatal(err)
	}
	updates := shape.Subscribe(64)
	runShape(t, shape)
	waitRows(t, "before delete", shape, want)
	old := shape.Handle()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.DeleteShape(ctx, req); err != nil {
		t.Fatalf("DeleteShape() = %v", err)
	}
	pgtest.Exec(t, dbURL, `INSERT INTO inv VALUES (100, 'after delete'); DELETE FROM inv WHERE id = 1`)
	for {
		select {
		case u, ok := <-updates.Updates():
			if !ok {
				t.Fatalf("subscription closed: %v", updates.Err())
			}
			if !u.Refetched {
				continue
			}
			if u.Handle == old {
				t.Errorf("refetched under the deleted handle %s", old)
			}
		case <-ctx.Done():
			t.Fatal("no refetch after DELETE /v1/shape")
		}
		break
	}
	waitRows(t, "after refetch", shape, want)
	var sawBuster bool
	for _, u := range rec.requests() {
		q := u.Query()
		if q.Get("cache-buster") != "" && q.Get("offset") == "-1" && q.Get("expired_handle") == old {
			sawBuster = true
		}
	}
	if !sawBuster {
		t.Error("no request at offset -1 with a cache-buster and expired_handle after the 409")
	}
	var fe *client.FetchError
	if err := c.DeleteShape(ctx, client.ShapeRequest{Handle: old}); !errors.As(err, &fe) || fe.Status != http.StatusNotFound {
		t.Errorf("DeleteShape() of the deleted handle = %v, want a 404 FetchError", err)
	}
}

// TestGoClientLongPoll: live requests carry live=true and the previous
// electric-cursor, sorted; a change arrives as a live batch; a quiet
// long-poll ends with an empty up-to-date batch at the same offset.
func TestGoClientLongPoll(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE lp (id int PRIMARY KEY, v text); INSERT INTO lp VALUES (1, 'a');`)
	srv := startServer(t, dbURL, "ELECTRIC_LONG_POLL_TIMEOUT=1s")
	c, rec := goClient(t, srv)
	st, err := c.Stream(client.ShapeRequest{Table: "lp"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		b, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if b.UpToDate {
			break
		}
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		pgtest.Exec(t, dbURL, `INSERT INTO lp VALUES (2, 'b')`)
	}()
	b, err := st.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Live || !b.UpToDate || len(b.Messages) != 2 || b.Messages[0].Headers.Operation != protocol.OperationInsert || b.Messages[0].Headers.LSN == "" {
		t.Fatalf("live batch = %+v; want the insert with its lsn, then up-to-date", b)
	}
	at := b.Offset
	quiet, err := st.Next(ctx) // nothing happens: the server's 1 s long-poll timeout
	if err != nil {
		t.Fatal(err)
	}
	if !quiet.Live || !quiet.UpToDate || len(quiet.Messages) != 1 || quiet.Offset != at {
		t.Errorf("quiet long-poll batch = %+v; want only up-to-date at %s", quiet, at)
	}
	live := 0
	for i, u := range rec.requests() {
		q := u.Query()
		if u.RawQuery != q.Encode() {
			t.Errorf("request %d query %q is not sorted", i, u.RawQuery)
		}
		if q.Get("live") != "true" {
			continue
		}
		// The first live request has no cursor yet: no live response came before it.
		if live++; live > 1 && q.Get("cursor") == "" {
			t.Errorf("live request %d = %v; want the cursor of the previous live response", i, q)
		}
	}
	if live < 2 {
		t.Errorf("%d live requests, want at least 2", live)
	}
}

// TestGoClientSSE follows live changes over Server-Sent Events.
func TestGoClientSSE(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE ev (id int PRIMARY KEY, v text); INSERT INTO ev VALUES (1, 'a');`)
	srv := startServer(t, dbURL)
	c, rec := goClient(t, srv)
	conn := connect(t, dbURL)
	want := func() map[string]Row { return tableRows(t, conn, "public", "ev", []string{"id"}) }
	st, err := c.Stream(client.ShapeRequest{Table: "ev", LiveSSE: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	shape := client.NewShape(st, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	next := func() client.Batch {
		t.Helper()
		b, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		shape.Apply(b)
		return b
	}
	for !next().UpToDate {
	}
	for i := 2; i <= 4; i++ {
		pgtest.Exec(t, dbURL, fmt.Sprintf(`INSERT INTO ev VALUES (%d, 'x'); UPDATE ev SET v = v || '+' WHERE id = 1`, i))
		for !rowsEqual(asRows(shape.Rows()), want()) {
			next()
		}
	}
	sse := 0
	for _, u := range rec.requests() {
		if u.Query().Get("live_sse") == "true" {
			sse++
		}
	}
	if sse == 0 {
		t.Error("no SSE request was made")
	}
}

// TestGoClientWhere syncs a shape with a parameterised where clause.
func TestGoClientWhere(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	itemsAndLate(t, dbURL)
	srv := startServer(t, dbURL)
	c, _ := goClient(t, srv)
	conn := connect(t, dbURL)
	st, err := c.Stream(client.ShapeRequest{Table: "items", Where: "n > $1 AND title LIKE $2", Params: []string{"3", "item%"}})
	if err != nil {
		t.Fatal(err)
	}
	shape := client.NewShape(st, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		b, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		shape.Apply(b)
		if b.UpToDate {
			break
		}
	}
	runShape(t, shape)
	want := func() map[string]Row {
		out := map[string]Row{}
		for k, r := range tableRows(t, conn, "public", "items", []string{"id"}) {
			if n, err := strconv.Atoi(deref(r["n"])); err == nil && n > 3 && strings.HasPrefix(*r["title"], "item") {
				out[k] = r
			}
		}
		return out
	}
	pgtest.Exec(t, dbURL, `UPDATE items SET n = 6 WHERE id = 1; UPDATE items SET n = 0 WHERE id = 6; INSERT INTO items (id, title, n) VALUES (1000, 'item new', 5)`)
	waitRows(t, "where shape", shape, want)
}

// TestGoClientSubsetSnapshot requests a subset of a shape.
func TestGoClientSubsetSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	itemsAndLate(t, dbURL)
	srv := startServer(t, dbURL)
	c, _ := goClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := c.RequestSnapshot(ctx, client.ShapeRequest{Table: "items", ChangesOnly: true},
		client.SubsetRequest{Where: "n = $1", Params: []string{"2"}, OrderBy: "id DESC", Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range snap.Messages {
		ids = append(ids, *m.Value["id"])
	}
	if want := []string{"296", "289", "282", "275", "268"}; !slices.Equal(ids, want) {
		t.Errorf("subset ids = %v, want %v", ids, want)
	}
	if snap.Metadata.Xmin == "" || snap.Metadata.DatabaseLSN == "" {
		t.Errorf("subset metadata = %+v; want xmin and database_lsn", snap.Metadata)
	}
}

// TestGoClientCancelLeavesNoGoroutine: cancelling a Shape's Run during a
// live long-poll, and a stream's Next during an SSE wait, leaves no
// goroutine of the client behind.
func TestGoClientCancelLeavesNoGoroutine(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE gl (id int PRIMARY KEY); INSERT INTO gl VALUES (1);`)
	srv := startServer(t, dbURL)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &client.Client{BaseURL: srv.url(""), HTTPClient: &http.Client{Transport: tr}, Backoff: e2eBackoff}

	for _, sse := range []bool{false, true} {
		shape, err := c.Shape(client.ShapeRequest{Table: "gl", LiveSSE: sse})
		if err != nil {
			t.Fatal(err)
		}
		sub := shape.Subscribe(4)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- shape.Run(ctx) }()
		wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := shape.Wait(wctx); err != nil {
			t.Fatalf("Wait() = %v", err)
		}
		wcancel()
		time.Sleep(200 * time.Millisecond) // Run is now waiting on a live request
		cancel()
		err = <-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run() = %v, want context.Canceled", err)
		}
		if _, ok := <-sub.Updates(); ok {
			for range sub.Updates() {
			}
		}
	}
}

// TestGatekeeperAgainstServer: through the example gatekeeper, a user's
// client reads only the user's rows, also when it asks for more.
func TestGatekeeperAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE docs (id int PRIMARY KEY, owner_id text NOT NULL, body text);
		INSERT INTO docs VALUES (1, 'alice', 'a1'), (2, 'bob', 'b1'), (3, 'alice', 'a2'), (4, 'carol', 'c1');`)
	srv := startServer(t, dbURL, "ELECTRIC_INSECURE=false", "ELECTRIC_SECRET=sekrit")
	upstream, _ := url.Parse(srv.url(""))
	h, err := gatekeeper.New(gatekeeper.Config{
		Upstream: upstream, Secret: "sekrit",
		Tokens: map[string]string{"alice-token": "alice", "bob-token": "bob"},
		Tables: map[string]string{"docs": "owner_id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	gk := httptest.NewServer(h)
	defer gk.Close()
	conn := connect(t, dbURL)
	owned := func(user string) func() map[string]Row {
		return func() map[string]Row {
			out := map[string]Row{}
			for k, r := range tableRows(t, conn, "public", "docs", []string{"id"}) {
				if *r["owner_id"] == user {
					out[k] = r
				}
			}
			return out
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Without the gatekeeper, the secret is required.
	direct, _ := goClient(t, srv)
	st, err := direct.Stream(client.ShapeRequest{Table: "docs"})
	if err != nil {
		t.Fatal(err)
	}
	var fe *client.FetchError
	if _, err := st.Next(ctx); !errors.As(err, &fe) || fe.Status != http.StatusUnauthorized {
		t.Fatalf("direct request without the secret = %v, want 401", err)
	}

	for _, tc := range []struct {
		name, token, user string
		params            url.Values
	}{
		{"alice", "alice-token", "alice", nil},
		{"alice asking for everything", "alice-token", "alice", url.Values{"where": {"true"}, "params[1]": {"bob"}, "secret": {"guess"}}},
		{"bob", "bob-token", "bob", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &http.Transport{}
			defer tr.CloseIdleConnections()
			c := &client.Client{
				BaseURL: gk.URL, HTTPClient: &http.Client{Transport: tr}, Backoff: e2eBackoff,
				Headers: http.Header{"Authorization": {"Bearer " + tc.token}}, Params: tc.params,
			}
			st, err := c.Stream(client.ShapeRequest{Table: "docs"})
			if err != nil {
				t.Fatal(err)
			}
			shape := client.NewShape(st, nil)
			for {
				b, err := st.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				shape.Apply(b)
				if b.UpToDate {
					break
				}
			}
			if got, want := asRows(shape.Rows()), owned(tc.user)(); !rowsEqual(got, want) {
				t.Errorf("%s sees:\n%s", tc.name, describeDiff(got, want))
			}
		})
	}
}
