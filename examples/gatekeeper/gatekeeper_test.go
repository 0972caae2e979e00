package gatekeeper_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/examples/gatekeeper"
)

// upstream is a fake Galvani server recording what the gatekeeper
// forwards.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, r.Clone(r.Context()))
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("electric-handle", "h")
		w.Write([]byte("[]"))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) take() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.reqs
	u.reqs = nil
	return r
}

func newGatekeeper(t *testing.T, up *upstream) *httptest.Server {
	t.Helper()
	base, _ := url.Parse(up.srv.URL)
	h, err := gatekeeper.New(gatekeeper.Config{
		Upstream: base,
		Secret:   "server-secret",
		Tokens:   map[string]string{"alice-token": "alice", "bob-token": "bob"},
		Tables:   map[string]string{"items": "owner_id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	gk := httptest.NewServer(h)
	t.Cleanup(gk.Close)
	return gk
}

// TestUserCannotWidenTheShape: whatever alice sends, the server gets
// exactly her where clause, her user id as $1 and the server's secret;
// the parameters that select her position pass through unchanged.
func TestUserCannotWidenTheShape(t *testing.T) {
	up := newUpstream(t, nil)
	gk := newGatekeeper(t, up)
	aliceWhere := url.Values{"where": {`"owner_id" = $1`}, "params[1]": {"alice"}, "secret": {"server-secret"}, "table": {"items"}}
	tests := []struct {
		name, query string
		extra       url.Values // pass-through parameters expected besides aliceWhere
	}{
		{"plain request", "table=items&offset=-1", url.Values{"offset": {"-1"}}},
		{"where true", "table=items&offset=-1&where=true", url.Values{"offset": {"-1"}}},
		{"where for bob", "table=items&offset=-1&where=owner_id%3D%27bob%27", url.Values{"offset": {"-1"}}},
		{"widening OR", "table=items&offset=-1&where=%22owner_id%22+%3D+%241+OR+true", url.Values{"offset": {"-1"}}},
		{"params for bob", "table=items&offset=-1&params[1]=bob", url.Values{"offset": {"-1"}}},
		{"encoded brackets", "table=items&offset=-1&params%5B1%5D=bob&params%5b2%5d=x", url.Values{"offset": {"-1"}}},
		{"extra param", "table=items&offset=-1&params[2]=bob", url.Values{"offset": {"-1"}}},
		{"repeated where and params", "table=items&offset=-1&where=true&where=false&params[1]=bob&params[1]=carol", url.Values{"offset": {"-1"}}},
		{"secrets", "table=items&offset=-1&secret=guess&api_secret=guess", url.Values{"offset": {"-1"}}},
		{"subset parameters", "table=items&offset=-1&subset__where=true&subset__params=%7B%221%22%3A%22bob%22%7D", url.Values{"offset": {"-1"}}},
		{"semicolon smuggling", "table=items&offset=-1;where=true&params[1]=bob;x=y", nil},
		{"unknown parameters", "table=items&offset=-1&queryable_columns=owner_id&experimental_compaction=true", url.Values{"offset": {"-1"}}},
		{"live request", "cursor=9&handle=h-1&live=true&live_sse=true&experimental_live_sse=true&log=full&offset=5_0&table=items&columns=id,title&replica=full&cache-buster=x&expired_handle=h-0",
			url.Values{"cursor": {"9"}, "handle": {"h-1"}, "live": {"true"}, "live_sse": {"true"}, "experimental_live_sse": {"true"}, "log": {"full"}, "offset": {"5_0"}, "columns": {"id,title"}, "replica": {"full"}, "cache-buster": {"x"}, "expired_handle": {"h-0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, gk.URL+"/v1/shape?"+tt.query, nil)
			req.Header.Set("Authorization", "Bearer alice-token")
			req.Header.Set("Cookie", "session=alice")
			resp, err := gk.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			got := up.take()
			if len(got) != 1 {
				t.Fatalf("%d upstream requests, want 1", len(got))
			}
			r := got[0]
			want := url.Values{}
			for k, v := range aliceWhere {
				want[k] = v
			}
			for k, v := range tt.extra {
				want[k] = v
			}
			if r.URL.Path != "/v1/shape" || r.URL.RawQuery != want.Encode() {
				t.Errorf("forwarded %s?%s\nwant       /v1/shape?%s", r.URL.Path, r.URL.RawQuery, want.Encode())
			}
			if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
				t.Errorf("forwarded the user's credentials: %v", r.Header)
			}
		})
	}
}

// TestEachUserGetsTheirOwnWhere: bob's token gives bob's parameter.
func TestEachUserGetsTheirOwnWhere(t *testing.T) {
	up := newUpstream(t, nil)
	gk := newGatekeeper(t, up)
	req, _ := http.NewRequest(http.MethodGet, gk.URL+"/v1/shape?table=items&offset=-1&params[1]=alice", nil)
	req.Header.Set("Authorization", "Bearer bob-token")
	resp, err := gk.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := up.take(); len(got) != 1 || got[0].URL.Query().Get("params[1]") != "bob" {
		t.Errorf("upstream requests %v; want one with params[1]=bob", got)
	}
}

// TestRefusals: bad credentials, other tables, methods and paths never
// reach the server.
func TestRefusals(t *testing.T) {
	up := newUpstream(t, nil)
	gk := newGatekeeper(t, up)
	tests := []struct {
		name, method, path, auth string
		status                   int
	}{
		{"no token", "GET", "/v1/shape?table=items&offset=-1", "", 401},
		{"unknown token", "GET", "/v1/shape?table=items&offset=-1", "Bearer mallory", 401},
		{"basic auth", "GET", "/v1/shape?table=items&offset=-1", "Basic YWxpY2U6eA==", 401},
		{"token prefix", "GET", "/v1/shape?table=items&offset=-1", "Bearer alice", 401},
		{"other table", "GET", "/v1/shape?table=secrets&offset=-1", "Bearer alice-token", 403},
		{"qualified table name", "GET", "/v1/shape?table=public.items&offset=-1", "Bearer alice-token", 403},
		{"two tables", "GET", "/v1/shape?table=items&table=secrets&offset=-1", "Bearer alice-token", 403},
		{"no table", "GET", "/v1/shape?offset=-1", "Bearer alice-token", 403},
		{"delete", "DELETE", "/v1/shape?table=items", "Bearer alice-token", 405},
		{"post", "POST", "/v1/shape?table=items&offset=-1", "Bearer alice-token", 405},
		{"trailing slash", "GET", "/v1/shape/?table=items&offset=-1", "Bearer alice-token", 404},
		{"double slash", "GET", "/v1//shape?table=items&offset=-1", "Bearer alice-token", 404},
		{"other path", "GET", "/v1/health", "Bearer alice-token", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, gk.URL+tt.path, strings.NewReader(`{"where":"true","table":"secrets"}`))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := gk.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := up.take(); len(got) != 0 {
				t.Errorf("forwarded %d requests upstream, want none", len(got))
			}
		})
	}
}

// TestStreamsEvents: SSE events reach the client as the server sends
// them, not when the response ends.
func TestStreamsEvents(t *testing.T) {
	release := make(chan struct{})
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("content-type", "text/event-stream")
		w.Write([]byte("data: {\"headers\":{\"control\":\"up-to-date\"}}\n\n"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	gk := newGatekeeper(t, up)
	defer close(release)
	req, _ := http.NewRequest(http.MethodGet, gk.URL+"/v1/shape?table=items&offset=1_0&handle=h&live=true&live_sse=true", nil)
	req.Header.Set("Authorization", "Bearer alice-token")
	resp, err := gk.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if !strings.HasPrefix(l, "data: ") {
			t.Errorf("first line %q, want an SSE data line", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event not streamed through within 5s")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := gatekeeper.New(gatekeeper.Config{Tables: map[string]string{"t": "o"}}); err == nil {
		t.Error("New without Upstream succeeded")
	}
	u, _ := url.Parse("http://x")
	if _, err := gatekeeper.New(gatekeeper.Config{Upstream: u}); err == nil {
		t.Error("New without tables succeeded")
	}
}
