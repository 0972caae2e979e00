package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// fanoutConns is the load generator's concurrent connections.
const fanoutConns = 64

// runFanout measures cached fan-out: nginx with proxy_cache in front of
// Galvani, cache warm, serving one shape URL (the initial response of a
// 200-row shape) to many concurrent keep-alive connections, against the
// same nginx serving the same body bytes as a static file. Rounds
// alternate; each lasts a fixed time.
func runFanout(ctx context.Context, e *Env, r *Report) error {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return errors.New("nginx not found: install it (Debian: apt-get install -y nginx-light); `make bench` does")
		}
		nginx = "/usr/sbin/nginx"
	}
	const db = "fanout"
	dbURL, err := e.CreateDB(ctx, db)
	if err != nil {
		return err
	}
	defer e.DropDB(ctx, db)
	if err := Exec(ctx, dbURL, fmt.Sprintf(`%s; INSERT INTO items SELECT %s FROM generate_series(1, 200) g`, syncTable, syncRow)); err != nil {
		return err
	}
	srv, err := e.NewServer("fanout", dbURL, "fanout")
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.WaitActive(ctx); err != nil {
		return err
	}
	c := newHTTPClient(1)
	defer c.CloseIdleConnections()
	first, err := getShape(ctx, c, srv, ShapeQuery{Table: "items"}, "", "-1", false)
	if err != nil {
		return err
	}

	dir := filepath.Join(e.Dir, "nginx")
	if err := os.MkdirAll(filepath.Join(dir, "static"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "static", "shape.json"), first.Body, 0o644); err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(`user root;
worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	keepalive_requests 10000000;
	default_type application/json;
	client_body_temp_path %[1]s/client_body;
	proxy_temp_path %[1]s/proxy_temp;
	fastcgi_temp_path %[1]s/fastcgi_temp;
	uwsgi_temp_path %[1]s/uwsgi_temp;
	scgi_temp_path %[1]s/scgi_temp;
	proxy_cache_path %[1]s/cache levels=1:2 keys_zone=shapes:10m max_size=1g inactive=60m use_temp_path=off;
	upstream galvani { server 127.0.0.1:%[2]d; keepalive 32; }
	server {
		listen 127.0.0.1:%[3]d;
		location /static/ { root %[1]s; }
		location /v1/shape {
			proxy_pass http://galvani;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_cache shapes;
			proxy_cache_lock on;
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
}
`, dir, srv.Port, port)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(nginx, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, _ := os.Create(filepath.Join(dir, "nginx.out"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nginx: %w", err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful: workers finish, master exits
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		out.Close()
	}()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := waitListening(ctx, addr); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return fmt.Errorf("nginx: %w\n%s", err, b)
	}
	staticPath := "/static/shape.json"
	cachedPath := "/v1/shape?table=items&offset=-1"
	// Warm the cache and check both paths serve the same body.
	for _, p := range []string{cachedPath, staticPath} {
		body, _, err := fetch(ctx, c, "http://"+addr+p)
		if err != nil {
			return err
		}
		if string(body) != string(first.Body) {
			return fmt.Errorf("nginx served a different body for %s", p)
		}
	}
	if _, status, err := fetch(ctx, c, "http://"+addr+cachedPath); err != nil || status != "HIT" {
		return fmt.Errorf("nginx cache not warm: X-Cache-Status %q, %v", status, err)
	}

	staticHdr, err := headerBlock(addr, staticPath)
	if err != nil {
		return err
	}
	cachedHdr, err := headerBlock(addr, cachedPath)
	if err != nil {
		return err
	}
	if os.Getenv("BENCH_DEBUG") != "" {
		e.Logf("static headers:\n%s\ncached headers:\n%s", staticHdr, cachedHdr)
	}

	dur := time.Duration(float64(4*time.Second) * min(max(e.Scale, 0.5), 2))
	const rounds = 3
	var static, cached []float64
	var misses int64
	for i := range rounds {
		s, err := loadgen(ctx, addr, staticPath, fanoutConns, dur)
		if err != nil {
			return err
		}
		cr, err := loadgen(ctx, addr, cachedPath, fanoutConns, dur)
		if err != nil {
			return err
		}
		static = append(static, s.rate())
		cached = append(cached, cr.rate())
		misses += cr.notHit
		e.Logf("  round %d: static %.0f req/s, proxy_cache %.0f req/s", i+1, s.rate(), cr.rate())
	}
	b, g := medianF(static), medianF(cached)
	note := fmt.Sprintf("%d keep-alive connections, %d rounds of %s each, alternating (static %s; cached %s req/s); body %.1f KiB, response headers %d B static vs %d B cached",
		fanoutConns, rounds, dur, floats(static), floats(cached), float64(len(first.Body))/1024, len(staticHdr), len(cachedHdr))
	if misses > 0 {
		note += fmt.Sprintf("; WARNING: %d cached responses were not cache HITs", misses)
	}
	r.Results = append(r.Results, Result{
		Benchmark: "Cached fan-out through nginx proxy_cache (warm)",
		Baseline:  "nginx serving the same bytes as a static file",
		Unit:      "req/s", BaselineValue: b, Value: g, Ratio: ratio(g, b),
		Target: "≥ 0.8× baseline", Met: met(g >= 0.8*b),
		Note:  note,
		Extra: map[string]float64{"body_bytes": float64(len(first.Body)), "conns": fanoutConns, "round_s": dur.Seconds()},
	})
	return nil
}

// headerBlock returns the raw response header block nginx sends for path.
func headerBlock(addr, path string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n\r\n")); err != nil {
		return "", err
	}
	br := bufio.NewReader(conn)
	var hdr []byte
	for {
		line, err := br.ReadBytes('\n')
		hdr = append(hdr, line...)
		if err != nil {
			return string(hdr), err
		}
		if len(line) <= 2 {
			return string(hdr), nil
		}
	}
}

func waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after 10s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func fetch(ctx context.Context, c *http.Client, url string) ([]byte, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return b, resp.Header.Get("X-Cache-Status"), err
}

type loadStats struct {
	requests int64
	notHit   int64
	elapsed  time.Duration
}

func (s loadStats) rate() float64 { return float64(s.requests) / s.elapsed.Seconds() }

// loadgen runs conns keep-alive connections, each issuing GET path back to
// back for dur, and counts complete responses.
func loadgen(ctx context.Context, addr, path string, conns int, dur time.Duration) (loadStats, error) {
	var total, notHit atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	start := time.Now()
	deadline := start.Add(dur)
	for range conns {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				once.Do(func() { firstErr = err })
				return
			}
			defer conn.Close()
			conn.SetDeadline(deadline.Add(10 * time.Second))
			br := bufio.NewReaderSize(conn, 64<<10)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err := conn.Write(req); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					once.Do(func() { firstErr = fmt.Errorf("GET %s: %s %v", path, resp.Status, err) })
					return
				}
				if s := resp.Header.Get("X-Cache-Status"); s != "" && s != "HIT" {
					notHit.Add(1)
				}
				total.Add(1)
			}
		})
	}
	wg.Wait()
	return loadStats{requests: total.Load(), notHit: notHit.Load(), elapsed: time.Since(start)}, firstErr
}

func medianF(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func floats(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += ", "
		}
		s += groupThousands(int64(x))
	}
	return s
}
