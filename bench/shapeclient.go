package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/galvani-sync/galvani/client"
)

// newHTTPClient returns a client keeping up to conns idle connections to
// one host.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
}

// ShapeQuery names a shape: a table and an optional where clause with
// positional parameters.
type ShapeQuery struct {
	Table  string
	Where  string
	Params []string
}

func (q ShapeQuery) values() url.Values {
	v := url.Values{"table": {q.Table}}
	if q.Where != "" {
		v.Set("where", q.Where)
	}
	for i, p := range q.Params {
		v.Set("params["+strconv.Itoa(i+1)+"]", p)
	}
	return v
}

// ShapeResponse is what one shape request returned.
type ShapeResponse struct {
	Handle, Offset string
	UpToDate       bool
	Body           []byte
}

// getShape issues one GET /v1/shape.
func getShape(ctx context.Context, c *http.Client, s *Server, q ShapeQuery, handle, offset string, live bool) (ShapeResponse, error) {
	v := q.values()
	v.Set("offset", offset)
	if handle != "" {
		v.Set("handle", handle)
	}
	if live {
		v.Set("live", "true")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL("/v1/shape?"+v.Encode()), nil)
	if err != nil {
		return ShapeResponse{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return ShapeResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return ShapeResponse{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return ShapeResponse{}, fmt.Errorf("GET /v1/shape?%s: %s: %.300s", v.Encode(), resp.Status, body)
	}
	_, upToDate := resp.Header["Electric-Up-To-Date"]
	return ShapeResponse{
		Handle:   resp.Header.Get("electric-handle"),
		Offset:   resp.Header.Get("electric-offset"),
		UpToDate: upToDate,
		Body:     body,
	}, nil
}

// SyncResult is a shape read from offset -1 to up-to-date.
type SyncResult struct {
	Handle, Offset string
	Rows           int   // messages carrying a value
	Bytes          int64 // response bytes
	Requests       int
	// ClientCPU is the CPU time this process spent while reading and
	// decoding (user + system), when the messages were parsed.
	ClientCPU time.Duration
}

// syncShape reads a shape from the start until up-to-date. With parse,
// it reads as an application does, with the Go client (package client):
// every message decoded, row values included, and the next chunk
// prefetched while one is decoded. Without, it only fetches the bodies.
func syncShape(ctx context.Context, c *http.Client, s *Server, q ShapeQuery, parse bool) (SyncResult, error) {
	if parse {
		return syncShapeClient(ctx, c, s, q)
	}
	r := SyncResult{Offset: "-1"}
	for {
		resp, err := getShape(ctx, c, s, q, r.Handle, r.Offset, false)
		if err != nil {
			return r, err
		}
		r.Requests++
		r.Bytes += int64(len(resp.Body))
		r.Handle, r.Offset = resp.Handle, resp.Offset
		if resp.UpToDate {
			return r, nil
		}
	}
}

// syncShapeClient is syncShape with the Go client.
func syncShapeClient(ctx context.Context, c *http.Client, s *Server, q ShapeQuery) (SyncResult, error) {
	var r SyncResult
	tr := &countingTransport{rt: c.Transport}
	if tr.rt == nil {
		tr.rt = http.DefaultTransport
	}
	// A benchmark does not retry: the first error the client would retry
	// ends the sync.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var retryErr error
	gc := &client.Client{
		BaseURL:    s.URL(""),
		HTTPClient: &http.Client{Transport: tr},
		OnRetry:    func(err error, _ int, _ time.Duration) { retryErr = err; cancel() },
	}
	st, err := gc.Stream(client.ShapeRequest{Table: q.Table, Where: q.Where, Params: q.Params})
	if err != nil {
		return r, err
	}
	defer st.Close()
	cpu0 := processCPU()
	for {
		b, err := st.Next(ctx)
		if retryErr != nil {
			return r, retryErr
		}
		if err != nil {
			return r, err
		}
		if b.MustRefetch {
			return r, fmt.Errorf("shape %s: must-refetch during the initial sync", b.Handle)
		}
		for i := range b.Messages {
			if b.Messages[i].Value != nil {
				r.Rows++
			}
		}
		if b.UpToDate {
			r.ClientCPU = processCPU() - cpu0
			r.Handle, r.Offset = b.Handle, b.Offset
			r.Requests, r.Bytes = int(tr.requests.Load()), tr.bytes.Load()
			return r, nil
		}
	}
}

// countingTransport counts requests and the response body bytes read.
type countingTransport struct {
	rt              http.RoundTripper
	requests, bytes atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	t.requests.Add(1)
	resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.bytes}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// processCPU returns the CPU time (user + system) this process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// createShapes creates one shape per query with workers concurrent
// requests, stopping early (without error) at deadline when it is not
// zero, and returns how many it created.
func createShapes(ctx context.Context, e *Env, s *Server, queries []ShapeQuery, workers int, deadline time.Time) (int, error) {
	c := newHTTPClient(workers)
	defer c.CloseIdleConnections()
	var next, done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				if !deadline.IsZero() && time.Now().After(deadline) {
					return
				}
				i := int(next.Add(1) - 1)
				if i >= len(queries) || ctx.Err() != nil {
					return
				}
				var err error
				for attempt := 0; attempt < 3; attempt++ {
					if _, err = getShape(ctx, c, s, queries[i], "", "-1", false); err == nil || ctx.Err() != nil {
						break
					}
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				if n := done.Add(1); n%10000 == 0 {
					e.Logf("  %s: %d shapes created (%.0f/s)", s.Name, n, float64(n)/time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return int(done.Load()), firstErr
	}
	if err := ctx.Err(); err != nil && !errors.Is(err, context.Canceled) {
		return int(done.Load()), err
	}
	return int(done.Load()), nil
}
