package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
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

// message is one element of a shape response, parsed the way a client
// does.
type message struct {
	Key     string             `json:"key"`
	Value   map[string]*string `json:"value"`
	Headers struct {
		Operation string `json:"operation"`
		Control   string `json:"control"`
	} `json:"headers"`
}

// SyncResult is a shape read from offset -1 to up-to-date.
type SyncResult struct {
	Handle, Offset string
	Rows           int   // messages carrying a value
	Bytes          int64 // response bytes
	Requests       int
	Parse          time.Duration // spent parsing JSON
}

// syncShape reads a shape from the start until up-to-date, parsing every
// message when parse is set.
func syncShape(ctx context.Context, c *http.Client, s *Server, q ShapeQuery, parse bool) (SyncResult, error) {
	r := SyncResult{Offset: "-1"}
	for {
		resp, err := getShape(ctx, c, s, q, r.Handle, r.Offset, false)
		if err != nil {
			return r, err
		}
		r.Requests++
		r.Bytes += int64(len(resp.Body))
		if parse {
			var msgs []message
			t := time.Now()
			if err := json.Unmarshal(resp.Body, &msgs); err != nil {
				return r, fmt.Errorf("parse shape response: %w", err)
			}
			r.Parse += time.Since(t)
			for _, m := range msgs {
				if m.Value != nil {
					r.Rows++
				}
			}
		}
		r.Handle, r.Offset = resp.Handle, resp.Offset
		if resp.UpToDate {
			return r, nil
		}
	}
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
