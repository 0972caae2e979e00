package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/protocol"
)

// TestHandles checks handles and live mode (protocol §2.3, §7, §9, §10.2):
// one handle per definition, 409 must-refetch for a wrong handle,
// offset=now, long-polls that return as soon as a change commits or at the
// timeout with only up-to-date, electric-cursor on live responses, and
// TRUNCATE invalidating the shape.
func TestHandles(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	const longPoll = time.Second
	h := newHarness(t, harnessOptions{longPollTimeout: longPoll}, `
		CREATE TABLE items (id int PRIMARY KEY, title text);
		INSERT INTO items VALUES (1, 'one'), (2, 'two');
	`)

	handleOf := func(t *testing.T, query string) string {
		t.Helper()
		status, header, body := h.getRaw(t, query)
		if status != http.StatusOK {
			t.Fatalf("GET ?%s = %d %s", query, status, body)
		}
		return header.Get("electric-handle")
	}

	t.Run("same definition same handle", func(t *testing.T) {
		want := handleOf(t, "table=items&offset=-1")
		for _, q := range []string{
			"table=public.items&offset=-1",
			`table="items"&offset=-1`,
			`table="public"."items"&offset=-1`,
			"table=ITEMS&offset=-1",
			"table=items&offset=-1&handle=whatever",
			"table=items&offset=-1&replica=default&log=full",
			"table=items&offset=now",
			"table=items&offset=-1&cursor=5&cache-buster=x",
		} {
			if got := handleOf(t, q); got != want {
				t.Errorf("GET ?%s: handle %s, want %s (same definition)", q, got, want)
			}
		}
		for _, q := range []string{
			"table=items&offset=-1&replica=full",
			"table=items&offset=-1&columns=id",
		} {
			if got := handleOf(t, q); got == want {
				t.Errorf("GET ?%s: handle %s, the same as for another definition", q, got)
			}
		}
	})

	t.Run("concurrent first requests create one shape", func(t *testing.T) {
		h.exec(t, "CREATE TABLE fresh (id int PRIMARY KEY); INSERT INTO fresh SELECT generate_series(1, 2000)")
		before, dirs := h.registry.Len(), len(h.shapeDirs(t))
		handles := make([]string, 16)
		errs := make([]error, len(handles))
		var wg sync.WaitGroup
		for i := range handles {
			wg.Go(func() {
				resp, _, err := h.send(context.Background(), http.MethodGet, h.shapeTarget("table=fresh&offset=-1"), nil)
				switch {
				case err != nil:
					errs[i] = err
				case resp.StatusCode != http.StatusOK:
					errs[i] = fmt.Errorf("status %d", resp.StatusCode)
				default:
					handles[i] = resp.Header.Get("electric-handle")
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		}
		for _, got := range handles[1:] {
			if got != handles[0] {
				t.Errorf("concurrent first requests got handles %v, want one", handles)
				break
			}
		}
		if n := h.registry.Len(); n != before+1 {
			t.Errorf("registry holds %d shapes after concurrent first requests, want %d", n, before+1)
		}
		if n := len(h.shapeDirs(t)); n != dirs+1 {
			t.Errorf("%d shape directories after concurrent first requests, want %d", n, dirs+1)
		}
	})

	t.Run("wrong handle", func(t *testing.T) {
		cur := handleOf(t, "table=items&offset=-1")
		other := handleOf(t, "table=items&offset=-1&replica=full")
		for _, wrong := range []string{"bogus", other, cur + "x"} {
			q := "table=items&offset=0_0&handle=" + url.QueryEscape(wrong)
			status, header, body := h.getRaw(t, q)
			if status != http.StatusConflict {
				t.Errorf("GET ?%s = %d %s, want 409", q, status, body)
				continue
			}
			if string(body) != protocol.MustRefetchResponse {
				t.Errorf("GET ?%s: body %s, want %s", q, body, protocol.MustRefetchResponse)
			}
			if got := header.Get("electric-handle"); got != cur {
				t.Errorf("GET ?%s: electric-handle %q, want the current %q", q, got, cur)
			}
			if got := header.Get("cache-control"); got != "public, max-age=60, must-revalidate" {
				t.Errorf("GET ?%s: cache-control %q, want %q", q, got, "public, max-age=60, must-revalidate")
			}
			if got := header.Get("content-type"); got != "application/json; charset=utf-8" {
				t.Errorf("GET ?%s: content-type %q", q, got)
			}
			if _, ok := header["Electric-Cursor"]; ok {
				t.Errorf("GET ?%s: a 409 carries electric-cursor", q)
			}
		}
	})

	t.Run("offset now", func(t *testing.T) {
		s := h.sync(t, "items")
		status, header, msgs := h.get(t, "table=items&offset=now")
		if status != http.StatusOK {
			t.Fatalf("offset=now: status %d", status)
		}
		if len(msgs) != 1 || !isControl(msgs[0], protocol.ControlUpToDate) {
			t.Errorf("offset=now: body %v, want only up-to-date", msgs)
		}
		if got := header.Get("electric-has-data"); got != "false" {
			t.Errorf("offset=now: electric-has-data %q, want false", got)
		}
		if _, ok := header["Electric-Up-To-Date"]; !ok {
			t.Errorf("offset=now: no electric-up-to-date header")
		}
		if header.Get("electric-schema") == "" {
			t.Errorf("offset=now: no electric-schema header")
		}
		if got := header.Get("electric-offset"); got != s.offset {
			t.Errorf("offset=now: electric-offset %s, want the shape's latest offset %s", got, s.offset)
		}
		// Resuming from there yields no snapshot rows, only later changes.
		r := &shapeStream{h: h, def: url.Values{"table": {"items"}}, handle: header.Get("electric-handle"),
			offset: header.Get("electric-offset"), rows: map[string]map[string]any{}}
		r.catchUp(t)
		if len(r.log) != 0 {
			t.Errorf("resuming from offset=now gave %d messages, want none: %v", len(r.log), r.log)
		}
		h.exec(t, "INSERT INTO items VALUES (3, 'three')")
		r.waitMessages(t, 1)
		if len(r.log) != 1 || r.log[0]["key"] != `"public"."items"/"3"` {
			t.Errorf("after offset=now, messages %v, want the insert of 3", r.log)
		}
	})

	t.Run("long-poll", func(t *testing.T) {
		s := h.sync(t, "items")
		q, live := s.query()
		if !live {
			t.Fatal("not live after sync")
		}
		type result struct {
			status  int
			header  http.Header
			msgs    []any
			elapsed time.Duration
			err     error
		}
		res := make(chan result, 1)
		start := time.Now()
		go func() {
			resp, body, err := h.send(context.Background(), http.MethodGet, h.shapeTarget(q), nil)
			if err != nil {
				res <- result{err: err}
				return
			}
			var msgs []any
			if err := json.Unmarshal(body, &msgs); err != nil {
				res <- result{err: fmt.Errorf("body %s: %w", body, err)}
				return
			}
			res <- result{resp.StatusCode, resp.Header, msgs, time.Since(start), nil}
		}()
		time.Sleep(longPoll / 4)
		h.exec(t, "INSERT INTO items VALUES (100, 'live')")
		var r result
		select {
		case r = <-res:
		case <-time.After(waitTimeout):
			t.Fatal("live request did not return")
		}
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("live request: status %d, %v", r.status, r.err)
		}
		if len(r.msgs) != 2 || keyOf(r.msgs[0]) != `"public"."items"/"100"` || !isControl(r.msgs[1], protocol.ControlUpToDate) {
			t.Errorf("live request returned %v after %v, want the insert of 100 and up-to-date", r.msgs, r.elapsed)
		}
		if r.elapsed >= longPoll {
			t.Errorf("live request returned after %v, not as soon as the write committed (timeout %v)", r.elapsed, longPoll)
		}
		// electric-cursor (§7.2): the end of the current long-poll window in
		// seconds since 2024-10-09, and past a cursor the client sent.
		epoch := time.Date(2024, 10, 9, 0, 0, 0, 0, time.UTC)
		cursor, err := strconv.ParseInt(r.header.Get("electric-cursor"), 10, 64)
		if now := int64(time.Since(epoch) / time.Second); err != nil || cursor < now-2 || cursor > now+3 {
			t.Errorf("live response: electric-cursor %q, want about %d (seconds since 2024-10-09)", r.header.Get("electric-cursor"), now)
		}
		ahead := cursor + 1000
		withCursor, _ := url.ParseQuery(q)
		withCursor.Set("cursor", strconv.FormatInt(ahead, 10))
		_, hdr, _ := h.get(t, withCursor.Encode())
		if c, err := strconv.ParseInt(hdr.Get("electric-cursor"), 10, 64); err != nil || c <= ahead || c > ahead+3600 {
			t.Errorf("live request with cursor %d ahead of the window: electric-cursor %q, want in (%d, %d]", ahead, hdr.Get("electric-cursor"), ahead, ahead+3600)
		}
		if got := r.header.Get("electric-has-data"); got != "true" {
			t.Errorf("live response with data: electric-has-data %q, want true", got)
		}
		if _, ok := r.header["Electric-Schema"]; ok {
			t.Errorf("live response carries electric-schema")
		}
		if got := r.header.Get("cache-control"); got != "public, max-age=5, stale-while-revalidate=5" {
			t.Errorf("live response: cache-control %q", got)
		}

		// Timeout: nothing commits, the request returns after the timeout
		// with only up-to-date, at the same offset.
		s.waitMessages(t, len(s.log)+1)
		q, _ = s.query()
		start = time.Now()
		status, header, msgs := h.get(t, q)
		elapsed := time.Since(start)
		if status != http.StatusOK {
			t.Fatalf("live timeout: status %d", status)
		}
		if elapsed < longPoll*9/10 || elapsed > longPoll*3 {
			t.Errorf("live request with nothing new returned after %v, want the long-poll timeout %v", elapsed, longPoll)
		}
		if len(msgs) != 1 || !isControl(msgs[0], protocol.ControlUpToDate) {
			t.Errorf("live timeout: body %v, want only up-to-date", msgs)
		}
		if got := header.Get("electric-offset"); got != s.offset {
			t.Errorf("live timeout: electric-offset %s, want the requested %s", got, s.offset)
		}
		if got := header.Get("electric-has-data"); got != "false" {
			t.Errorf("live timeout: electric-has-data %q, want false", got)
		}
		if _, ok := header["Electric-Up-To-Date"]; !ok {
			t.Errorf("live timeout: no electric-up-to-date header")
		}
		if header.Get("electric-cursor") == "" {
			t.Errorf("live timeout: no electric-cursor")
		}
	})

	t.Run("truncate", func(t *testing.T) {
		s := h.sync(t, "items")
		old := s.handle
		q, _ := s.query()
		waiting := make(chan int, 1)
		go func() {
			resp, _, err := h.send(context.Background(), http.MethodGet, h.shapeTarget(q), nil)
			if err != nil {
				waiting <- 0
				return
			}
			waiting <- resp.StatusCode
		}()
		time.Sleep(longPoll / 4)
		h.exec(t, "TRUNCATE items")
		h.exec(t, "INSERT INTO items VALUES (7, 'after truncate')")
		select {
		case status := <-waiting:
			if status != http.StatusConflict {
				t.Errorf("live request waiting during TRUNCATE: status %d, want 409", status)
			}
		case <-time.After(waitTimeout):
			t.Fatal("live request waiting during TRUNCATE did not return")
		}

		// The old handle now gets 409 naming the new shape's handle.
		q, _ = s.query()
		status, header, body := h.getRaw(t, q)
		if status != http.StatusConflict {
			t.Fatalf("old handle after TRUNCATE: status %d %s, want 409", status, body)
		}
		fresh := header.Get("electric-handle")
		if fresh == "" || fresh == old {
			t.Errorf("409 after TRUNCATE: electric-handle %q, want a new handle (old %s)", fresh, old)
		}
		if got := header.Get("cache-control"); got != "public, max-age=60, must-revalidate" {
			t.Errorf("409 after TRUNCATE: cache-control %q", got)
		}
		// The client refetches and gets the post-truncate rows.
		s.waitFor(t, "refetch", func() bool { return s.refetches > 0 && s.upToDate })
		want := h.queryRows(t, "SELECT id, title FROM items")
		if diff := cmp.Diff(want, s.rowsByColumn(t, "id")); diff != "" {
			t.Errorf("rows after refetch (-want +got):\n%s", diff)
		}
		if s.handle == old {
			t.Errorf("refetch kept the old handle %s", old)
		}
		if got := handleOf(t, "table=items&offset=-1"); got != s.handle {
			t.Errorf("offset=-1 after TRUNCATE: handle %s, want %s", got, s.handle)
		}
	})
}

func isControl(m any, control string) bool {
	obj, _ := m.(map[string]any)
	hdrs, _ := obj["headers"].(map[string]any)
	return hdrs["control"] == control
}

func keyOf(m any) string {
	obj, _ := m.(map[string]any)
	k, _ := obj["key"].(string)
	return k
}
