package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runShape runs "galvani <args>" in-process and returns stdout, stderr,
// the error and its exit status.
func runShape(ctx context.Context, env map[string]string, args ...string) (stdout, stderr string, err error, code int) {
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return env[k] }}
	err = m.Run(ctx, args)
	code = exitCode(err, io.Discard)
	return out.String(), errOut.String(), err, code
}

// fakeShapeServer answers the first request with the rows of a three-row
// table and an up-to-date, and holds live requests until they end; it
// records the queries and methods it got; requests returns them so far (a
// client may still have a prefetch in flight when a command returns).
func fakeShapeServer(t *testing.T) (srv *httptest.Server, requests func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RawQuery)
		mu.Unlock()
		h := w.Header()
		h.Set("electric-handle", "h1")
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if r.URL.Query().Get("table") == "missing" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"message":"Invalid request","errors":{"table":["Table \"public\".\"missing\" does not exist."]}}`)
			return
		}
		if r.URL.Query().Get("live") == "true" {
			h.Set("electric-cursor", "1")
			h.Set("electric-offset", "50_0")
			if r.URL.Query().Get("offset") == "0_0" {
				fmt.Fprint(w, `[{"key":"\"public\".\"t\"/\"2\"","value":{"id":"2","name":"B"},"headers":{"operation":"update","lsn":"50","op_position":0,"txids":[1],"last":true}},{"headers":{"control":"up-to-date","global_last_seen_lsn":"50"}}]`)
				return
			}
			<-r.Context().Done()
			return
		}
		h.Set("electric-offset", "0_0")
		h.Set("electric-schema", `{"id":{"type":"int4","pk_index":0},"name":{"type":"text"},"note":{"type":"text"}}`)
		fmt.Fprint(w, `[
			{"key":"\"public\".\"t\"/\"10\"","value":{"id":"10","name":"ten","note":null},"headers":{"operation":"insert"}},
			{"key":"\"public\".\"t\"/\"2\"","value":{"id":"2","name":"two","note":"tab\there"},"headers":{"operation":"insert"}},
			{"key":"\"public\".\"t\"/\"1\"","value":{"id":"1","name":"one \"quoted\"","note":"x"},"headers":{"operation":"insert"}},
			{"headers":{"control":"up-to-date","global_last_seen_lsn":"5"}}]`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestShapeGet prints the rows as JSON lines in table column order and
// natural key order, or as an aligned table.
func TestShapeGet(t *testing.T) {
	srv, got := fakeShapeServer(t)
	ctx := context.Background()
	stdout, stderr, err, _ := runShape(ctx, map[string]string{"GALVANI_SECRET": "env-secret"}, "shape", "get", "--url", srv.URL, "--table", "t", "--columns", "id, name,note")
	if err != nil {
		t.Fatalf("galvani shape get: %v\n%s", err, stderr)
	}
	want := `{"id":"1","name":"one \"quoted\"","note":"x"}
{"id":"2","name":"two","note":"tab\there"}
{"id":"10","name":"ten","note":null}
`
	if stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", stdout, want)
	}
	if q := got()[0]; q != `GET columns=%22id%22%2C%22name%22%2C%22note%22&log=full&offset=-1&secret=env-secret&table=t` {
		t.Errorf("request = %s; want quoted columns and the secret from $GALVANI_SECRET", q)
	}

	stdout, _, err, _ = runShape(ctx, nil, "shape", "get", "--url", srv.URL, "--table", "t", "--output", "table", "--secret", "s")
	if err != nil {
		t.Fatal(err)
	}
	wantTable := `id  name          note
1   one "quoted"  x
2   two           tab\there
10  ten           NULL
(3 rows)
`
	if stdout != wantTable {
		t.Errorf("table =\n%s\nwant\n%s", stdout, wantTable)
	}
}

// TestShapeFollow prints each change as a JSON line until interrupted,
// then the resume position on stderr, and exits 0.
func TestShapeFollow(t *testing.T) {
	srv, _ := fakeShapeServer(t)
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"shape", "follow", "--url", srv.URL, "--table", "t"}) }()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "\n") < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || exitCode(err, io.Discard) != 0 {
		t.Fatalf("follow after interrupt = %v; want nil (exit 0)", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[3], `"operation":"update"`) || !strings.Contains(lines[3], `"lsn":"50"`) {
		t.Errorf("stdout lines = %q; want 3 inserts then the update", lines)
	}
	if !strings.Contains(errOut.String(), "resume: --handle h1 --offset 50_0") {
		t.Errorf("stderr = %q; want the resume position", errOut.String())
	}
}

// TestShapeDelete sends DELETE with the definition.
func TestShapeDelete(t *testing.T) {
	srv, got := fakeShapeServer(t)
	_, stderr, err, _ := runShape(context.Background(), nil, "shape", "delete", "--url", srv.URL, "--table", "t", "--handle", "h1")
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if reqs := got(); reqs[0] != "DELETE handle=h1&log=full&table=t" || !strings.Contains(stderr, "deleted") {
		t.Errorf("request %q, stderr %q", reqs[0], stderr)
	}
}

// TestShapeErrors: usage mistakes exit 2 without a request; a request the
// server rejects exits 1 with the server's message.
func TestShapeErrors(t *testing.T) {
	srv, got := fakeShapeServer(t)
	usage := [][]string{
		{"shape"},
		{"shape", "nope"},
		{"shape", "get"},
		{"shape", "get", "--table", "t", "--output", "yaml"},
		{"shape", "get", "--table", "t", "--bogus"},
		{"shape", "get", "--table", "t", "extra"},
		{"shape", "get", "--table", "t", "--offset", "5_0"},
		{"shape", "get", "--table", "t", "--offset", "soon", "--handle", "h"},
		{"shape", "get", "--table", "t", "--replica", "half"},
		{"shape", "get", "--table", "t", "--param", "1"},
		{"shape", "follow", "--table", "t", "--output", "table"},
		{"shape", "delete"},
	}
	for _, args := range usage {
		args = append(args, "--url", srv.URL)
		_, _, err, code := runShape(context.Background(), nil, args...)
		if code != 2 {
			t.Errorf("galvani %s: exit %d (%v), want 2", strings.Join(args, " "), code, err)
		}
	}
	if reqs := got(); len(reqs) != 0 {
		t.Errorf("usage errors sent requests: %v", reqs)
	}
	_, _, err, code := runShape(context.Background(), nil, "shape", "get", "--url", srv.URL, "--table", "missing")
	if code != 1 || err == nil || !strings.Contains(err.Error(), `Table "public"."missing" does not exist`) {
		t.Errorf("get of a missing table: exit %d, error %v; want 1 and the server's message", code, err)
	}
	_, _, err, code = runShape(context.Background(), nil, "shape", "get", "--url", "http://127.0.0.1:1", "--table", "t", "--retries", "1")
	if code != 1 || err == nil {
		t.Errorf("get from a closed port: exit %d, error %v; want 1", code, err)
	}
	if _, _, _, code := runShape(context.Background(), nil, "shape", "get", "-h"); code != 0 {
		t.Errorf("shape get -h: exit %d, want 0", code)
	}
}

func TestNaturalCompare(t *testing.T) {
	sorted := []string{`"a"/"1"`, `"a"/"2"`, `"a"/"10"`, `"a"/"010x"`, `"a"/"b"`, `"b"/"1"`}
	for i := range sorted {
		for j := range sorted {
			got := naturalCompare(sorted[i], sorted[j])
			if (got < 0) != (i < j) || (got == 0) != (i == j) {
				t.Errorf("naturalCompare(%s, %s) = %d; want the order of %v", sorted[i], sorted[j], got, sorted)
			}
		}
	}
}

// TestShapeGetFromServe runs "galvani shape get" against "galvani serve"
// in the same process, on a real Postgres.
func TestShapeGetFromServe(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE fruit (id int PRIMARY KEY, name text, ripe bool);
		INSERT INTO fruit VALUES (1, 'apple', true), (2, 'pear', NULL), (12, 'fig', false);`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	env := map[string]string{
		"DATABASE_URL": dbURL, "ELECTRIC_SECRET": "pssst", "ELECTRIC_PORT": strconv.Itoa(port),
		"ELECTRIC_STORAGE_DIR": t.TempDir(), "ELECTRIC_LOG_LEVEL": "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	served := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		m := &Main{Stdout: &logs, Stderr: &logs, Getenv: func(k string) string { return env[k] }}
		served <- (&ServeCommand{main: m, ready: func(string) { close(ready) }}).Run(ctx, nil)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("serve: %v\n%s", err, logs.String())
		}
	})
	select {
	case <-ready:
	case err := <-served:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve not ready after 30s\n%s", logs.String())
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port)

	stdout, stderr, err, _ := runShape(ctx, nil, "shape", "get", "--url", url, "--table", "fruit", "--secret", "pssst")
	if err != nil {
		t.Fatalf("shape get: %v\n%s", err, stderr)
	}
	want := `{"id":"1","name":"apple","ripe":"t"}
{"id":"2","name":"pear","ripe":null}
{"id":"12","name":"fig","ripe":"f"}
`
	if stdout != want {
		t.Errorf("stdout =\n%s\nwant\n%s", stdout, want)
	}
	_, _, err, code := runShape(ctx, nil, "shape", "get", "--url", url, "--table", "fruit")
	if code != 1 || err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("shape get without the secret: exit %d, %v; want 1 and a 401", code, err)
	}
}

// TestProgress draws nothing for a short sync and a rate line for a long
// one, finished with a newline.
func TestProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var quiet bytes.Buffer
		p := newProgress(&quiet, true)
		p.update(10)
		p.finish()
		if quiet.Len() != 0 {
			t.Errorf("progress of a short sync wrote %q", quiet.String())
		}
		var out bytes.Buffer
		p = newProgress(&out, true)
		time.Sleep(time.Second)
		p.update(1000)
		p.update(1500) // too soon after the last draw
		time.Sleep(time.Second)
		p.update(4000)
		p.finish()
		want := "\r\033[Ksyncing: 1000 rows, 1000 rows/s\r\033[Ksyncing: 4000 rows, 2000 rows/s\r\033[Ksynced 4000 rows in 2s (2000 rows/s)\n"
		if out.String() != want {
			t.Errorf("progress wrote %q, want %q", out.String(), want)
		}
		var off bytes.Buffer
		p = newProgress(&off, false)
		time.Sleep(time.Second)
		p.update(5)
		p.finish()
		if off.Len() != 0 {
			t.Errorf("progress off (not a terminal) wrote %q", off.String())
		}
	})
}
