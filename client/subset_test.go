package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/galvani-sync/galvani/client"
)

const subsetBody = `{"metadata":{"xmin":"100","xmax":"105","xip_list":["101"],"database_lsn":"23805808","snapshot_mark":42},
"data":[{"key":"\"public\".\"items\"/\"1\"","value":{"id":"1","title":"a"},"headers":{"operation":"insert","relation":["public","items"],"snapshot_mark":42}}]}`

// TestRequestSnapshot sends the subset parameters (§10.3) with the
// stream's position and decodes the {metadata, data} body.
func TestRequestSnapshot(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Query().Get("subset__where") == "" {
			shapeResp{handle: "h", offset: "0_0", body: array(upToDateMsg(1)), upToDate: true}.write(w, r)
			return
		}
		shapeResp{handle: "h", offset: "0_0", body: subsetBody, header: map[string]string{"electric-snapshot": "true"}}.write(w, r)
	})
	st := stream(t, c, client.ShapeRequest{Table: "items", ChangesOnly: true})
	next(t, st)
	snap, err := st.RequestSnapshot(context.Background(), client.SubsetRequest{
		Where: "title = $1", Params: []string{"a"}, OrderBy: "id DESC", Limit: 10, Offset: 5,
	})
	if err != nil {
		t.Fatalf("RequestSnapshot() error = %v", err)
	}
	want := "handle=h&log=changes_only&offset=0_0&subset__limit=10&subset__offset=5&subset__order_by=id+DESC&subset__params=%7B%221%22%3A%22a%22%7D&subset__where=title+%3D+%241&table=items"
	if got := f.request(1).URL.RawQuery; got != want {
		t.Errorf("subset query = %s\nwant %s", got, want)
	}
	if snap.Metadata.DatabaseLSN != "23805808" || snap.Metadata.SnapshotMark != 42 || len(snap.Metadata.XipList) != 1 ||
		snap.Handle != "h" || snap.Offset != "0_0" || len(snap.Schema) != 2 {
		t.Errorf("snapshot = %+v", snap)
	}
	if rows := snap.Rows(); len(rows) != 1 || *rows[key(1)]["title"] != "a" {
		t.Errorf("snapshot rows = %v", rows)
	}
}

// TestRequestSnapshotFollows409 retries under the handle a 409 names.
func TestRequestSnapshotFollows409(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			shapeResp{status: http.StatusConflict, handle: "h2", body: `[{"headers":{"control":"must-refetch"}}]`}.write(w, r)
			return
		}
		shapeResp{handle: "h2", offset: "0_0", body: subsetBody}.write(w, r)
	})
	snap, err := c.RequestSnapshot(context.Background(), client.ShapeRequest{Table: "items", Offset: "5_0", Handle: "h1"}, client.SubsetRequest{Where: "true"})
	if err != nil || snap.Handle != "h2" {
		t.Fatalf("RequestSnapshot() = %+v, %v; want the snapshot under h2", snap, err)
	}
	q := f.queries()[1]
	if q.Get("handle") != "h2" || q.Get("offset") != "5_0" || q.Get("cache-buster") == "" {
		t.Errorf("retry after 409 = %v; want handle h2, the same offset and a cache-buster", q)
	}
}

// TestRequestSnapshotUnsupported: a server that ignores subset__* and
// answers with a shape log yields ErrSubsetUnsupported; a 400 is a
// FetchError.
func TestRequestSnapshotUnsupported(t *testing.T) {
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 0 {
			shapeResp{handle: "h", offset: "0_0", body: array(insert(1, "a"))}.write(w, r)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"message":"Invalid request","errors":{"subset":{"where":["nope"]}}}`))
	})
	_, err := c.RequestSnapshot(context.Background(), client.ShapeRequest{Table: "items"}, client.SubsetRequest{Where: "true"})
	if !errors.Is(err, client.ErrSubsetUnsupported) {
		t.Errorf("RequestSnapshot() error = %v, want ErrSubsetUnsupported", err)
	}
	_, err = c.RequestSnapshot(context.Background(), client.ShapeRequest{Table: "items"}, client.SubsetRequest{Where: "true"})
	var fe *client.FetchError
	if !errors.As(err, &fe) || fe.Status != 400 {
		t.Errorf("RequestSnapshot() error = %v, want a 400 FetchError", err)
	}
	if _, err := c.RequestSnapshot(context.Background(), client.ShapeRequest{Table: "items"}, client.SubsetRequest{Limit: -1}); !errors.Is(err, client.ErrInvalidRequest) {
		t.Errorf("RequestSnapshot() with a negative limit error = %v, want ErrInvalidRequest", err)
	}
}
