package e2e

// Galvani behind a real nginx cache (e2e/nginx/galvani.conf.tmpl, the
// config the README shows): identical requests from many clients collapse
// into a few requests to Galvani, for the initial snapshot and for every
// live step; If-None-Match revalidates to 304 through the cache; SSE streams
// through unbuffered.

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

const nginxInstallHint = "install it: scripts/install-test-deps.sh (apt-get install nginx-light)"

// nginxProc is a running nginx in front of one Galvani server.
type nginxProc struct {
	t      *testing.T
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	out    lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// nginxBinary finds nginx: /usr/sbin/nginx (Debian's package) or PATH.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	p, err := exec.LookPath("nginx")
	if err != nil {
		t.Fatalf("nginx not found (/usr/sbin/nginx or PATH); %s", nginxInstallHint)
	}
	return p
}

// renderNginxConf fills the template's placeholders.
func renderNginxConf(t *testing.T, prefix, listen, upstream string) string {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join(compatDir(t), "..", "nginx", "galvani.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.NewReplacer("{{PREFIX}}", prefix, "{{LISTEN}}", listen, "{{UPSTREAM}}", upstream).Replace(string(tmpl))
	if strings.Contains(conf, "{{") {
		t.Fatalf("unreplaced placeholder in the nginx config:\n%s", conf)
	}
	return conf
}

// startNginx runs nginx (not as a daemon, as a child of the test) on a
// free loopback port in front of srv.
func startNginx(t *testing.T, srv *server) *nginxProc {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	for _, d := range []string{"tmp", "cache"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n := &nginxProc{t: t, dir: dir, port: freePort(t), exited: make(chan struct{})}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(renderNginxConf(t, dir, "127.0.0.1:"+strconv.Itoa(n.port), addrOf(srv))), 0o644); err != nil {
		t.Fatal(err)
	}
	globals := "daemon off;"
	if os.Geteuid() == 0 {
		// Workers would otherwise switch to an unprivileged user that cannot
		// write the test's temp directory.
		globals += " user root;"
	}
	n.cmd = exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", globals)
	n.cmd.Stdout, n.cmd.Stderr = &n.out, &n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	go func() { n.cmd.Wait(); close(n.exited) }()
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.exited
		}
		if t.Failed() {
			t.Logf("nginx output:\n%s\nerror.log:\n%s\naccess.log (last 60 lines):\n%s", n.out.String(), n.file("error.log"), lastLines(n.file("access.log"), 60))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(n.url("/v1/health"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
		select {
		case <-n.exited:
			t.Fatalf("nginx exited: %s\n%s", n.out.String(), n.file("error.log"))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not serving after 15s: %v\n%s", err, n.file("error.log"))
		}
	}
}

func (n *nginxProc) url(path string) string { return "http://127.0.0.1:" + strconv.Itoa(n.port) + path }

func (n *nginxProc) file(name string) string {
	b, _ := os.ReadFile(filepath.Join(n.dir, name))
	return string(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// upstreamRequests returns the lines of upstream.log (one per request that
// reached Galvani) whose request URI is target.
func (n *nginxProc) upstreamRequests(target string) []string {
	var out []string
	for _, line := range strings.Split(n.file("upstream.log"), "\n") {
		if strings.Contains(line, ` "`+target+`" `) {
			out = append(out, line)
		}
	}
	return out
}

// fanOut fetches target through nginx from clients concurrent HTTP clients
// released together, and returns their responses. trigger, when set, runs
// once every request is in flight (after a pause that lets nginx queue
// them), e.g. to make the change a live request waits for.
type fanResult struct {
	status  int
	header  http.Header
	bodySum [32]byte
	body    string
	err     error
}

func fanOut(t *testing.T, n *nginxProc, target string, clients int, trigger func()) []fanResult {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	results := make([]fanResult, clients)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(clients)
	done.Add(clients)
	for i := range clients {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			resp, err := hc.Get(n.url(target))
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results[i] = fanResult{status: resp.StatusCode, header: resp.Header, bodySum: sha256.Sum256(b), body: string(b), err: err}
		}()
	}
	ready.Wait()
	close(start)
	if trigger != nil {
		time.Sleep(1500 * time.Millisecond)
		trigger()
	}
	finished := make(chan struct{})
	go func() { done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(90 * time.Second):
		t.Fatalf("%d clients fetching %s did not all finish in 90s", clients, target)
	}
	return results
}

// checkFanOut requires every response to be the same 200 and at most
// maxUpstream requests for target to have reached Galvani.
func checkFanOut(t *testing.T, n *nginxProc, target string, results []fanResult, maxUpstream int) fanResult {
	t.Helper()
	var first fanResult
	caches := map[string]int{}
	for i, r := range results {
		if r.err != nil || r.status != 200 {
			t.Fatalf("client %d: %v status %d body %.300s", i, r.err, r.status, r.body)
		}
		if i == 0 {
			first = r
		} else if r.bodySum != first.bodySum || r.header.Get("electric-offset") != first.header.Get("electric-offset") {
			t.Fatalf("client %d got a different response than client 0:\n%.300s\nvs\n%.300s", i, r.body, first.body)
		}
		caches[r.header.Get("X-Proxy-Cache")]++
	}
	up := n.upstreamRequests(target)
	t.Logf("%s: %d clients, %d upstream requests, X-Proxy-Cache %v:\n%s", target, len(results), len(up), caches, strings.Join(up, "\n"))
	if len(up) == 0 {
		t.Fatalf("no upstream request logged for %s: the count is broken", target)
	}
	if len(up) > maxUpstream {
		t.Errorf("%d clients fetching %s made %d requests to Galvani, want ≤ %d:\n%s", len(results), target, len(up), maxUpstream, strings.Join(up, "\n"))
	}
	return first
}

func newNginxFixture(t *testing.T, rows int) (*server, *nginxProc, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and nginx")
	}
	nginxBinary(t) // fail before any setup when nginx is missing
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, fmt.Sprintf(`CREATE TABLE items (id int PRIMARY KEY, title text NOT NULL, body text);
		INSERT INTO items SELECT i, 'item ' || i, repeat('x', 200) FROM generate_series(1, %d) i;`, rows))
	srv := startServer(t, dbURL, "ELECTRIC_LONG_POLL_TIMEOUT=20s")
	return srv, startNginx(t, srv), dbURL
}

const nginxClients = 200

// TestNginxCollapsesInitialRequests: 200 clients asking for a new shape's
// offset=-1 at once, then for its next chunk, reach Galvani a few times.
func TestNginxCollapsesInitialRequests(t *testing.T) {
	_, n, _ := newNginxFixture(t, 2000)
	target := "/v1/shape?offset=-1&table=items"
	start := time.Now()
	res := fanOut(t, n, target, nginxClients, nil)
	t.Logf("offset=-1 for %d clients took %v", nginxClients, time.Since(start))
	first := checkFanOut(t, n, target, res, 3)
	handle, off := first.header.Get("electric-handle"), first.header.Get("electric-offset")
	if handle == "" || off == "" {
		t.Fatalf("offset=-1 through nginx lacks electric headers: %v", first.header)
	}
	// The next step of the walk collapses too.
	next := "/v1/shape?handle=" + url.QueryEscape(handle) + "&offset=" + off + "&table=items"
	checkFanOut(t, n, next, fanOut(t, n, next, nginxClients, nil), 3)
}

// TestNginxCollapsesLiveRequests: 200 clients long-polling the same
// handle/offset/cursor URL are answered, when a change arrives, from a few
// requests to Galvani; three live steps in a row.
func TestNginxCollapsesLiveRequests(t *testing.T) {
	srv, n, dbURL := newNginxFixture(t, 100)
	handle, head := walkToHead(t, srv.url)
	cursor := ""
	for step := range 3 {
		target := "/v1/shape?"
		if cursor != "" {
			target += "cursor=" + cursor + "&"
		}
		target += "handle=" + url.QueryEscape(handle) + "&live=true&offset=" + head + "&table=items"
		title := fmt.Sprintf("live step %d", step)
		res := fanOut(t, n, target, nginxClients, func() {
			pgtest.Exec(t, dbURL, fmt.Sprintf(`INSERT INTO items VALUES (%d, '%s', NULL)`, 1000+step, title))
		})
		first := checkFanOut(t, n, target, res, 3)
		if !strings.Contains(first.body, title) {
			t.Fatalf("step %d: live response lacks the change: %.500s", step, first.body)
		}
		head, cursor = first.header.Get("electric-offset"), first.header.Get("electric-cursor")
		if cursor == "" {
			t.Fatalf("step %d: live response through nginx lacks electric-cursor", step)
		}
	}
}

// walkToHead follows the shape from offset=-1 directly on Galvani and
// returns its handle and head offset.
func walkToHead(t *testing.T, u func(string) string) (string, string) {
	t.Helper()
	get := func(path string) *http.Response {
		resp, err := http.Get(u(path))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		return resp
	}
	r := get("/v1/shape?table=items&offset=-1")
	handle, off := r.Header.Get("electric-handle"), r.Header.Get("electric-offset")
	for range 100 {
		r = get("/v1/shape?table=items&handle=" + url.QueryEscape(handle) + "&offset=" + off)
		off = r.Header.Get("electric-offset")
		if _, ok := r.Header["Electric-Up-To-Date"]; ok {
			return handle, off
		}
	}
	t.Fatal("no up-to-date after 100 requests")
	return "", ""
}

// TestNginxRevalidatesETag: If-None-Match gets a 304 through the cache, for
// a response nginx holds and for one it fetches on the way.
func TestNginxRevalidatesETag(t *testing.T) {
	srv, n, _ := newNginxFixture(t, 100)
	addr := "127.0.0.1:" + strconv.Itoa(n.port)
	initial := "/v1/shape?offset=-1&table=items"
	r1 := rawDo(t, addr, http.MethodGet, initial, nil, "")
	etag := r1.header.Get("etag")
	if r1.status != 200 || etag == "" {
		t.Fatalf("offset=-1 through nginx: %s", r1)
	}
	r2 := rawDo(t, addr, http.MethodGet, initial, nil, "")
	if r2.status != 200 || r2.header.Get("X-Proxy-Cache") != "HIT" || r2.body != r1.body {
		t.Errorf("second offset=-1 through nginx: %s, want the same 200 from the cache (X-Proxy-Cache: HIT)", r2)
	}
	// (nginx compares If-None-Match itself for cached responses, and only
	// quoted entity tags, so the unquoted forms Galvani accepts are not tried.)
	for _, inm := range []string{etag, `"other", ` + etag, `"other"` + "," + etag} {
		r := rawDo(t, addr, http.MethodGet, initial, http.Header{"If-None-Match": {inm}}, "")
		if r.status != 304 || r.body != "" {
			t.Errorf("If-None-Match %s through nginx: %s, want 304 with no body", inm, r)
		}
	}
	if r := rawDo(t, addr, http.MethodGet, initial, http.Header{"If-None-Match": {`"nope"`}}, ""); r.status != 200 {
		t.Errorf("non-matching If-None-Match through nginx: %s, want 200", r)
	}
	// A URL nginx has not cached yet: the etag comes from Galvani directly.
	handle := r1.header.Get("electric-handle")
	next := "/v1/shape?handle=" + url.QueryEscape(handle) + "&offset=" + r1.header.Get("electric-offset") + "&table=items"
	direct := rawDo(t, addrOf(srv), http.MethodGet, next, nil, "")
	if direct.status != 200 {
		t.Fatalf("catch-up on Galvani: %s", direct)
	}
	if r := rawDo(t, addr, http.MethodGet, next, http.Header{"If-None-Match": {direct.header.Get("etag")}}, ""); r.status != 304 {
		t.Errorf("catch-up with Galvani's etag through nginx: %s, want 304", r)
	}
	if r := rawDo(t, addr, http.MethodGet, next, nil, ""); r.status != 200 || r.body != direct.body || r.header.Get("X-Proxy-Cache") != "HIT" {
		t.Errorf("catch-up through nginx after the revalidation: %s, want Galvani's 200 body from the cache", r)
	}
	if up := n.upstreamRequests(initial); len(up) != 1 {
		t.Errorf("offset=-1 reached Galvani %d times through nginx, want 1:\n%s", len(up), strings.Join(up, "\n"))
	}
}

// TestNginxStreamsSSE: an SSE request through nginx delivers each change
// while the stream is open (no buffering until the stream ends), and the
// official client in SSE mode follows changes through nginx without
// falling back to long-polling.
func TestNginxStreamsSSE(t *testing.T) {
	srv, n, dbURL := newNginxFixture(t, 100)
	handle, head := walkToHead(t, srv.url)
	addr := "127.0.0.1:" + strconv.Itoa(n.port)
	target := "/v1/shape?cursor=1&handle=" + url.QueryEscape(handle) + "&live=true&live_sse=true&offset=" + head + "&table=items"
	type result struct {
		r     *rawResp
		gotAt time.Time
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var gotAt time.Time
		r, err := rawExchange(addr, http.MethodGet, target, nil, "", func(b string) bool {
			if strings.Contains(b, "sse through nginx") && strings.Contains(b, `"up-to-date"`) {
				gotAt = time.Now()
				return true
			}
			return false
		})
		done <- result{r, gotAt, err}
	}()
	time.Sleep(time.Second)
	changedAt := time.Now()
	pgtest.Exec(t, dbURL, `INSERT INTO items VALUES (5000, 'sse through nginx', NULL)`)
	var res result
	select {
	case res = <-done:
	case <-time.After(70 * time.Second):
		t.Fatal("SSE request through nginx did not finish")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	r := res.r
	if res.gotAt.IsZero() {
		t.Fatalf("the SSE stream through nginx ended before delivering the change: %s", r)
	}
	if lag := res.gotAt.Sub(changedAt); lag > 5*time.Second {
		t.Errorf("change arrived over SSE through nginx %v after the commit: buffered?", lag)
	}
	if ct := r.header.Get("content-type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("SSE through nginx: content-type %q", ct)
	}
	if !strings.HasPrefix(r.body, "data: ") {
		t.Errorf("SSE body through nginx: %.200q", r.body)
	}
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "data: ") && !strings.HasPrefix(l, ":") {
			t.Errorf("SSE line through nginx is not an event: %q", l)
		}
	}

	// The official client, in SSE mode, through nginx.
	conn := connect(t, dbURL)
	types := map[string]colType{"id": {"int4", 0}, "title": {"text", 0}, "body": {"text", 0}}
	p := startNode(t, "client.mjs", map[string]any{"url": n.url("/v1/shape"), "shapes": []any{
		map[string]any{"name": "items", "params": map[string]any{"table": "items"}, "liveSse": true},
	}})
	if _, got := waitUpToDate(t, p, "items", 60*time.Second); diffJSRows(got, expectedJSRows(t, conn, "public", "items", []string{"id"}, types, nil)) != "" {
		t.Fatalf("client through nginx: initial rows differ:\n%s", diffJSRows(got, expectedJSRows(t, conn, "public", "items", []string{"id"}, types, nil)))
	}
	for i := range 5 {
		time.Sleep(300 * time.Millisecond)
		pgtest.Exec(t, dbURL, fmt.Sprintf(`UPDATE items SET title = 'sse %d' WHERE id = %d; INSERT INTO items VALUES (%d, 'new', NULL)`, i, i+1, 6000+i))
		convergeRows(t, p, "items", 30*time.Second, expectedJSRows(t, conn, "public", "items", []string{"id"}, types, nil))
	}
	var sse, longPoll int
	for _, u := range requestsOf(t, p) {
		q := mustQuery(t, u)
		switch {
		case q.Get("live") == "true" && q.Get("live_sse") == "true":
			sse++
		case q.Get("live") == "true":
			longPoll++
		}
	}
	if sse == 0 || longPoll > 0 {
		t.Errorf("client through nginx made %d SSE and %d long-poll live requests; want SSE only (it falls back after short SSE connections, e.g. when a proxy buffers)", sse, longPoll)
	}
	if f := p.failures(); len(f) > 0 {
		t.Errorf("client through nginx reported failures: %v", f)
	}
}

// TestNginxConfigInREADME keeps the README's nginx example identical to the
// template the tests run.
func TestNginxConfigInREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(compatDir(t), "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(compatDir(t), "..", "nginx", "galvani.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i, j := strings.Index(s, "<!-- nginx-example -->"), strings.Index(s, "<!-- /nginx-example -->")
	if i < 0 || j < i {
		t.Fatal("README.md lacks the <!-- nginx-example --> … <!-- /nginx-example --> section")
	}
	if !strings.Contains(s[i:j], "```nginx\n"+string(tmpl)+"```") {
		t.Errorf("the nginx config in README.md differs from e2e/nginx/galvani.conf.tmpl; paste the template between the markers in a ```nginx block")
	}
}
