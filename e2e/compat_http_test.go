package e2e

// Raw HTTP checks of what caches, proxies and clients rely on: the
// cache-control matrix (§8.1), ETag and If-None-Match (§8.2), which
// electric-* headers each kind of response carries (§5.7, §6.4), and that
// no spelling of the shape path gets past the secret (§1.2).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// rawResp is one HTTP exchange made with rawDo.
type rawResp struct {
	method, target string
	status         int
	header         http.Header
	body           string
}

func (r *rawResp) String() string {
	b := r.body
	if len(b) > 300 {
		b = b[:300] + "…"
	}
	var hs []string
	for k, v := range r.header {
		hs = append(hs, k+": "+strings.Join(v, " | "))
	}
	return fmt.Sprintf("%s %s → %d {%s} %s", r.method, r.target, r.status, strings.Join(hs, "; "), b)
}

// has reports whether the response carries header name (even empty).
func (r *rawResp) has(name string) bool {
	_, ok := r.header[http.CanonicalHeaderKey(name)]
	return ok
}

// rawDo sends one request with exactly the given request-target (no
// client-side path cleaning) over a fresh connection and reads the whole
// response.
func rawDo(t *testing.T, addr, method, target string, hdr http.Header, body string) *rawResp {
	t.Helper()
	return rawDoUntil(t, addr, method, target, hdr, body, nil)
}

// rawDoUntil is rawDo that stops reading the body (and closes the
// connection) as soon as until says the body read so far is enough; an
// endless stream such as SSE can be read that way.
func rawDoUntil(t *testing.T, addr, method, target string, hdr http.Header, body string, until func(string) bool) *rawResp {
	t.Helper()
	r, err := rawExchange(addr, method, target, hdr, body, until)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rawExchange is rawDoUntil without the testing.T, for other goroutines.
func rawExchange(addr, method, target string, hdr http.Header, body string, until func(string) bool) (*rawResp, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, addr)
	for k, vs := range hdr {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if body != "" || method == http.MethodPost {
		fmt.Fprintf(&b, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", method, target, err)
	}
	// Close the connection before the body: closing an unfinished body
	// would read it to its end first.
	defer resp.Body.Close()
	defer conn.Close()
	var data []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		data = append(data, buf[:n]...)
		if until != nil && until(string(data)) {
			break
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: reading body: %v (read so far: %q)", method, target, err, data)
		}
	}
	return &rawResp{method: method, target: target, status: resp.StatusCode, header: resp.Header, body: string(data)}, nil
}

func addrOf(srv *server) string { return "127.0.0.1:" + itoaPort(srv.port) }

// httpFixture is a server with an items table and a shape walked to its head.
type httpFixture struct {
	t      *testing.T
	srv    *server
	dbURL  string
	handle string
	off0   string // electric-offset of the offset=-1 response
	head   string // the shape's latest offset (up-to-date)
}

func newHTTPFixture(t *testing.T, env ...string) *httpFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 10) i;`)
	srv := startServer(t, dbURL, append([]string{"ELECTRIC_ENABLE_INTEGRATION_TESTING=true"}, env...)...)
	f := &httpFixture{t: t, srv: srv, dbURL: dbURL}
	r := f.get("/v1/shape?table=items&offset=-1", nil)
	if r.status != 200 {
		t.Fatalf("initial request: %s", r)
	}
	f.handle, f.off0 = r.header.Get("electric-handle"), r.header.Get("electric-offset")
	f.head = f.walk(f.off0)
	return f
}

func (f *httpFixture) get(target string, hdr http.Header) *rawResp {
	f.t.Helper()
	return rawDo(f.t, addrOf(f.srv), http.MethodGet, target, hdr, "")
}

// walk follows catch-up responses from off to the up-to-date one and
// returns the head offset.
func (f *httpFixture) walk(off string) string {
	f.t.Helper()
	for range 100 {
		r := f.get("/v1/shape?table=items&handle="+url.QueryEscape(f.handle)+"&offset="+off, nil)
		if r.status != 200 {
			f.t.Fatalf("catch-up: %s", r)
		}
		off = r.header.Get("electric-offset")
		if r.has("electric-up-to-date") {
			return off
		}
	}
	f.t.Fatal("no up-to-date after 100 catch-up requests")
	return ""
}

func (f *httpFixture) q(extra string) string {
	return "/v1/shape?table=items&handle=" + url.QueryEscape(f.handle) + extra
}

// liveWithData makes a change and returns the live response that carries it.
func (f *httpFixture) liveWithData(sse bool) *rawResp {
	f.t.Helper()
	target := f.q("&offset=" + f.head + "&live=true&cursor=1")
	if sse {
		target += "&live_sse=true"
	}
	// An SSE request at the head stays open after the change (up to 60 s):
	// read until the change and its up-to-date arrived.
	var until func(string) bool
	if sse {
		until = func(b string) bool { return strings.Contains(b, `"live"`) && strings.Contains(b, `"up-to-date"`) }
	}
	type result struct {
		r   *rawResp
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := rawExchange(addrOf(f.srv), http.MethodGet, target, nil, "", until)
		done <- result{r, err}
	}()
	time.Sleep(200 * time.Millisecond)
	pgtest.Exec(f.t, f.dbURL, `INSERT INTO items VALUES ((SELECT max(id) + 1 FROM items), 'live')`)
	var r *rawResp
	select {
	case res := <-done:
		if res.err != nil {
			f.t.Fatal(res.err)
		}
		r = res.r
	case <-time.After(70 * time.Second):
		f.t.Fatalf("live request %s did not answer", target)
	}
	if r.status != 200 || !strings.Contains(r.body, `"live"`) {
		f.t.Fatalf("live request with a change: %s", r)
	}
	f.head = f.walk(f.head)
	return r
}

const (
	ccInitial  = "public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746"
	ccLive     = "public, max-age=5, stale-while-revalidate=5"
	ccSSE      = "public, max-age=59"
	ccDefault  = "public, max-age=60, stale-while-revalidate=300"
	cc409      = "public, max-age=60, must-revalidate"
	cc409NoH   = "public, max-age=1, must-revalidate"
	ccHealth   = "no-cache, no-store, must-revalidate"
	ccNoStore  = "no-store"
	ccNonGet   = "no-cache"
	ccAbsent   = "<absent>"
	hdrPresent = "<present>"
)

func cacheControl(r *rawResp) string {
	if !r.has("cache-control") {
		return ccAbsent
	}
	return strings.Join(r.header.Values("cache-control"), ", ")
}

// TestCompatHTTPCacheControl checks one response of every kind in the
// §8.1 matrix, with the default ELECTRIC_CACHE_MAX_AGE/STALE_AGE.
func TestCompatHTTPCacheControl(t *testing.T) {
	f := newHTTPFixture(t)
	live := f.liveWithData(false)
	sse := f.liveWithData(true)
	type tc struct {
		name      string
		resp      *rawResp
		status    int
		cc        string
		surrogate string
	}
	cases := []tc{
		{"offset=-1", f.get("/v1/shape?table=items&offset=-1", nil), 200, ccInitial, ""},
		{"offset=-1 HEAD", rawDo(t, addrOf(f.srv), http.MethodHead, "/v1/shape?table=items&offset=-1", nil, ""), 200, ccInitial, ""},
		{"offset=-1 with a stale handle", f.get("/v1/shape?table=items&offset=-1&handle=stale-handle", nil), 200, ccInitial, ""},
		{"catch-up (up-to-date)", f.get(f.q("&offset="+f.off0), nil), 200, ccDefault, ""},
		{"up-to-date read at head", f.get(f.q("&offset="+f.head), nil), 200, ccDefault, ""},
		{"offset=now", f.get("/v1/shape?table=items&offset=now", nil), 200, ccDefault, ""},
		{"live with data", live, 200, ccLive, ""},
		{"live SSE", sse, 200, ccSSE, ""},
		{"409 with handle", f.get("/v1/shape?table=items&offset="+f.off0+"&handle=unknown-handle", nil), 409, cc409, ""},
		{"400 missing offset", f.get("/v1/shape?table=items", nil), 400, ccNoStore, "no-store"},
		{"400 unknown table", f.get("/v1/shape?table=nope&offset=-1", nil), 400, ccNoStore, "no-store"},
		{"400 live with offset=-1", f.get("/v1/shape?table=items&offset=-1&live=true", nil), 400, ccNoStore, "no-store"},
		{"404 other path", f.get("/v2/shape?table=items&offset=-1", nil), 404, "", ""},
		{"health", f.get("/v1/health", nil), 200, ccHealth, ""},
		{"OPTIONS", rawDo(t, addrOf(f.srv), http.MethodOptions, "/v1/shape?table=items&offset=-1", http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"GET"}}, ""), 204, ccAbsent, ""},
		{"DELETE unknown handle", rawDo(t, addrOf(f.srv), http.MethodDelete, "/v1/shape?handle=nope", nil, ""), 404, ccNonGet, ""},
		{"DELETE 400", rawDo(t, addrOf(f.srv), http.MethodDelete, "/v1/shape", nil, ""), 400, ccNonGet, ""},
	}
	// Live timeout: nothing changes for ELECTRIC_LONG_POLL_TIMEOUT (5 s in the harness).
	cases = append(cases, tc{"live timeout", f.get(f.q("&offset="+f.head+"&live=true&cursor=1"), nil), 200, ccLive, ""})
	// DELETE last: it removes the shape.
	cases = append(cases, tc{"DELETE 202", rawDo(t, addrOf(f.srv), http.MethodDelete, "/v1/shape?table=items&handle="+url.QueryEscape(f.handle), nil, ""), 202, ccNonGet, ""})
	// The deleted handle now gets a 409 naming the replacement (or none yet).
	gone := f.get(f.q("&offset="+f.head), nil)
	want409 := cc409
	if !gone.has("electric-handle") {
		want409 = cc409NoH
	}
	cases = append(cases, tc{"409 after DELETE", gone, 409, want409, ""})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.resp
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r)
			}
			if c.cc != "" && cacheControl(r) != c.cc {
				t.Errorf("cache-control %q, want %q: %s", cacheControl(r), c.cc, r)
			}
			if c.surrogate != "" && r.header.Get("surrogate-control") != c.surrogate {
				t.Errorf("surrogate-control %q, want %q", r.header.Get("surrogate-control"), c.surrogate)
			}
		})
	}
}

// TestCompatHTTPCacheControlCustomAges runs with ELECTRIC_CACHE_MAX_AGE and
// ELECTRIC_CACHE_STALE_AGE set: they change the non-live, non-initial row
// only.
func TestCompatHTTPCacheControlCustomAges(t *testing.T) {
	f := newHTTPFixture(t, "ELECTRIC_CACHE_MAX_AGE=17", "ELECTRIC_CACHE_STALE_AGE=23")
	const custom = "public, max-age=17, stale-while-revalidate=23"
	for _, c := range []struct {
		name string
		resp *rawResp
		cc   string
	}{
		{"catch-up", f.get(f.q("&offset="+f.off0), nil), custom},
		{"head read", f.get(f.q("&offset="+f.head), nil), custom},
		{"offset=now", f.get("/v1/shape?table=items&offset=now", nil), custom},
		{"offset=-1 unchanged", f.get("/v1/shape?table=items&offset=-1", nil), ccInitial},
		{"live unchanged", f.liveWithData(false), ccLive},
	} {
		if c.resp.status != 200 || cacheControl(c.resp) != c.cc {
			t.Errorf("%s: cache-control %q (status %d), want %q: %s", c.name, cacheControl(c.resp), c.resp.status, c.cc, c.resp)
		}
	}
}

// TestCompatHTTPETag checks the ETag format and If-None-Match → 304 (§8.2).
func TestCompatHTTPETag(t *testing.T) {
	f := newHTTPFixture(t)
	first := f.get("/v1/shape?table=items&offset=-1", nil)
	etag := first.header.Get("etag")
	if want := `"` + f.handle + `:-1:` + f.off0 + `"`; etag != want {
		t.Fatalf("etag of offset=-1 = %s, want %s", etag, want)
	}
	if again := f.get("/v1/shape?table=items&offset=-1", nil).header.Get("etag"); again != etag {
		t.Errorf("offset=-1 etag not stable: %s then %s", etag, again)
	}
	catch := f.get(f.q("&offset="+f.off0), nil)
	if want := `"` + f.handle + `:` + f.off0 + `:` + catch.header.Get("electric-offset") + `"`; catch.header.Get("etag") != want {
		t.Errorf("catch-up etag = %s, want %s", catch.header.Get("etag"), want)
	}
	// No-data responses get a unique suffix so a cache never revalidates them into a loop.
	noData := regexp.MustCompile(`^"` + regexp.QuoteMeta(f.handle) + `:now:[^:"]+:[^:"]+"$`)
	n1 := f.get("/v1/shape?table=items&offset=now", nil).header.Get("etag")
	n2 := f.get("/v1/shape?table=items&offset=now", nil).header.Get("etag")
	if !noData.MatchString(n1) || n1 == n2 {
		t.Errorf("offset=now etags %s, %s: want %q and different each time", n1, n2, noData)
	}

	bare := strings.Trim(etag, `"`)
	for _, c := range []struct {
		name string
		hdr  http.Header
		want int
	}{
		{"exact", http.Header{"If-None-Match": {etag}}, 304},
		{"unquoted", http.Header{"If-None-Match": {bare}}, 304},
		{"spaces", http.Header{"If-None-Match": {`   ` + etag + `   `}}, 304},
		{"list, match last", http.Header{"If-None-Match": {`"other:-1:0_0", "x" ,` + etag}}, 304},
		{"list, match first, no spaces", http.Header{"If-None-Match": {etag + `,"other"`}}, 304},
		{"two header lines", http.Header{"If-None-Match": {`"other"`, etag}}, 304},
		{"mixed quoting", http.Header{"If-None-Match": {`other, "` + bare}}, 304},
		{"no match", http.Header{"If-None-Match": {`"` + f.handle + `:-1:0_1"`}}, 200},
		{"prefix only", http.Header{"If-None-Match": {`"` + f.handle + `:-1"`}}, 200},
	} {
		r := f.get("/v1/shape?table=items&offset=-1", c.hdr)
		if r.status != c.want {
			t.Errorf("%s: If-None-Match %q → %d, want %d: %s", c.name, c.hdr.Values("If-None-Match"), r.status, c.want, r)
			continue
		}
		if c.want != 304 {
			continue
		}
		// 304: empty body, the 200's headers except electric-schema.
		if r.body != "" {
			t.Errorf("%s: 304 with a body %q", c.name, r.body)
		}
		for _, h := range []string{"electric-handle", "electric-offset", "etag", "cache-control"} {
			if r.header.Get(h) != first.header.Get(h) {
				t.Errorf("%s: 304 %s = %q, want %q as on the 200", c.name, h, r.header.Get(h), first.header.Get(h))
			}
		}
		if r.has("electric-schema") {
			t.Errorf("%s: 304 carries electric-schema", c.name)
		}
	}
	// Catch-up responses revalidate too.
	if r := f.get(f.q("&offset="+f.off0), http.Header{"If-None-Match": {catch.header.Get("etag")}}); r.status != 304 || !r.has("electric-up-to-date") {
		t.Errorf("catch-up revalidation: %s, want 304 with electric-up-to-date", r)
	}
	// HEAD revalidates like GET.
	if r := rawDo(t, addrOf(f.srv), http.MethodHead, "/v1/shape?table=items&offset=-1", http.Header{"If-None-Match": {etag}}, ""); r.status != 304 {
		t.Errorf("HEAD with matching If-None-Match: %s, want 304", r)
	}
}

// TestCompatHTTPResponseHeaders checks which electric-* headers each kind of
// response carries (§5.7, §6.4, §7).
func TestCompatHTTPResponseHeaders(t *testing.T) {
	f := newHTTPFixture(t)
	live := f.liveWithData(false)
	sse := f.liveWithData(true)
	timeout := f.get(f.q("&offset="+f.head+"&live=true&cursor=1"), nil)
	initial := f.get("/v1/shape?table=items&offset=-1", nil)
	const absent = ccAbsent
	for _, c := range []struct {
		name string
		resp *rawResp
		want map[string]string // header → value, hdrPresent or absent
	}{
		{"offset=-1", initial, map[string]string{
			"electric-handle": f.handle, "electric-offset": f.off0, "electric-schema": hdrPresent,
			"electric-up-to-date": absent, "electric-has-data": "true", "electric-cursor": absent}},
		{"catch-up to head", f.get(f.q("&offset="+f.off0), nil), map[string]string{
			"electric-handle": f.handle, "electric-offset": hdrPresent, "electric-schema": hdrPresent,
			"electric-up-to-date": "", "electric-has-data": "true", "electric-cursor": absent}},
		{"offset=now", f.get("/v1/shape?table=items&offset=now", nil), map[string]string{
			"electric-handle": f.handle, "electric-offset": f.head, "electric-schema": hdrPresent,
			"electric-up-to-date": "", "electric-has-data": "false", "electric-cursor": absent}},
		{"live with data", live, map[string]string{
			"electric-handle": f.handle, "electric-offset": hdrPresent, "electric-schema": absent,
			"electric-up-to-date": "", "electric-has-data": "true", "electric-cursor": hdrPresent}},
		{"live timeout", timeout, map[string]string{
			"electric-handle": f.handle, "electric-offset": f.head, "electric-schema": absent,
			"electric-up-to-date": "", "electric-has-data": "false", "electric-cursor": hdrPresent}},
		{"SSE", sse, map[string]string{
			"electric-handle": f.handle, "electric-schema": absent, "electric-cursor": hdrPresent,
			"content-type": "text/event-stream", "x-accel-buffering": "no"}},
		{"409", f.get("/v1/shape?table=items&offset="+f.off0+"&handle=unknown-handle", nil), map[string]string{
			"electric-handle": f.handle, "electric-schema": absent, "electric-has-data": absent,
			"electric-up-to-date": absent, "electric-cursor": absent}},
		{"400", f.get("/v1/shape?table=items&offset=bad", nil), map[string]string{
			"electric-handle": absent, "electric-schema": absent, "electric-has-data": absent,
			"electric-offset": absent, "etag": absent}},
	} {
		for h, want := range c.want {
			got, has := c.resp.header.Get(h), c.resp.has(h)
			switch {
			case want == absent && has:
				t.Errorf("%s: %s present (%q), want absent", c.name, h, got)
			case want == hdrPresent && !has:
				t.Errorf("%s: %s absent, want present", c.name, h)
			case want != absent && want != hdrPresent && (!has || got != want):
				t.Errorf("%s: %s = %q (present %v), want %q", c.name, h, got, has, want)
			}
		}
	}
	// The body agrees with the header: up-to-date message iff electric-up-to-date.
	for name, r := range map[string]*rawResp{"offset=-1": initial, "live timeout": timeout, "live": live} {
		var msgs []struct {
			Headers map[string]any `json:"headers"`
		}
		if err := json.Unmarshal([]byte(r.body), &msgs); err != nil {
			t.Errorf("%s: body is not a JSON array: %v", name, err)
			continue
		}
		last := len(msgs) > 0 && msgs[len(msgs)-1].Headers["control"] == "up-to-date"
		if last != r.has("electric-up-to-date") {
			t.Errorf("%s: up-to-date message %v but electric-up-to-date header %v", name, last, r.has("electric-up-to-date"))
		}
	}
	// A 409's body is the must-refetch control message.
	if r := f.get("/v1/shape?table=items&offset="+f.off0+"&handle=unknown-handle", nil); strings.TrimSpace(r.body) != `[{"headers":{"control":"must-refetch"}}]` {
		t.Errorf("409 body %q, want [{\"headers\":{\"control\":\"must-refetch\"}}]", r.body)
	}
	// Every header the client reads is exposed to browsers.
	exp := initial.header.Get("access-control-expose-headers")
	for _, h := range []string{"electric-cursor", "electric-handle", "electric-has-data", "electric-offset", "electric-schema", "electric-up-to-date"} {
		if !strings.Contains(","+exp+",", ","+h+",") {
			t.Errorf("access-control-expose-headers %q lacks %s", exp, h)
		}
	}
}

// TestCompatHTTPAuthBypass configures a secret and tries every spelling of
// the shape path with every method: none may reach shape data (or delete a
// shape) without the secret; the spellings that normalise to /v1/shape
// route to the shape handler (with the secret they work), others are 404.
func TestCompatHTTPAuthBypass(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL);
		INSERT INTO items VALUES (1, 'TOPSECRETROW');`)
	const secret = "hunter2"
	srv := startServer(t, dbURL, "ELECTRIC_INSECURE=false", "ELECTRIC_SECRET="+secret, "ELECTRIC_ENABLE_INTEGRATION_TESTING=true")
	addr := addrOf(srv)
	// Create the shape with the secret, so a bypassing DELETE would have something to delete.
	ok := rawDo(t, addr, http.MethodGet, "/v1/shape?table=items&offset=-1&secret="+secret, nil, "")
	if ok.status != 200 || !strings.Contains(ok.body, "TOPSECRETROW") {
		t.Fatalf("with the secret: %s", ok)
	}
	handle := ok.header.Get("electric-handle")

	paths := []struct {
		path   string
		routes bool // normalises to /v1/shape
	}{
		{"/v1/shape", true},
		{"/v1/shape/", true},
		{"/v1//shape", true},
		{"//v1/shape", true},
		{"/v1/shape//", true},
		{"/v1/%73hape", true},
		{"/v1/shape%2F", true},
		{"/%761/shape", true},
		{"/V1/SHAPE", false},
		{"/v1/Shape", false},
	}
	queries := []string{
		"?table=items&offset=-1",
		"?table=items&offset=-1&secret=wrong",
		"?table=items&offset=-1&secret=",
		"?table=items&offset=-1&api_secret=wrong",
		"?table=items&offset=-1&secret=" + secret + "x",
		"?table=items&offset=-1&SECRET=" + secret,
	}
	for _, p := range paths {
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodPost} {
			for _, q := range queries {
				target := p.path + q
				if method == http.MethodDelete {
					target += "&handle=" + url.QueryEscape(handle)
				}
				r := rawDo(t, addr, method, target, nil, "")
				want := http.StatusUnauthorized
				if !p.routes {
					want = http.StatusNotFound
				}
				if r.status != want {
					t.Errorf("no valid secret: %s %s → %d, want %d: %s", method, target, r.status, want, r)
				}
				if strings.Contains(r.body, "TOPSECRETROW") || r.has("electric-handle") || r.has("electric-schema") {
					t.Errorf("no valid secret: %s %s leaked shape data: %s", method, target, r)
				}
			}
		}
		// With the secret, the spellings that normalise to the shape path
		// are the shape endpoint (§1.1).
		r := rawDo(t, addr, http.MethodGet, p.path+"?table=items&offset=-1&secret="+secret, nil, "")
		if p.routes && (r.status != 200 || !strings.Contains(r.body, "TOPSECRETROW")) {
			t.Errorf("with the secret, GET %s: %s, want 200 with the row", p.path, r)
		}
		if !p.routes && r.status != 404 {
			t.Errorf("with the secret, GET %s: %d, want 404", p.path, r.status)
		}
	}
	// api_secret (deprecated) is accepted too; OPTIONS needs no secret.
	if r := rawDo(t, addr, http.MethodGet, "/v1/shape?table=items&offset=-1&api_secret="+secret, nil, ""); r.status != 200 {
		t.Errorf("api_secret: %s", r)
	}
	if r := rawDo(t, addr, http.MethodOptions, "/v1/shape?table=items&offset=-1", http.Header{"Origin": {"https://x"}}, ""); r.status != 204 {
		t.Errorf("OPTIONS without secret: %s, want 204", r)
	}
	// No DELETE got through: the shape still has its handle.
	r := rawDo(t, addr, http.MethodGet, "/v1/shape?table=items&offset=-1&secret="+secret, nil, "")
	if r.header.Get("electric-handle") != handle {
		t.Errorf("shape handle changed from %s to %s: a DELETE without the secret went through", handle, r.header.Get("electric-handle"))
	}
}

// TestCompatHTTPSubsetSnapshot checks subset snapshot responses by GET
// (subset__* params) and POST (JSON body), and a POST without a subset
// (§10.3, §8.1).
func TestCompatHTTPSubsetSnapshot(t *testing.T) {
	f := newHTTPFixture(t)
	type subsetBody struct {
		Metadata struct {
			Xmin         string   `json:"xmin"`
			Xmax         string   `json:"xmax"`
			XipList      []string `json:"xip_list"`
			DatabaseLSN  string   `json:"database_lsn"`
			SnapshotMark *int64   `json:"snapshot_mark"`
		} `json:"metadata"`
		Data []struct {
			Key     string            `json:"key"`
			Value   map[string]string `json:"value"`
			Headers map[string]any    `json:"headers"`
		} `json:"data"`
	}
	check := func(name string, r *rawResp, wantIDs []string) {
		t.Helper()
		if r.status != 200 {
			t.Errorf("%s: %s", name, r)
			return
		}
		if cc := cacheControl(r); cc != "no-cache" {
			t.Errorf("%s: cache-control %q, want no-cache", name, cc)
		}
		for _, h := range []string{"electric-handle", "electric-offset", "electric-schema"} {
			if !r.has(h) {
				t.Errorf("%s: %s missing (the client requires it)", name, h)
			}
		}
		if r.header.Get("electric-snapshot") != "true" {
			t.Errorf("%s: electric-snapshot = %q, want true", name, r.header.Get("electric-snapshot"))
		}
		if r.has("etag") || r.has("electric-up-to-date") || r.has("electric-cursor") {
			t.Errorf("%s: subset response has etag/up-to-date/cursor headers: %s", name, r)
		}
		var b subsetBody
		if err := json.Unmarshal([]byte(r.body), &b); err != nil {
			t.Errorf("%s: body is not {metadata, data}: %v: %s", name, err, r)
			return
		}
		m := b.Metadata
		if !regexp.MustCompile(`^\d+$`).MatchString(m.Xmin+m.Xmax+m.DatabaseLSN) || m.Xmin == "" || m.Xmax == "" || m.DatabaseLSN == "" || m.SnapshotMark == nil || m.XipList == nil {
			t.Errorf("%s: metadata %+v: want decimal-string xmin, xmax, database_lsn, a xip_list array and a snapshot_mark", name, m)
		}
		var ids []string
		for _, d := range b.Data {
			ids = append(ids, d.Value["id"])
			if d.Headers["operation"] != "insert" || d.Headers["snapshot_mark"] == nil {
				t.Errorf("%s: row headers %v, want operation insert and the snapshot_mark", name, d.Headers)
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
			t.Errorf("%s: ids %v, want %v", name, ids, wantIDs)
		}
	}
	// A changes_only shape is a different shape: get its own handle first.
	co := f.get("/v1/shape?table=items&offset=-1&log=changes_only", nil)
	if co.status != 200 {
		t.Fatalf("changes_only shape: %s", co)
	}
	coHandle := co.header.Get("electric-handle")
	base := "/v1/shape?table=items&log=changes_only&handle=" + url.QueryEscape(coHandle) + "&offset=" + co.header.Get("electric-offset")
	check("GET subset__where", f.get(base+"&subset__where="+url.QueryEscape("id > $1")+"&subset__params="+url.QueryEscape(`{"1":"7"}`)+"&subset__order_by=id", nil), []string{"8", "9", "10"})
	check("GET subset__limit", f.get(base+"&subset__order_by="+url.QueryEscape("id DESC")+"&subset__limit=2&subset__offset=1", nil), []string{"9", "8"})
	check("POST body", rawDo(t, addrOf(f.srv), http.MethodPost, base, nil, `{"where":"title = $1 OR id = $2","params":{"1":"item 3","2":"5"},"order_by":"id"}`), []string{"3", "5"})
	check("POST nested subset", rawDo(t, addrOf(f.srv), http.MethodPost, base, nil, `{"subset":{"where":"id < 3","order_by":"id DESC"}}`), []string{"2", "1"})
	// A POST without subset keys is an ordinary shape-log request, no-cache.
	r := rawDo(t, addrOf(f.srv), http.MethodPost, "/v1/shape?table=items&offset=-1", nil, "")
	if r.status != 200 || cacheControl(r) != "no-cache" || !strings.HasPrefix(r.body, "[") {
		t.Errorf("POST without a subset: %s, want a 200 shape-log response with cache-control no-cache", r)
	}
	// Limit without order_by is a 400 naming subset.order_by.
	if r := f.get(base+"&subset__limit=2", nil); r.status != 400 || !strings.Contains(r.body, "order_by") {
		t.Errorf("subset__limit without order_by: %s, want 400 about order_by", r)
	}
}

// TestCompatHTTPRepeatedParamsLastWins: a query parameter given twice takes
// its last value, as Electric's query parser (Plug.Conn.Query) does. An
// auth proxy that appends its own `where`, `table` or `secret` to the
// client's query string relies on this: with "first wins" the client's own
// earlier value would be used instead.
func TestCompatHTTPRepeatedParamsLastWins(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL);
		CREATE TABLE other (id int PRIMARY KEY, secret text);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 10) i;
		INSERT INTO other VALUES (1, 'OTHERTABLEROW');`)
	const secret = "hunter2"
	srv := startServer(t, dbURL, "ELECTRIC_INSECURE=false", "ELECTRIC_SECRET="+secret)
	addr := addrOf(srv)
	ids := func(body string) []string {
		var msgs []struct {
			Value map[string]string `json:"value"`
		}
		json.Unmarshal([]byte(body), &msgs)
		var out []string
		for _, m := range msgs {
			if id, ok := m.Value["id"]; ok {
				out = append(out, id)
			}
		}
		return out
	}
	for _, c := range []struct {
		name, query string
		status      int
		check       func(*rawResp) string
	}{
		{"table", "table=other&table=items&offset=-1&secret=" + secret, 200, func(r *rawResp) string {
			if strings.Contains(r.body, "OTHERTABLEROW") || len(ids(r.body)) != 10 {
				return "served the first table, not the last"
			}
			return ""
		}},
		{"where", "table=items&offset=-1&where=" + url.QueryEscape("id >= 1") + "&where=" + url.QueryEscape("id > 8") + "&secret=" + secret, 200, func(r *rawResp) string {
			if got := fmt.Sprint(ids(r.body)); got != "[9 10]" {
				return "rows " + got + ", want [9 10] (the last where)"
			}
			return ""
		}},
		{"secret wrong then right", "table=items&offset=-1&secret=wrong&secret=" + secret, 200, nil},
		{"secret right then wrong", "table=items&offset=-1&secret=" + secret + "&secret=wrong", 401, nil},
	} {
		r := rawDo(t, addr, http.MethodGet, "/v1/shape?"+c.query, nil, "")
		if r.status != c.status {
			t.Errorf("%s: ?%s → %d, want %d (last value wins): %s", c.name, c.query, r.status, c.status, r)
			continue
		}
		if c.check != nil {
			if msg := c.check(r); msg != "" {
				t.Errorf("%s: ?%s: %s: %s", c.name, c.query, msg, r)
			}
		}
	}
}
