package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSnapshotChunkResponses checks the responses that stream snapshot
// chunks from the shape log (protocol §6, §8.2): each body is a JSON array
// exactly as long as its content-length; HEAD sends the same headers and
// no body; a matching If-None-Match gets a 304 without body or schema; and
// a chunk whose bytes are missing from storage is a 503, sent before any
// of the chunk.
func TestSnapshotChunkResponses(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{chunkThreshold: 2000}, `
		CREATE TABLE items (id int PRIMARY KEY, payload text);
		INSERT INTO items SELECT i, repeat('x', 50) || i || E'\n"quoted"' FROM generate_series(1, 100) i;
	`)
	var queries []string
	rows := 0
	handle, offset := "", "-1"
	for {
		q := "table=items&offset=" + offset
		if handle != "" {
			q += "&handle=" + handle
		}
		status, header, body := h.getRaw(t, q)
		if status != http.StatusOK {
			t.Fatalf("GET %s = %d %s", q, status, body)
		}
		if got := header.Get("content-length"); got != strconv.Itoa(len(body)) {
			t.Errorf("GET %s: content-length %s, body has %d bytes", q, got, len(body))
		}
		msgs := decodeArray(t, body)
		if msgs == nil {
			t.Fatalf("GET %s: body is not a JSON array: %.200s", q, body)
		}
		for _, m := range msgs {
			if _, ok := m.(map[string]any)["key"]; ok {
				rows++
			}
		}

		hs, hh, hb := h.request(t, http.MethodHead, h.shapeTarget(q), nil)
		if hs != http.StatusOK || len(hb) != 0 {
			t.Errorf("HEAD %s = %d with %d body bytes, want 200 and none", q, hs, len(hb))
		}
		for _, name := range []string{"content-length", "electric-offset", "electric-schema", "etag", "cache-control"} {
			if got, want := hh.Get(name), header.Get(name); got != want {
				t.Errorf("HEAD %s: %s %q, GET has %q", q, name, got, want)
			}
		}

		ns, nh, nb := h.request(t, http.MethodGet, h.shapeTarget(q), http.Header{"If-None-Match": {header.Get("etag")}})
		if ns != http.StatusNotModified || len(nb) != 0 || nh.Get("electric-schema") != "" {
			t.Errorf("GET %s with If-None-Match %s = %d, %d body bytes, schema %q; want 304, none, none", q, header.Get("etag"), ns, len(nb), nh.Get("electric-schema"))
		}
		if got, want := nh.Get("electric-offset"), header.Get("electric-offset"); got != want {
			t.Errorf("304 for %s: electric-offset %q, want %q", q, got, want)
		}

		queries = append(queries, q)
		handle, offset = header.Get("electric-handle"), header.Get("electric-offset")
		if _, ok := header["Electric-Up-To-Date"]; ok {
			break
		}
	}
	if rows != 100 || len(queries) < 4 {
		t.Fatalf("snapshot of 100 rows: %d rows in %d responses, want 100 in ≥ 4 chunks", rows, len(queries))
	}

	// Cut the snapshot file inside the second chunk: the first is still
	// served whole; the second fails before anything is sent.
	dirs := h.shapeDirs(t)
	if len(dirs) != 1 {
		t.Fatalf("shape directories %v, want one", dirs)
	}
	path := filepath.Join(h.storage, "shapes", dirs[0], "snapshot.jsonl")
	_, _, first := h.getRaw(t, queries[0])
	if err := os.Truncate(path, int64(len(first))+10); err != nil {
		t.Fatal(err)
	}
	if status, _, body := h.getRaw(t, queries[0]); status != http.StatusOK || string(body) != string(first) {
		t.Errorf("GET %s after the file was cut past it = %d %.100s, want 200 and the same body", queries[0], status, body)
	}
	status, h2, body := h.getRaw(t, queries[1])
	if status != http.StatusServiceUnavailable || h2.Get("electric-offset") != "" {
		t.Errorf("GET %s of a chunk cut short = %d %s (electric-offset %q), want 503 with no offset", queries[1], status, body, h2.Get("electric-offset"))
	}
}
