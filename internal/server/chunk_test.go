package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/protocol"
)

// TestChunking checks chunked reads (protocol §6): with a small chunk
// threshold the snapshot is served in several chunks at offsets 0_0, 0_1,
// …, the offset=-1 response is never up-to-date, live changes spanning
// several log chunks come back one chunk per response with only the last
// up-to-date, and every (handle, offset) URL returns the same bytes when
// requested again.
func TestChunking(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	const threshold = 2000
	h := newHarness(t, harnessOptions{chunkThreshold: threshold}, `
		CREATE TABLE items (id int PRIMARY KEY, payload text);
		INSERT INTO items SELECT i, repeat('x', 50) || i FROM generate_series(1, 200) i;
	`)
	s := h.sync(t, "items")

	// Snapshot: chunks 0_0, 0_1, … each ending once the threshold is
	// reached; the first response is not up-to-date.
	snap := s.history
	if len(snap) < 5 {
		t.Fatalf("snapshot of 200 rows came in %d responses, want ≥ 5 chunks of ~%d bytes", len(snap), threshold)
	}
	rows := 0
	for i, ex := range snap {
		if got, want := ex.header.Get("electric-offset"), fmt.Sprintf("0_%d", i); got != want {
			t.Errorf("snapshot response %d: electric-offset %s, want %s", i, got, want)
		}
		data := dataBytes(ex.msgs, ex.body)
		last := i == len(snap)-1
		if !last && data < threshold {
			t.Errorf("snapshot chunk %d holds %d bytes of rows, below the threshold %d", i, data, threshold)
		}
		if data > threshold+200 {
			t.Errorf("snapshot chunk %d holds %d bytes of rows, more than one row past the threshold %d", i, data, threshold)
		}
		if _, ok := ex.header["Electric-Up-To-Date"]; ok != last {
			t.Errorf("snapshot response %d of %d: up-to-date %v", i, len(snap), ok)
		}
		for _, m := range ex.msgs {
			if _, ok := m["key"]; ok {
				rows++
			}
		}
	}
	if rows != 200 || len(s.rows) != 200 {
		t.Errorf("snapshot delivered %d row messages, %d keys; want 200", rows, len(s.rows))
	}

	// Live: one transaction whose changes span several log chunks.
	n := len(s.history)
	h.exec(t, "INSERT INTO items SELECT i, repeat('y', 80) || i FROM generate_series(201, 300) i")
	s.waitFor(t, "the large transaction", func() bool { return len(s.rows) == 300 && s.upToDate })
	live := s.history[n:]
	var chunks []exchange
	for _, ex := range live {
		if dataBytes(ex.msgs, ex.body) > 0 {
			chunks = append(chunks, ex)
		}
	}
	if len(chunks) < 3 {
		t.Fatalf("100 changes of ~150 bytes came in %d responses, want ≥ 3 chunks of ~%d bytes", len(chunks), threshold)
	}
	for i, ex := range chunks {
		last := i == len(chunks)-1
		if _, ok := ex.header["Electric-Up-To-Date"]; ok != last {
			t.Errorf("log chunk %d of %d (%s): up-to-date %v", i, len(chunks), ex.query, ok)
		}
		if data := dataBytes(ex.msgs, ex.body); !last && data < threshold {
			t.Errorf("log chunk %d holds %d bytes of changes, below the threshold %d", i, data, threshold)
		}
	}
	if !chunks[0].live {
		t.Errorf("the first log chunk answered %s, want the waiting live request", chunks[0].query)
	}

	// Every URL again: a response that was complete (not up-to-date: it
	// ended at a chunk boundary before the head) must come back byte for
	// byte, live URLs included, which are answered at once now that the
	// log is past them. A response that ended at the head may since have
	// grown, but only by appending: its messages stay a prefix.
	for _, ex := range s.history {
		status, header, body := h.getRaw(t, ex.query)
		if status != http.StatusOK {
			t.Errorf("GET %s again: status %d", ex.query, status)
			continue
		}
		if _, ok := ex.header["Electric-Up-To-Date"]; ok {
			first := ex.body[:len(ex.body)-1]
			if i := bytes.Index(first, []byte(`{"headers":{"control":"up-to-date"`)); i > 0 {
				first = first[:i-1]
			}
			if !bytes.HasPrefix(body, first) {
				t.Errorf("GET %s again: body does not extend the first (up-to-date) one\nfirst:  %s\nsecond: %s", ex.query, ex.body, body)
			}
			continue
		}
		if !bytes.Equal(body, ex.body) {
			t.Errorf("GET %s again: body differs\nfirst:  %s\nsecond: %s", ex.query, ex.body, body)
		}
		if a, b := ex.header.Get("electric-offset"), header.Get("electric-offset"); a != b {
			t.Errorf("GET %s again: electric-offset %s, first %s", ex.query, b, a)
		}
		if !ex.live {
			if a, b := ex.header.Get("etag"), header.Get("etag"); a != b {
				t.Errorf("GET %s again: etag %s, first %s", ex.query, b, a)
			}
		}
	}

	// Offsets are strictly increasing across the whole walk.
	var prev protocol.Offset = protocol.BeforeAll
	for _, ex := range s.history {
		off, err := protocol.ParseOffset(ex.header.Get("electric-offset"))
		if err != nil {
			t.Fatal(err)
		}
		if !prev.Less(off) && dataBytes(ex.msgs, ex.body) > 0 {
			t.Errorf("%s: electric-offset %s not after %s", ex.query, off, prev)
		}
		prev = off
	}
}

// dataBytes returns the size of the data messages in a response body, as
// the chunker counts them: the body minus brackets and control messages.
func dataBytes(msgs []map[string]any, body []byte) int {
	n := 0
	for _, m := range msgs {
		if _, ok := m["key"]; ok {
			n++
		}
	}
	if n == 0 {
		return 0
	}
	size := len(body) - 2
	if i := strings.Index(string(body), `{"headers":{"control"`); i >= 0 {
		size = i - 1
	}
	return size
}
