package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/galvani-sync/galvani/client"
)

// roundTripFunc is an in-memory transport, so retries can run inside a
// synctest bubble whose clock moves only when every goroutine waits.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// serve answers r with h through a recorder.
func serve(h func(w http.ResponseWriter, r *http.Request), r *http.Request) *http.Response {
	rec := httptest.NewRecorder()
	h(rec, r)
	res := rec.Result()
	res.Request = r
	return res
}

// retryScript answers request n with steps[n] (the last one repeats) and
// records when each request came.
type retryScript struct {
	steps []func(w http.ResponseWriter, r *http.Request) error
	times []time.Time
}

func (s *retryScript) client() *client.Client {
	return &client.Client{
		BaseURL: "http://galvani.test",
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			n := min(len(s.times), len(s.steps)-1)
			s.times = append(s.times, time.Now())
			var err error
			res := serve(func(w http.ResponseWriter, r *http.Request) { err = s.steps[n](w, r) }, r)
			if err != nil {
				return nil, err
			}
			return res, nil
		})},
	}
}

func (s *retryScript) gaps() []time.Duration {
	var g []time.Duration
	for i := 1; i < len(s.times); i++ {
		g = append(g, s.times[i].Sub(s.times[i-1]))
	}
	return g
}

func status(code int, header ...string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		for i := 0; i < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		w.Write([]byte(`{"message":"try later"}`))
		return nil
	}
}

func ok(w http.ResponseWriter, r *http.Request) error {
	shapeResp{handle: "h", offset: "0_0", body: array(upToDateMsg(1)), upToDate: true}.write(w, r)
	return nil
}

func networkError(w http.ResponseWriter, r *http.Request) error { return syscall.ECONNREFUSED }

// TestRetryBackoff: 5xx, 429 and network errors are retried with full
// jitter under a ceiling doubling from 1 s, then the stream proceeds.
func TestRetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &retryScript{steps: []func(http.ResponseWriter, *http.Request) error{
			status(503), status(500), networkError, status(429), status(502), ok,
		}}
		c := s.client()
		var retries []int
		c.OnRetry = func(err error, retry int, wait time.Duration) { retries = append(retries, retry) }
		st, err := c.Stream(client.ShapeRequest{Table: "items"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Next(context.Background()); err != nil {
			t.Fatalf("Next() = %v, want success after retries", err)
		}
		for i, gap := range s.gaps() {
			if ceiling := time.Second << i; gap > ceiling {
				t.Errorf("wait before retry %d = %v, above the backoff ceiling %v", i+1, gap, ceiling)
			}
		}
		if len(retries) != 5 || retries[0] != 1 || retries[4] != 5 {
			t.Errorf("OnRetry saw retries %v, want 1..5", retries)
		}
	})
}

// TestRetryAfter: the wait is never shorter than Retry-After, in seconds
// or as an HTTP date.
func TestRetryAfterHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		date := time.Now().Add(15 * time.Second).UTC().Format(http.TimeFormat) // 10 s after the first retry
		s := &retryScript{steps: []func(http.ResponseWriter, *http.Request) error{
			status(503, "Retry-After", "5"), status(429, "Retry-After", date), ok,
		}}
		st, err := s.client().Stream(client.ShapeRequest{Table: "items"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Next(context.Background()); err != nil {
			t.Fatalf("Next() = %v", err)
		}
		g := s.gaps()
		if len(g) != 2 || g[0] != 5*time.Second || g[1] < 9*time.Second || g[1] > 10*time.Second {
			t.Errorf("waits = %v; want 5s (Retry-After: 5) then 10s (Retry-After: %s)", g, date)
		}
	})
}

// TestRetryGivesUp after Backoff.MaxRetries, with the last error; the
// stream is not poisoned by it.
func TestRetryGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &retryScript{steps: []func(http.ResponseWriter, *http.Request) error{status(503), status(503), status(503), ok}}
		c := s.client()
		c.Backoff.MaxRetries = 2
		st, err := c.Stream(client.ShapeRequest{Table: "items"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Next(context.Background())
		var fe *client.FetchError
		if !errors.As(err, &fe) || fe.Status != 503 || fe.Body.Message != "try later" || !client.Retryable(err) {
			t.Fatalf("Next() = %v; want the retryable 503 after 2 retries", err)
		}
		if len(s.times) != 3 {
			t.Errorf("%d requests, want 3", len(s.times))
		}
		if _, err := st.Next(context.Background()); err != nil {
			t.Errorf("Next() after giving up = %v; want the stream to try again", err)
		}
	})
}

// TestRetryCancelledWhileWaiting: cancellation ends a backoff wait at once.
func TestRetryCancelledWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &retryScript{steps: []func(http.ResponseWriter, *http.Request) error{status(503, "Retry-After", "3600")}}
		st, err := s.client().Stream(client.ShapeRequest{Table: "items"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		if _, err := st.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Next() = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Errorf("Next returned after %v, want at the 1m deadline", d)
		}
	})
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&client.FetchError{Status: 503}, true},
		{&client.FetchError{Status: 429}, true},
		{&client.FetchError{Status: 400}, false},
		{&client.FetchError{Status: 404}, false},
		{syscall.ECONNRESET, true},
		{context.Canceled, false},
		{client.ErrMissingHeaders, false},
		{client.ErrBadResponse, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := client.Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%v) = %t, want %t", tt.err, got, tt.want)
		}
	}
}

// TestFetchErrorBodies decodes the protocol's error bodies, nested subset
// errors and POST body errors included.
func TestFetchErrorBodies(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`{"message":"Invalid request","errors":{"offset":["has invalid format"]}}`, "400 Bad Request: Invalid request; offset: has invalid format"},
		{`{"message":"Invalid request","errors":{"subset":{"where":["unknown reference x"]}}}`, "subset.where: unknown reference x"},
		{`{"error":"Invalid JSON in request body","details":"x"}`, "400 Bad Request: Invalid JSON in request body"},
		{`plain text`, "400 Bad Request: plain text"},
	}
	for _, tt := range tests {
		s := &retryScript{steps: []func(http.ResponseWriter, *http.Request) error{func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(400)
			w.Write([]byte(tt.body))
			return nil
		}}}
		st, err := s.client().Stream(client.ShapeRequest{Table: "items"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Next(context.Background())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("error for body %s = %v; want it to contain %q", tt.body, err, tt.want)
		}
	}
}
