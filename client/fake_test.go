package client_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/galvani-sync/galvani/client"
	"github.com/galvani-sync/galvani/protocol"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fastBackoff keeps retries quick in tests that use real time.
var fastBackoff = client.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}

// fake is a scripted shape server: handle is called with each request and
// its index (from 0); every request is recorded.
type fake struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []*http.Request
	handle func(w http.ResponseWriter, r *http.Request, n int)
}

// newFake starts a fake server and returns it with a client pointing at
// it (fast retries, its own transport closed at the end of the test).
func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int)) (*fake, *client.Client) {
	t.Helper()
	f := &fake{t: t, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, r.Clone(r.Context()))
		f.mu.Unlock()
		f.handle(w, r, n)
	}))
	tr := &http.Transport{}
	t.Cleanup(func() {
		f.srv.Close()
		tr.CloseIdleConnections()
	})
	return f, &client.Client{BaseURL: f.srv.URL, HTTPClient: &http.Client{Transport: tr}, Backoff: fastBackoff}
}

// queries returns the query of each request so far.
func (f *fake) queries() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]url.Values, len(f.reqs))
	for i, r := range f.reqs {
		out[i] = r.URL.Query()
	}
	return out
}

func (f *fake) request(i int) *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.reqs) {
		f.t.Fatalf("request %d was not made (%d requests)", i, len(f.reqs))
	}
	return f.reqs[i]
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// shapeResp is a shape response to write.
type shapeResp struct {
	status                         int // 0 means 200
	handle, offset, cursor, schema string
	upToDate                       bool
	body                           string
	header                         map[string]string
	omit                           []string // headers to leave out
}

const testSchema = `{"id":{"type":"int4","pk_index":0,"not_null":true},"title":{"type":"text"}}`

// write sends r; a 200 gets the protocol's headers (schema unless live).
func (r shapeResp) write(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	h.Set("content-type", "application/json; charset=utf-8")
	live := req.URL.Query().Get("live") == "true"
	if r.handle != "" {
		h.Set(protocol.HeaderHandle, r.handle)
	}
	if r.offset != "" {
		h.Set(protocol.HeaderOffset, r.offset)
	}
	if live {
		c := r.cursor
		if c == "" {
			c = "1000"
		}
		h.Set(protocol.HeaderCursor, c)
	} else if r.status == 0 || r.status == 200 {
		s := r.schema
		if s == "" {
			s = testSchema
		}
		h.Set(protocol.HeaderSchema, s)
	}
	if r.upToDate {
		h.Set(protocol.HeaderUpToDate, "")
	}
	for k, v := range r.header {
		h.Set(k, v)
	}
	for _, k := range r.omit {
		h.Del(k)
	}
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	fmt.Fprint(w, r.body)
}

// Message bodies.
func insert(id int, title string) string {
	return fmt.Sprintf(`{"key":"\"public\".\"items\"/\"%d\"","value":{"id":"%d","title":%q},"headers":{"operation":"insert","relation":["public","items"]}}`, id, id, title)
}

func change(op string, id int, value string, lsn, opPos int) string {
	return fmt.Sprintf(`{"key":"\"public\".\"items\"/\"%d\"","value":%s,"headers":{"operation":%q,"relation":["public","items"],"lsn":"%d","op_position":%d,"txids":[7],"last":true}}`, id, value, op, lsn, opPos)
}

func upToDateMsg(lsn int) string {
	return fmt.Sprintf(`{"headers":{"control":"up-to-date","global_last_seen_lsn":"%d"}}`, lsn)
}

func array(msgs ...string) string { return "[" + strings.Join(msgs, ",") + "]" }

// key is the row key of items row id.
func key(id int) string { return fmt.Sprintf(`"public"."items"/"%d"`, id) }

func str(s string) *string { return &s }
