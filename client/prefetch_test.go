package client_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/galvani-sync/galvani/client"
)

// waitRequests waits until the fake has received n requests.
func waitRequests(t *testing.T, f *fake, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests after 10s, want %d", f.count(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStreamPrefetchesCatchUpChunks: while catching up, the request for
// the next chunk goes out before Next is called again, at the offset and
// handle of the previous response; each is sent once and its answer is
// the next batch. Once up to date, nothing is sent ahead.
func TestStreamPrefetchesCatchUpChunks(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch {
		case n < 3:
			shapeResp{handle: "h", offset: "0_" + strconv.Itoa(n), body: array(insert(n, "x"))}.write(w, r)
		case n == 3:
			shapeResp{handle: "h", offset: "0_3", body: array(insert(n, "x"), upToDateMsg(5)), upToDate: true}.write(w, r)
		default:
			shapeResp{handle: "h", offset: "10_0", body: array(upToDateMsg(10)), upToDate: true}.write(w, r)
		}
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	for i := range 4 {
		b := next(t, st)
		if want := "0_" + strconv.Itoa(i); b.Offset != want || len(b.Messages) == 0 || *b.Messages[0].Value["id"] != strconv.Itoa(i) {
			t.Fatalf("batch %d = %+v; want row %d at offset %s", i, b, i, want)
		}
		if i < 3 {
			// The next chunk is requested without another Next call.
			waitRequests(t, f, i+2)
			q := f.queries()[i+1]
			if q.Get("offset") != b.Offset || q.Get("handle") != "h" || q.Get("live") != "" {
				t.Errorf("request %d = %v; want the catch-up request at %s", i+1, q, b.Offset)
			}
		}
	}
	time.Sleep(20 * time.Millisecond)
	if f.count() != 4 {
		t.Errorf("%d requests after the up-to-date batch, want 4: nothing sent ahead once up to date", f.count())
	}
	if b := next(t, st); !b.Live || b.Offset != "10_0" {
		t.Errorf("batch after catching up = %+v; want the live answer", b)
	}
	if q := f.queries()[4]; q.Get("live") != "true" || q.Get("offset") != "0_3" {
		t.Errorf("request after catching up = %v; want live at 0_3", q)
	}
}

// TestStreamPrefetchedErrorsAreHandled: a prefetched answer is treated as
// if Next had sent the request: a 409 resets the stream, a 5xx is retried.
func TestStreamPrefetchedErrorsAreHandled(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			shapeResp{handle: "h1", offset: "0_0", body: array(insert(1, "x"))}.write(w, r)
		case 1:
			shapeResp{status: http.StatusServiceUnavailable, body: `{"message":"busy"}`}.write(w, r)
		case 2:
			shapeResp{status: http.StatusConflict, handle: "h2", body: `[{"headers":{"control":"must-refetch"}}]`}.write(w, r)
		default:
			shapeResp{handle: "h2", offset: "0_0", body: array(insert(1, "y"), upToDateMsg(1)), upToDate: true}.write(w, r)
		}
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	next(t, st)
	if b := next(t, st); !b.MustRefetch || b.Handle != "h2" {
		t.Fatalf("batch after a prefetched 503 and 409 = %+v; want must-refetch to h2", b)
	}
	if b := next(t, st); !b.UpToDate || b.Handle != "h2" {
		t.Fatalf("batch after must-refetch = %+v; want h2 up to date", b)
	}
	qs := f.queries()
	if len(qs) != 4 || qs[1].Get("offset") != "0_0" || qs[2].Get("offset") != "0_0" || qs[3].Get("offset") != "-1" || qs[3].Get("handle") != "h2" {
		t.Errorf("requests = %v; want -1, 0_0 (503), 0_0 again (409), -1 under h2", qs)
	}
}

// TestStreamCloseCancelsPrefetch: Close (and breaking out of All) cancels
// a prefetched request that has not been answered and leaves no
// goroutine behind.
func TestStreamCloseCancelsPrefetch(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n%2 == 1 {
			<-r.Context().Done() // the prefetched request is never answered
			return
		}
		shapeResp{handle: "h", offset: "0_0", body: array(insert(1, "x"))}.write(w, r)
	})
	c.HTTPClient = &http.Client{Transport: tr}

	st, err := c.Stream(client.ShapeRequest{Table: "items"})
	if err != nil {
		t.Fatal(err)
	}
	next(t, st)
	waitRequests(t, f, 2)
	// A Next whose context ends while it waits for the prefetched answer
	// keeps the request for the next call.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := st.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next() error = %v, want context.DeadlineExceeded", err)
	}
	if f.count() != 2 {
		t.Errorf("%d requests, want 2: the prefetched one is still waited for", f.count())
	}
	st.Close()

	st, err = c.Stream(client.ShapeRequest{Table: "items"})
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range st.All(context.Background()) {
		if err != nil || b.Offset != "0_0" {
			t.Fatalf("All() = %+v, %v; want the first chunk", b, err)
		}
		break
	}
	f.srv.Close()
}

// TestStreamPrefetchIsBounded: however many chunks remain, at most two
// requests are sent ahead of the batches Next returned, and every chunk is
// requested once.
func TestStreamPrefetchIsBounded(t *testing.T) {
	const chunks = 10
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		resp := shapeResp{handle: "h", offset: "0_" + strconv.Itoa(n), body: array(insert(n, "x"))}
		if n == chunks-1 {
			resp.body, resp.upToDate = array(insert(n, "x"), upToDateMsg(1)), true
		}
		resp.write(w, r)
	})
	st := stream(t, c, client.ShapeRequest{Table: "items"})
	for i := range chunks {
		b := next(t, st)
		if want := "0_" + strconv.Itoa(i); b.Offset != want {
			t.Fatalf("batch %d at offset %s, want %s", i, b.Offset, want)
		}
		time.Sleep(10 * time.Millisecond)
		if n, most := f.count(), min(i+1+2, chunks); n > most {
			t.Fatalf("after %d batches, %d requests; want at most %d", i+1, n, most)
		}
	}
	for i, q := range f.queries() {
		if want := map[bool]string{true: "-1", false: "0_" + strconv.Itoa(i-1)}[i == 0]; q.Get("offset") != want {
			t.Errorf("request %d at offset %s, want %s", i, q.Get("offset"), want)
		}
	}
}
