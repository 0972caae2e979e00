package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/galvani-sync/galvani/internal/catalog"
	"github.com/galvani-sync/galvani/internal/config"
	"github.com/galvani-sync/galvani/internal/pgtest"
	"github.com/galvani-sync/galvani/internal/replication"
	"github.com/galvani-sync/galvani/internal/server"
	"github.com/galvani-sync/galvani/internal/shapes"
)

// Harness defaults: short enough that tests waiting on a long-poll timeout
// stay fast, and a chunk threshold large enough that ordinary tests see one
// chunk.
const (
	defaultLongPoll       = 2 * time.Second
	defaultChunkThreshold = config.DefaultChunkThreshold
	// defaultSchemaCheck is much shorter than serve's default, so DDL the
	// stream does not announce is noticed within a test's patience.
	defaultSchemaCheck = 250 * time.Millisecond
	// activeTimeout bounds the wait for /v1/health to report active.
	activeTimeout = 30 * time.Second
	// stopTimeout bounds the wait for the components to stop.
	stopTimeout = 30 * time.Second
)

// harnessOptions configure a harness; zero values take the defaults above.
type harnessOptions struct {
	secret              string
	chunkThreshold      int64
	longPollTimeout     time.Duration
	schemaCheckInterval time.Duration
}

// harness runs Galvani's real components against a private database, wired
// as cmd/galvani's serve function wires them, and serves server.Server
// through httptest. Each harness has its own database, storage directory,
// replication slot and publication. stop and start may be called again to
// restart Galvani on the same database and storage.
type harness struct {
	dbURL     string
	storage   string
	slot, pub string
	opts      harnessOptions
	// db is the test's own connection pool, with Galvani's display settings
	// (protocol §5.5), for setup, writes and expected values.
	db *pgxpool.Pool

	// Set while running (between start and stop).
	srv      *httptest.Server
	registry *shapes.Registry
	pool     *pgxpool.Pool
	cancel   context.CancelFunc
	done     chan struct{}
	runErr   error // the errgroup's result, valid once done is closed
}

// newHarness creates a database, runs setup in it (when not empty) and
// starts Galvani on it. Everything is stopped and removed in t.Cleanup.
func newHarness(t *testing.T, opts harnessOptions, setup string) *harness {
	t.Helper()
	if opts.chunkThreshold == 0 {
		opts.chunkThreshold = defaultChunkThreshold
	}
	if opts.longPollTimeout == 0 {
		opts.longPollTimeout = defaultLongPoll
	}
	if opts.schemaCheckInterval == 0 {
		opts.schemaCheckInterval = defaultSchemaCheck
	}
	name, dbURL := pgtest.NewDatabase(t)
	// The database name ends in 12 random hex digits; they make slot and
	// publication names unique and short enough (63 bytes at most).
	id := "t" + name[len(name)-12:]
	cfg := config.Config{ReplicationStreamID: id}
	h := &harness{
		dbURL: dbURL, storage: t.TempDir(),
		slot: cfg.SlotName(), pub: cfg.PublicationName(), opts: opts,
	}
	h.db = openPool(t, dbURL, 4)
	t.Cleanup(h.db.Close)
	if setup != "" {
		h.exec(t, setup)
	}
	h.start(t)
	return h
}

// openPool connects a pool with the display settings, as serve's openPool
// does.
func openPool(t *testing.T, dbURL string, size int32) *pgxpool.Pool {
	t.Helper()
	pcfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	for k, v := range replication.DisplaySettings() {
		pcfg.ConnConfig.RuntimeParams[k] = v
	}
	pcfg.MaxConns = size
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatalf("connect pool: %v", err)
	}
	return pool
}

// start wires and starts the components, and waits until /v1/health says
// active (the replication stream is established).
func (h *harness) start(t *testing.T) {
	t.Helper()
	if h.cancel != nil {
		t.Fatal("harness: start while running")
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	pool := openPool(t, h.dbURL, 6)
	if err := replication.CheckServer(ctx, pool); err != nil {
		pool.Close()
		cancel()
		t.Fatalf("check server: %v", err)
	}
	registry, err := shapes.OpenRegistry(shapes.Config{
		StorageDir:     h.storage,
		ChunkThreshold: h.opts.chunkThreshold,
		SnapshotPool:   pool,
		Publisher:      replication.NewPublisher(pool, h.pub, false),
		Logger:         log,
	})
	if err != nil {
		pool.Close()
		cancel()
		t.Fatalf("open registry: %v", err)
	}
	collector := registry.Collector()
	inspector := catalog.NewInspector(pool)
	stream := replication.New(replication.Config{URL: h.dbURL, Slot: h.slot, Publication: h.pub, Logger: log})
	srv := server.New(server.Config{
		Secret:          h.opts.secret,
		LongPollTimeout: h.opts.longPollTimeout,
		CacheMaxAge:     config.DefaultCacheMaxAge,
		CacheStaleAge:   config.DefaultCacheStaleAge,
		Version:         "test",
	}, log, inspector, registry, collector.GlobalLSN, func() string { return stream.State().String() })

	h.srv = httptest.NewServer(srv)
	h.registry, h.pool, h.cancel = registry, pool, cancel
	h.done = make(chan struct{})
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return collector.Run(gctx) })
	g.Go(func() error { return stream.Run(gctx, collector) })
	g.Go(func() error {
		return registry.Reconcile(gctx, inspector, h.opts.schemaCheckInterval, func(err error) bool {
			return errors.Is(err, catalog.ErrTableNotFound)
		})
	})
	go func() {
		h.runErr = g.Wait()
		close(h.done)
	}()
	t.Cleanup(func() { h.stop(t) })
	h.waitActive(t)
}

// waitActive polls /v1/health until it reports active.
func (h *harness) waitActive(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(activeTimeout)
	for {
		status, _, body := h.request(t, http.MethodGet, "/v1/health", nil)
		if status == http.StatusOK && strings.Contains(string(body), `"active"`) {
			return
		}
		select {
		case <-h.done:
			t.Fatalf("galvani stopped during startup: %v", h.runErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/v1/health not active after %v: %d %s", activeTimeout, status, body)
		}
	}
}

// stop cancels the components, closes the HTTP server (cutting waiting
// long-polls), waits for everything to stop and closes the registry. It
// does nothing when not running.
func (h *harness) stop(t *testing.T) {
	t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.srv.CloseClientConnections()
	h.srv.Close()
	select {
	case <-h.done:
		if h.runErr != nil && !errors.Is(h.runErr, context.Canceled) {
			t.Errorf("galvani components failed: %v", h.runErr)
		}
	case <-time.After(stopTimeout):
		t.Errorf("galvani components still running %v after cancel", stopTimeout)
	}
	if err := h.registry.Close(); err != nil {
		t.Errorf("registry.Close() = %v", err)
	}
	h.pool.Close()
	h.cancel = nil
}

// exec runs sql (simple protocol: several statements allowed).
func (h *harness) exec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := h.db.Exec(ctx, sql); err != nil {
		t.Fatalf("exec: %v\n%s", err, sql)
	}
}

// queryRows returns the result of sql as a map from the first column's
// text to a row object (column name → text, or nil for NULL), the form a
// shape's materialised rows take.
func (h *harness) queryRows(t testing.TB, sql string) map[string]map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := h.db.Acquire(ctx)
	if err != nil {
		t.Fatalf("acquire: %v", err)
	}
	defer conn.Release()
	res := conn.Conn().PgConn().ExecParams(ctx, sql, nil, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatalf("query: %v\n%s", res.Err, sql)
	}
	out := make(map[string]map[string]any, len(res.Rows))
	for _, r := range res.Rows {
		row := make(map[string]any, len(r))
		for j, v := range r {
			if v == nil {
				row[res.FieldDescriptions[j].Name] = nil
			} else {
				row[res.FieldDescriptions[j].Name] = string(v)
			}
		}
		out[string(r[0])] = row
	}
	return out
}

// shapeDirs lists the shape directories in the storage directory.
func (h *harness) shapeDirs(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(h.storage, "shapes"))
	if err != nil {
		t.Fatalf("read storage: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// request sends method target (a request-URI such as "/v1/shape?x=y",
// sent byte for byte as given) and returns the status, headers and body.
func (h *harness) request(t testing.TB, method, target string, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	resp, body := h.do(t, context.Background(), method, target, header)
	return resp.StatusCode, resp.Header, body
}

// do is request with a context, returning the whole response.
func (h *harness) do(t testing.TB, ctx context.Context, method, target string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := h.send(ctx, method, target, header)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// send is do for goroutines other than the test's: it returns errors.
func (h *harness) send(ctx context.Context, method, target string, header http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, h.srv.URL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("new request: %w", err)
	}
	// An opaque path goes on the wire unchanged (no cleaning, no
	// re-escaping), so /v1//shape and /v1/%73hape reach the server as is.
	path, query, _ := strings.Cut(target, "?")
	req.URL.Opaque, req.URL.RawQuery = path, query
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body: %w", method, target, err)
	}
	return resp, body, nil
}

// shapeTarget returns the request-URI of a shape request with query, with
// the harness's secret added when one is configured.
func (h *harness) shapeTarget(query string) string {
	if h.opts.secret != "" {
		query += "&secret=" + url.QueryEscape(h.opts.secret)
	}
	return "/v1/shape?" + query
}

// getRaw sends GET /v1/shape?query and returns the raw body.
func (h *harness) getRaw(t testing.TB, query string) (int, http.Header, []byte) {
	t.Helper()
	return h.request(t, http.MethodGet, h.shapeTarget(query), nil)
}

// get sends GET /v1/shape?query and decodes a JSON array body (nil when
// the body is not an array, as for error objects).
func (h *harness) get(t testing.TB, query string) (int, http.Header, []any) {
	t.Helper()
	status, header, body := h.getRaw(t, query)
	return status, header, decodeArray(t, body)
}

// decodeArray decodes a JSON array body, or returns nil for any other body.
func decodeArray(t testing.TB, body []byte) []any {
	t.Helper()
	if !bytes.HasPrefix(body, []byte("[")) {
		return nil
	}
	var msgs []any
	if err := json.Unmarshal(body, &msgs); err != nil {
		t.Fatalf("decode body: %v\n%s", err, body)
	}
	return msgs
}

// mustJSON decodes s, failing the test when it is not JSON.
func mustJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}
