package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openShapeFiles lists the files of the shape with the handle that this
// process holds open.
func openShapeFiles(t *testing.T, storage, handle string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("list open files: %v", err)
	}
	dir := filepath.Join(storage, "shapes", handle) + string(filepath.Separator)
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir) {
			open = append(open, filepath.Base(target))
		}
	}
	return open
}

// TestRestoredLogsOpenOnFirstUse: a restart opens no shape's log (restart
// time and idle memory do not depend on the logs) until a change or a
// request needs it; a client resumes exactly; a shape whose files are damaged is
// removed on first use, so its client refetches a new shape (409) instead
// of failing for ever.
func TestRestoredLogsOpenOnFirstUse(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE items (id int PRIMARY KEY, n int);
		INSERT INTO items SELECT g, g % 3 FROM generate_series(1, 30) g;
	`)
	type saved struct{ query, handle, offset string }
	var shapes []saved
	for _, n := range []string{"0", "1", "2"} {
		q := "table=items&where=" + url.QueryEscape("n = $1") + "&params[1]=" + n
		status, header, _ := h.getRaw(t, q+"&offset=-1")
		if status != http.StatusOK {
			t.Fatalf("create shape n=%s: %d", n, status)
		}
		shapes = append(shapes, saved{q, header.Get("electric-handle"), header.Get("electric-offset")})
	}
	h.stop(t)
	h.exec(t, "INSERT INTO items VALUES (100, 1)") // for shape 1 only
	damaged := filepath.Join(h.storage, "shapes", shapes[2].handle, "snapshot.idx")
	if err := os.Remove(damaged); err != nil {
		t.Fatalf("damage shape: %v", err)
	}

	h.start(t)
	if open := openShapeFiles(t, h.storage, shapes[0].handle); len(open) != 0 {
		t.Errorf("after restart shape 0 holds %v open, want nothing: no change or request touched it", open)
	}

	// A client resuming shape 1 gets the insert made while down; shape 0
	// opens its log when a client reads it.
	q := shapes[1].query + "&handle=" + shapes[1].handle + "&offset=" + shapes[1].offset
	status, header, msgs := h.get(t, q)
	if status != http.StatusOK || header.Get("electric-handle") != shapes[1].handle {
		t.Fatalf("resume shape 1: %d, handle %q, want 200 and %q", status, header.Get("electric-handle"), shapes[1].handle)
	}
	if len(msgs) == 0 || !strings.Contains(encodeJSON(t, msgs[0]), `"id":"100"`) {
		t.Errorf("resume shape 1: %s, want the insert of id 100 first", encodeJSON(t, msgs))
	}
	q = shapes[0].query + "&handle=" + shapes[0].handle + "&offset=" + shapes[0].offset
	if status, _, _ := h.getRaw(t, q); status != http.StatusOK {
		t.Fatalf("resume shape 0: %d, want 200", status)
	}
	if open := openShapeFiles(t, h.storage, shapes[0].handle); len(open) != 1 || open[0] != "changes.log" {
		t.Errorf("after reading shape 0 it holds %v open, want [changes.log]", open)
	}

	// The damaged shape: must-refetch, then a fresh shape with every row.
	q = shapes[2].query + "&handle=" + shapes[2].handle + "&offset=" + shapes[2].offset
	if status, _, body := h.getRaw(t, q); status != http.StatusConflict {
		t.Fatalf("damaged shape: %d %s, want 409", status, body)
	}
	status, header, msgs = h.get(t, shapes[2].query+"&offset=-1")
	if status != http.StatusOK || header.Get("electric-handle") == shapes[2].handle {
		t.Fatalf("refetch of the damaged shape: %d, handle %q, want 200 and a new handle", status, header.Get("electric-handle"))
	}
	rows := 0
	for _, m := range msgs {
		if strings.Contains(encodeJSON(t, m), `"operation":"insert"`) {
			rows++
		}
	}
	if rows != 10 {
		t.Errorf("refetched shape has %d rows, want 10", rows)
	}
}

func encodeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
