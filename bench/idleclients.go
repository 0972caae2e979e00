package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// portsPerSource bounds the connections opened from one loopback source
// address: the ephemeral port range holds about 28,000 ports per
// (source, destination) pair.
const portsPerSource = 25_000

// fdMargin is the file descriptors left for everything but idle clients
// or shapes when RLIMIT_NOFILE caps them.
const fdMargin = 600

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT: a socket bound
// to a source address gets its port at connect time, which is fast, not
// at bind time, which scans the port range and slows down as it fills.
const ipBindAddressNoPort = 24

func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// runIdleClients opens N idle live long-polls (100,000 at scale 1) on one
// shape and reads the server's RSS: with none (baseline) and with all of
// them waiting. Client sockets are bound to 127.0.0.2, 127.0.0.3, … (all
// loopback) so the ephemeral ports suffice. Requests are written on raw
// connections, so the load generator holds a socket, not a goroutine, per
// client. Everything is closed at the end; the long-poll timeout (10
// minutes) is a safety net, never reached.
func runIdleClients(ctx context.Context, e *Env, r *Report) error {
	want := e.Scaled(100_000, 1000)
	fdLimited := false
	if lim := int(FileLimit()); lim-fdMargin < want {
		// Each client is a socket in this process and in the server.
		e.Logf("RLIMIT_NOFILE %d limits the clients to %d", lim, lim-fdMargin)
		want, fdLimited = lim-fdMargin, true
	}
	const db = "idle_clients"
	dbURL, err := e.CreateDB(ctx, db)
	if err != nil {
		return err
	}
	defer e.DropDB(ctx, db)
	if err := Exec(ctx, dbURL, `CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL);
		INSERT INTO items SELECT g, 'value ' || g FROM generate_series(1, 10) g`); err != nil {
		return err
	}
	srv, err := e.NewServer("idleclients", dbURL, "idleclients", "ELECTRIC_LONG_POLL_TIMEOUT=600s")
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
	res, err := syncShape(ctx, c, srv, ShapeQuery{Table: "items"}, false)
	c.CloseIdleConnections()
	if err != nil {
		return err
	}
	if err := pause(ctx, settle); err != nil {
		return err
	}
	rss0, err := srv.RSS()
	if err != nil {
		return err
	}

	request := []byte("GET /v1/shape?table=items&handle=" + res.Handle + "&offset=" + res.Offset + "&live=true HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	target := "127.0.0.1:" + strconv.Itoa(srv.Port)
	conns := make([]net.Conn, want)
	var next, opened, failed atomic.Int64
	var firstErr error
	var errOnce sync.Once
	t0 := time.Now()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for ctx.Err() == nil && failed.Load() < 100 {
				i := int(next.Add(1) - 1)
				if i >= want {
					return
				}
				src := net.IPv4(127, 0, 0, byte(2+i/portsPerSource))
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second, Control: bindNoPort}
				conn, err := d.DialContext(ctx, "tcp", target)
				if err == nil {
					if _, err = conn.Write(request); err != nil {
						conn.Close()
					}
				}
				if err != nil {
					failed.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				conns[i] = conn
				if n := opened.Add(1); n%20000 == 0 {
					e.Logf("  %d clients connected", n)
				}
			}
		})
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	dialTime := time.Since(t0)
	n := int(opened.Load())
	e.Logf("  %d connections in %.1fs (%d failed: %v)", n, dialTime.Seconds(), failed.Load(), firstErr)

	// Wait until the server holds them all as waiting long-polls.
	var waiting float64
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if waiting, err = srv.Metric(ctx, "galvani_clients_waiting"); err == nil && int(waiting) >= n {
			break
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	if err := pause(ctx, settle); err != nil {
		return err
	}
	rssN, err := srv.RSS()
	if err != nil {
		return err
	}
	waiting, _ = srv.Metric(ctx, "galvani_clients_waiting")
	e.Logf("  %0.f waiting, RSS %.0f MiB", waiting, mib(rssN))
	if !srv.Running() {
		return fmt.Errorf("galvani exited under %d clients:\n%s", n, srv.LogTail())
	}

	per := float64(rssN-rss0) / 1024 / max(waiting, 1)
	at100k := float64(rss0)/(1<<30) + per*100_000/(1<<20) // GiB
	ok := int(waiting) >= 100_000 && rssN <= 2<<30
	note := fmt.Sprintf("%0.f of %d clients waiting (%d opened in %.1fs); RSS %.0f MiB → %.1f KiB per client; %.2f GiB at 100,000 by that rate; ratio = RSS with clients / RSS without",
		waiting, want, n, dialTime.Seconds(), mib(rssN), per, at100k)
	switch {
	case fdLimited:
		ok = at100k <= 2
		note += fmt.Sprintf("; the open-file limit (RLIMIT_NOFILE %d, not raisable here) caps the clients, so the target is judged on the extrapolation", FileLimit())
	case e.Scale < 1:
		ok = at100k <= 2
		note += "; below scale 1 the target is judged on the extrapolation"
	}
	if failed.Load() > 0 {
		note += fmt.Sprintf("; %d connections failed, first: %v", failed.Load(), firstErr)
	}
	r.Results = append(r.Results, Result{
		Benchmark:     fmt.Sprintf("Idle live long-poll clients: %s", groupThousands(int64(waiting))),
		Baseline:      "idle server RSS, 0 clients",
		BaselineValue: mib(rss0), BaselineUnit: "MiB",
		Value: per, Unit: "KiB/client",
		Ratio:  ratio(float64(rssN), float64(rss0)),
		Target: "≥ 100,000 clients within 2 GiB",
		Met:    met(ok),
		Note:   note,
		Extra: map[string]float64{"clients": waiting, "opened": float64(n), "rss0_mib": mib(rss0), "rss_mib": mib(rssN),
			"kib_per_client": per, "gib_at_100k": at100k, "dial_s": dialTime.Seconds()},
	})
	return nil
}
