package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/galvani-sync/galvani/protocol"
)

// maxSubsetRefetches bounds the 409s a subset request follows (each names
// the shape's new handle), as in the TypeScript client.
const maxSubsetRefetches = 5

// SubsetRequest selects part of a shape (§10.3 of the protocol
// reference): the rows matching Where (on top of the shape's own where),
// ordered and paginated.
type SubsetRequest struct {
	// Where filters the shape's rows; Params are the values of its $1, $2, ….
	Where  string
	Params []string
	// OrderBy orders the rows: column references with ASC/DESC and NULLS
	// FIRST/LAST. Required with Limit or Offset.
	OrderBy string
	// Limit bounds the number of rows (0: no limit); Offset skips rows.
	Limit  int
	Offset int
}

// Snapshot is a subset of a shape, read in one Postgres snapshot.
type Snapshot struct {
	// Metadata describes the Postgres snapshot: a change whose
	// transaction is visible in it (xid < xmin, or < xmax and not in
	// xip_list) is already reflected in Messages.
	Metadata protocol.SnapshotMetadata
	// Messages are the rows, as inserts.
	Messages []protocol.Message
	// Handle and Offset are the shape's handle and the log offset the
	// snapshot can be followed from.
	Handle, Offset string
	// Schema describes the columns.
	Schema Schema
}

// Rows returns the snapshot's rows by key.
func (s *Snapshot) Rows() map[string]Row {
	rows := make(map[string]Row, len(s.Messages))
	for i := range s.Messages {
		if m := &s.Messages[i]; m.IsData() {
			rows[m.Key] = Row(m.Value).Clone()
		}
	}
	return rows
}

// RequestSnapshot fetches a subset of the stream's shape at the stream's
// current handle and offset. It does not change the stream and may run
// concurrently with Next.
func (s *ShapeStream) RequestSnapshot(ctx context.Context, sub SubsetRequest) (*Snapshot, error) {
	req := s.req
	req.Handle, req.Offset = s.Handle(), s.Offset()
	if req.Handle == "" {
		req.Offset = ""
	}
	return s.c.RequestSnapshot(ctx, req, sub)
}

// RequestSnapshot fetches a subset of the shape shape defines, positioned
// at shape.Offset and shape.Handle (offset -1 when empty). 429s, 5xx and
// network errors are retried as in ShapeStream.Next; a 409 makes it retry
// under the handle the server names (up to 5 times). It returns
// ErrSubsetUnsupported if the server answers with a plain shape log.
func (c *Client) RequestSnapshot(ctx context.Context, shape ShapeRequest, sub SubsetRequest) (*Snapshot, error) {
	if err := shape.validate(); err != nil {
		return nil, err
	}
	if sub.Limit < 0 || sub.Offset < 0 {
		return nil, fmt.Errorf("%w: subset limit and offset must not be negative", ErrInvalidRequest)
	}
	endpoint, err := c.endpoint()
	if err != nil {
		return nil, err
	}
	q := c.definition(&shape)
	offset := shape.Offset
	if offset == "" {
		offset = protocol.BeforeAll.String()
	}
	q.Set(protocol.ParamOffset, offset)
	if shape.Handle != "" {
		q.Set(protocol.ParamHandle, shape.Handle)
	}
	if sub.Where != "" {
		q.Set(paramSubsetWhere, sub.Where)
	}
	if len(sub.Params) > 0 {
		params := make(map[string]string, len(sub.Params))
		for i, p := range sub.Params {
			params[strconv.Itoa(i+1)] = p
		}
		b, _ := json.Marshal(params)
		q.Set(paramSubsetParams, string(b))
	}
	if sub.OrderBy != "" {
		q.Set(paramSubsetOrderBy, sub.OrderBy)
	}
	if sub.Limit > 0 {
		q.Set(paramSubsetLimit, strconv.Itoa(sub.Limit))
	}
	if sub.Offset > 0 {
		q.Set(paramSubsetOffset, strconv.Itoa(sub.Offset))
	}

	refetches := 0
	for attempt := 0; ; {
		snap, next, err := c.fetchSubset(ctx, urlFor(endpoint, q))
		switch {
		case err == nil && snap != nil:
			return snap, nil
		case err == nil: // 409: the shape has a new handle
			if refetches++; refetches > maxSubsetRefetches {
				return nil, fmt.Errorf("subset snapshot: shape still invalidated after %d retries", maxSubsetRefetches)
			}
			if next != "" {
				q.Set(protocol.ParamHandle, next)
			} else {
				q.Del(protocol.ParamHandle)
			}
			q.Set(paramCacheBuster, newCacheBuster())
			continue
		}
		if werr := c.retryWait(ctx, attempt, err); werr != nil {
			return nil, werr
		}
		attempt++
	}
}

// fetchSubset makes one subset request; a 409 gives a nil snapshot and
// the handle to retry with.
func (c *Client) fetchSubset(ctx context.Context, u string) (*Snapshot, string, error) {
	resp, err := c.send(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusConflict:
		next := resp.Header.Get(protocol.HeaderHandle)
		discard(resp)
		return nil, next, nil
	default:
		return nil, "", fetchError(http.MethodGet, u, resp)
	}
	meta, err := checkHeaders(resp.Header, false)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", redact(u), err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: read body: %w", redact(u), err)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return nil, "", fmt.Errorf("GET %s: %w: it answered with a shape log, ignoring the subset parameters", redact(u), ErrSubsetUnsupported)
	}
	var sr protocol.SubsetResponse
	if err := json.Unmarshal(trimmed, &sr); err != nil {
		return nil, "", fmt.Errorf("GET %s: %w: subset body: %v", redact(u), ErrBadResponse, err)
	}
	for i := range sr.Data {
		if err := checkMessage(&sr.Data[i]); err != nil {
			return nil, "", fmt.Errorf("GET %s: %w", redact(u), err)
		}
	}
	schema, err := ParseSchema(meta.schema)
	if err != nil {
		return nil, "", err
	}
	return &Snapshot{Metadata: sr.Metadata, Messages: sr.Data, Handle: meta.handle, Offset: meta.offset, Schema: schema}, "", nil
}
