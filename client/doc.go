// Package client is a Go client for Galvani and any server speaking the
// Electric HTTP shape protocol v1: it reads shapes (a table, an optional
// where clause with parameters, an optional column list) as streams of
// changes and materialises them into rows. It depends only on the
// standard library and package protocol.
//
// # Streams
//
// Client.Stream returns a ShapeStream. The caller owns the loop and pulls
// batches with Next (or ranges over All):
//
//	c := &client.Client{BaseURL: "http://localhost:3000", Params: url.Values{"secret": {secret}}}
//	st, err := c.Stream(client.ShapeRequest{Table: "items", Where: "owner = $1", Params: []string{"ana"}})
//	for b, err := range st.All(ctx) {
//		if err != nil {
//			return err
//		}
//		… apply b.Messages; if b.MustRefetch, discard everything first …
//		… persist st.Offset() and st.Handle() to resume later …
//	}
//
// A stream walks the initial snapshot chunk by chunk (offset -1, then the
// electric-offset and electric-handle of each response), and after the
// first up-to-date message switches to live mode: long-polls carrying
// live=true and the last electric-cursor, or, with ShapeRequest.LiveSSE, a
// Server-Sent Events connection (with the fallback to long-polls of the
// TypeScript client when SSE connections keep closing at once). Query
// parameters are sorted, so equal requests have equal URLs and share
// cache entries.
//
// The stream follows the TypeScript client's rules wherever they matter
// to a server or a cache (§15 of Galvani's protocol reference):
//
//   - 409: the stream restarts at offset -1 with the handle the 409 names,
//     returns a Batch with MustRefetch set, sends a random cache-buster
//     parameter on the next request and expired_handle=<old handle> on
//     every later one, and refuses (ErrStaleCache) responses that keep
//     carrying the expired handle after 3 cache-busted retries.
//   - 429, 5xx and network errors: retried with exponential backoff and
//     full jitter (1 s initial, capped at 32 s; see Backoff), never sooner
//     than Retry-After (seconds or an HTTP date).
//   - other 4xx: a final *FetchError. Successful responses lacking the
//     required electric-* headers: ErrMissingHeaders.
//   - a live long-poll held past Client.LiveTimeout (45 s) is abandoned
//     and sent again.
//
// In SSE mode the resume offset is the offset of the last change
// received, not "<global_last_seen_lsn>_0" as in the TypeScript client;
// see the comment in sse.go.
//
// While it catches up (before the first up-to-date), a stream prefetches
// as the TypeScript client does: once a response's headers say more
// follows, the request for the next chunk is sent at once, at the offset
// they carry, up to two chunks ahead. Each prefetched response is read and
// decoded in a goroutine of its own, so the server produces the next
// chunks, and they are decoded, while the caller applies this one. A Next
// call takes the oldest prefetched answer (through the same checks as any
// other) if it needs that URL, and cancels them all otherwise.
//
// Next returns when a batch is ready, a final error occurs, or its context
// ends. The only work it leaves running is the prefetching while catching
// up, and in SSE mode between two calls the open event stream; Close (or
// breaking out of All) cancels and releases both.
//
// # Resuming
//
// ShapeStream.Offset and Handle (or Shape.Offset and Handle, with
// Shape.Rows) give the position after the last batch. A new stream made
// with ShapeRequest.Offset and Handle set to them continues from there,
// also across server restarts, without a refetch.
//
// # Materialised shapes
//
// A Shape applies a stream's batches to rows keyed by the protocol's row
// key. Run drives it; Wait blocks until it is up to date; Rows returns a
// copy; Subscribe returns a bounded channel of Updates (slow subscribers
// are dropped, never waited for).
//
// # Values
//
// Row values are the Postgres text output of each column, exactly as the
// server sent them; nil is SQL NULL. Schema (from the electric-schema
// header) gives each column's type for callers that parse them.
//
// # Subsets and deletion
//
// RequestSnapshot fetches part of a shape (subset__* parameters) in one
// Postgres snapshot. DeleteShape deletes a shape on servers that allow it
// (ELECTRIC_ENABLE_INTEGRATION_TESTING).
package client
