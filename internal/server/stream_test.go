package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/protocol"
)

// waitTimeout bounds how long a test waits for changes to reach a client.
const waitTimeout = 20 * time.Second

// exchange is one request a shapeStream made and the response it got.
type exchange struct {
	query  string // query string, secret excluded
	live   bool
	status int
	header http.Header
	body   []byte
	msgs   []map[string]any
}

// shapeStream follows one shape the way the official TypeScript client
// does: offset=-1 first, then the electric-offset and electric-handle of
// each response until an up-to-date message, then live=true&cursor=…
// requests; a 409 resets it to offset -1 with the handle the 409 names.
// It materialises rows by key (insert sets, update merges, delete removes)
// and fails the test on anything a correct server never sends: an insert
// of a key already present, an update or delete of a missing key, offsets
// going backwards, a missing header, up-to-date header and message
// disagreeing.
type shapeStream struct {
	h   *harness
	def url.Values // the shape definition's parameters

	handle, offset, cursor string
	upToDate               bool
	schema                 string
	rows                   map[string]map[string]any
	// log holds every data message since the last must-refetch.
	log []map[string]any
	// history holds every exchange, 409s included.
	history    []exchange
	refetches  int
	lastGlobal string // global_last_seen_lsn of the last up-to-date
}

// sync starts following the shape of table and reads it until up-to-date.
func (h *harness) sync(t *testing.T, table string) *shapeStream {
	t.Helper()
	return h.follow(t, url.Values{"table": {table}})
}

// follow starts following the shape with the given definition parameters
// and reads it until up-to-date.
func (h *harness) follow(t *testing.T, def url.Values) *shapeStream {
	t.Helper()
	s := &shapeStream{h: h, def: def, offset: "-1", rows: map[string]map[string]any{}}
	s.catchUp(t)
	return s
}

// catchUp makes requests until the stream is up-to-date.
func (s *shapeStream) catchUp(t *testing.T) {
	t.Helper()
	for i := 0; !s.upToDate; i++ {
		if i > 10000 {
			t.Fatalf("%v: no up-to-date after %d requests", s.def, i)
		}
		s.step(t)
	}
}

// waitFor makes requests (live once up-to-date) until cond holds.
func (s *shapeStream) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%v: %s: not reached after %v; %d rows, %d messages", s.def, what, waitTimeout, len(s.rows), len(s.log))
		}
		s.step(t)
	}
}

// waitMessages waits until the log holds at least n data messages.
func (s *shapeStream) waitMessages(t *testing.T, n int) {
	t.Helper()
	s.waitFor(t, "messages", func() bool { return len(s.log) >= n })
}

// query returns the query string of the next request, without the secret.
func (s *shapeStream) query() (string, bool) {
	q := url.Values{}
	for k, v := range s.def {
		q[k] = v
	}
	q.Set("offset", s.offset)
	if s.offset != "-1" {
		q.Set("handle", s.handle)
	}
	live := s.upToDate
	if live {
		q.Set("live", "true")
		if s.cursor != "" {
			q.Set("cursor", s.cursor)
		}
	}
	return q.Encode(), live
}

var decimal = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

// step makes one request and applies its response.
func (s *shapeStream) step(t *testing.T) exchange {
	t.Helper()
	q, live := s.query()
	status, header, body := s.h.getRaw(t, q)
	ex := exchange{query: q, live: live, status: status, header: header, body: body}
	switch status {
	case http.StatusOK:
	case http.StatusConflict:
		if string(body) != protocol.MustRefetchResponse {
			t.Errorf("%s: 409 body %s, want %s", q, body, protocol.MustRefetchResponse)
		}
		s.history = append(s.history, ex)
		s.handle, s.offset, s.cursor = header.Get("electric-handle"), "-1", ""
		s.upToDate, s.schema = false, ""
		s.rows, s.log = map[string]map[string]any{}, nil
		s.refetches++
		return ex
	default:
		t.Fatalf("GET %s = %d %s", q, status, body)
	}

	if err := json.Unmarshal(body, &ex.msgs); err != nil {
		t.Fatalf("GET %s: body is not a JSON array of objects: %v\n%s", q, err, body)
	}
	handle := header.Get("electric-handle")
	if handle == "" {
		t.Fatalf("GET %s: no electric-handle", q)
	}
	if s.handle != "" && s.offset != "-1" && handle != s.handle {
		t.Errorf("GET %s: electric-handle %s changed without a 409 (was %s)", q, handle, s.handle)
	}
	offText := header.Get("electric-offset")
	off, err := protocol.ParseOffset(offText)
	if err != nil {
		t.Fatalf("GET %s: electric-offset %q: %v", q, offText, err)
	}
	prev, _ := protocol.ParseOffset(s.offset)
	hasData := false
	for _, m := range ex.msgs {
		if _, ok := m["key"]; ok {
			hasData = true
		}
	}
	if off.Less(prev) || (hasData && !prev.Less(off)) {
		t.Errorf("GET %s: electric-offset %s after offset %s with data=%v: offsets must increase", q, offText, s.offset, hasData)
	}
	if live && header.Get("electric-cursor") == "" {
		t.Errorf("GET %s: live response without electric-cursor", q)
	}
	if !live {
		if header.Get("electric-schema") == "" {
			t.Errorf("GET %s: non-live response without electric-schema", q)
		}
		if s.schema == "" {
			s.schema = header.Get("electric-schema")
		}
	}

	s.checkHeaders(t, q, header, live, hasData)

	upToDate := false
	for i, m := range ex.msgs {
		hdrs, ok := m["headers"].(map[string]any)
		if !ok {
			t.Fatalf("GET %s: message %d has no headers object: %v", q, i, m)
		}
		if ctl, ok := hdrs["control"]; ok {
			switch ctl {
			case protocol.ControlUpToDate:
				if i != len(ex.msgs)-1 {
					t.Errorf("GET %s: up-to-date is message %d of %d, want the last", q, i, len(ex.msgs))
				}
				lsn, _ := hdrs["global_last_seen_lsn"].(string)
				if !decimal.MatchString(lsn) {
					t.Errorf("GET %s: global_last_seen_lsn %v is not a decimal string", q, hdrs["global_last_seen_lsn"])
				}
				if prev, _ := strconv.ParseUint(s.lastGlobal, 10, 64); s.lastGlobal != "" && decimal.MatchString(lsn) {
					if cur, _ := strconv.ParseUint(lsn, 10, 64); cur < prev {
						t.Errorf("GET %s: global_last_seen_lsn %s went back from %s", q, lsn, s.lastGlobal)
					}
				}
				upToDate, s.lastGlobal = true, lsn
			case protocol.ControlSnapshotEnd:
			default:
				t.Errorf("GET %s: unexpected control message %v in a 200", q, m)
			}
			continue
		}
		s.apply(t, q, m)
	}
	if _, ok := header["Electric-Up-To-Date"]; ok != upToDate {
		t.Errorf("GET %s: electric-up-to-date header present=%v, up-to-date message present=%v", q, ok, upToDate)
	}
	if s.offset == "-1" && upToDate {
		t.Errorf("GET %s: the offset=-1 response carries up-to-date", q)
	}
	s.handle, s.offset, s.upToDate = handle, offText, upToDate
	if c := header.Get("electric-cursor"); c != "" {
		s.cursor = c
	}
	s.history = append(s.history, ex)
	return ex
}

// apply materialises one data message.
func (s *shapeStream) apply(t *testing.T, q string, m map[string]any) {
	t.Helper()
	key, _ := m["key"].(string)
	value, _ := m["value"].(map[string]any)
	hdrs := m["headers"].(map[string]any)
	if key == "" || value == nil {
		t.Fatalf("GET %s: data message without key or value: %v", q, m)
	}
	s.log = append(s.log, m)
	switch op := hdrs["operation"]; op {
	case "insert":
		if _, ok := s.rows[key]; ok {
			t.Errorf("GET %s: insert of key %s, which is already present (duplicate)", q, key)
		}
		row := make(map[string]any, len(value))
		for k, v := range value {
			row[k] = v
		}
		s.rows[key] = row
	case "update":
		row, ok := s.rows[key]
		if !ok {
			t.Errorf("GET %s: update of key %s, which is not present", q, key)
			row = map[string]any{}
			s.rows[key] = row
		}
		for k, v := range value {
			row[k] = v
		}
	case "delete":
		if _, ok := s.rows[key]; !ok {
			t.Errorf("GET %s: delete of key %s, which is not present", q, key)
		}
		delete(s.rows, key)
	default:
		t.Errorf("GET %s: unknown operation %v", q, op)
	}
}

// rowsByColumn returns the materialised rows keyed by the text of column
// col, for comparison with harness.queryRows.
func (s *shapeStream) rowsByColumn(t *testing.T, col string) map[string]map[string]any {
	t.Helper()
	out := make(map[string]map[string]any, len(s.rows))
	for key, row := range s.rows {
		v, ok := row[col].(string)
		if !ok {
			t.Fatalf("row %s: column %s is %v, want a string", key, col, row[col])
		}
		out[v] = row
	}
	return out
}

// checkHeaders checks a 200's content type, cache-control (protocol §8.1)
// and etag (§8.2) against the request that produced it.
func (s *shapeStream) checkHeaders(t *testing.T, q string, header http.Header, live, hasData bool) {
	t.Helper()
	if got := header.Get("content-type"); got != "application/json; charset=utf-8" {
		t.Errorf("GET %s: content-type %q", q, got)
	}
	var wantCC string
	switch {
	case s.offset == "-1":
		wantCC = "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746"
	case live:
		wantCC = "public, max-age=5, stale-while-revalidate=5"
	default:
		wantCC = "public, max-age=60, stale-while-revalidate=300"
	}
	if got := header.Get("cache-control"); got != wantCC {
		t.Errorf("GET %s: cache-control %q, want %q", q, got, wantCC)
	}
	etag := header.Get("etag")
	want := `"` + header.Get("electric-handle") + ":" + s.offset + ":" + header.Get("electric-offset")
	// Only a live request that timed out has no data (§6.4); every other
	// 200 of a stream has data, even if its body is only up-to-date.
	timeout := live && !hasData
	if got := header.Get("electric-has-data"); got != strconv.FormatBool(!timeout) {
		t.Errorf("GET %s: electric-has-data %q, want %v", q, got, !timeout)
	}
	if !timeout {
		if want += `"`; etag != want {
			t.Errorf("GET %s: etag %s, want %s", q, etag, want)
		}
	} else if !strings.HasPrefix(etag, want+":") || !strings.HasSuffix(etag, `"`) {
		t.Errorf("GET %s: etag %s of a live timeout, want %s:<unique>\"", q, etag, want)
	}
}
