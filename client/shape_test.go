package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/client"
	"github.com/galvani-sync/galvani/protocol"
)

// msgs decodes a JSON array of messages.
func msgs(t *testing.T, body string) []protocol.Message {
	t.Helper()
	var m []protocol.Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return m
}

func newShape(t *testing.T, req client.ShapeRequest, rows map[string]client.Row) *client.Shape {
	t.Helper()
	st, err := (&client.Client{BaseURL: "http://127.0.0.1:1"}).Stream(req)
	if err != nil {
		t.Fatal(err)
	}
	return client.NewShape(st, rows)
}

func row(kv ...string) client.Row {
	r := client.Row{}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "NULL" {
			r[kv[i]] = nil
		} else {
			r[kv[i]] = str(kv[i+1])
		}
	}
	return r
}

func rowsDiff(got, want map[string]client.Row) string {
	return cmp.Diff(want, got)
}

// TestShapeMaterialises: inserts replace, partial updates merge, deletes
// remove, a primary-key change moves the row; nothing is visible before
// the up-to-date.
func TestShapeMaterialises(t *testing.T) {
	s := newShape(t, client.ShapeRequest{Table: "items"}, nil)
	if _, ok := s.Apply(client.Batch{Messages: msgs(t, array(insert(1, "a"), insert(2, "b"), insert(3, "c")))}); ok {
		t.Fatal("Apply of a batch without up-to-date returned an Update")
	}
	if s.Len() != 0 || s.UpToDate() {
		t.Fatalf("before up-to-date: %d rows, UpToDate %t; want 0, false", s.Len(), s.UpToDate())
	}
	u, ok := s.Apply(client.Batch{Messages: msgs(t, array(upToDateMsg(1))), UpToDate: true, Handle: "h", Offset: "0_1"})
	if !ok || len(u.Changes) != 3 || !s.UpToDate() || s.Offset() != "0_1" || s.Handle() != "h" {
		t.Fatalf("initial up-to-date: Update %+v, %t; UpToDate %t at %s/%s", u, ok, s.UpToDate(), s.Handle(), s.Offset())
	}

	pkChange := `{"key":"\"public\".\"items\"/\"3\"","value":{"id":"3"},"headers":{"operation":"delete","lsn":"20","op_position":4,"key_change_to":"\"public\".\"items\"/\"30\""}},` +
		`{"key":"\"public\".\"items\"/\"30\"","value":{"id":"30","title":"c"},"headers":{"operation":"insert","lsn":"20","op_position":5,"key_change_from":"\"public\".\"items\"/\"3\"","last":true}}`
	u, _ = s.Apply(client.Batch{UpToDate: true, Offset: "20_5", Messages: msgs(t, "["+
		change("update", 1, `{"id":"1","title":"A"}`, 20, 0)+","+
		change("delete", 2, `{"id":"2"}`, 20, 2)+","+
		pkChange+","+upToDateMsg(20)+"]")})
	want := map[string]client.Row{
		key(1):  row("id", "1", "title", "A"),
		key(30): row("id", "30", "title", "c"),
	}
	if d := rowsDiff(s.Rows(), want); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	wantChanges := []client.Change{
		{Operation: "update", Key: key(1), Row: row("id", "1", "title", "A"), OldRow: row("id", "1", "title", "a")},
		{Operation: "delete", Key: key(2), Row: row("id", "2", "title", "b")},
		{Operation: "delete", Key: key(3), Row: row("id", "3", "title", "c"), KeyChangeTo: key(30)},
		{Operation: "insert", Key: key(30), Row: row("id", "30", "title", "c"), KeyChangeFrom: key(3)},
	}
	if d := cmp.Diff(wantChanges, u.Changes); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}

	// A partial update keeps the columns it does not carry, NULLs included.
	s.Apply(client.Batch{UpToDate: true, Messages: msgs(t, array(change("update", 30, `{"id":"30","title":null}`, 21, 0), upToDateMsg(21)))})
	if r, _ := s.Get(key(30)); !r.Equal(row("id", "30", "title", "NULL")) {
		t.Errorf("row 30 after setting title NULL = %v", r)
	}
	if r, _ := s.Get(key(1)); !r.Equal(row("id", "1", "title", "A")) {
		t.Errorf("row 1 changed by an update of row 30: %v", r)
	}
}

// TestShapeRowsAreCopies: changing what Rows returns changes nothing.
func TestShapeRowsAreCopies(t *testing.T) {
	s := newShape(t, client.ShapeRequest{Table: "items"}, nil)
	s.Apply(client.Batch{UpToDate: true, Messages: msgs(t, array(insert(1, "a"), upToDateMsg(1)))})
	rows := s.Rows()
	*rows[key(1)]["title"] = "changed"
	delete(rows, key(1))
	if r, ok := s.Get(key(1)); !ok || *r["title"] != "a" {
		t.Errorf("row after modifying the copy = %v, %t; want title a", r, ok)
	}
}

// TestShapeMustRefetch: after must-refetch the old rows stay until the new
// snapshot is up to date, then are replaced; the Update is their diff.
func TestShapeMustRefetch(t *testing.T) {
	s := newShape(t, client.ShapeRequest{Table: "items"}, nil)
	s.Apply(client.Batch{UpToDate: true, Messages: msgs(t, array(insert(1, "a"), insert(2, "b"), upToDateMsg(1)))})
	s.Apply(client.Batch{MustRefetch: true, Offset: "-1", Handle: "h2", Messages: []protocol.Message{{Headers: protocol.Headers{Control: protocol.ControlMustRefetch}}}})
	if s.UpToDate() || s.Len() != 2 {
		t.Fatalf("after must-refetch: UpToDate %t, %d rows; want false and the old 2 rows", s.UpToDate(), s.Len())
	}
	s.Apply(client.Batch{Messages: msgs(t, array(insert(2, "B")))})
	if s.Len() != 2 {
		t.Fatalf("mid-refetch rows = %d, want the old 2", s.Len())
	}
	u, _ := s.Apply(client.Batch{UpToDate: true, Handle: "h2", Offset: "0_0", Messages: msgs(t, array(insert(3, "c"), upToDateMsg(2)))})
	want := map[string]client.Row{key(2): row("id", "2", "title", "B"), key(3): row("id", "3", "title", "c")}
	if d := rowsDiff(s.Rows(), want); d != "" {
		t.Errorf("rows after refetch (-want +got):\n%s", d)
	}
	if !u.Refetched || len(u.Changes) != 3 || u.Changes[0].Operation != "delete" || u.Changes[0].Key != key(1) ||
		u.Changes[1].Operation != "update" || u.Changes[2].Operation != "insert" {
		t.Errorf("refetch Update = %+v; want Refetched with delete 1, update 2, insert 3", u)
	}
}

// TestShapeChangesOnly ignores updates and deletes of keys never inserted.
func TestShapeChangesOnly(t *testing.T) {
	s := newShape(t, client.ShapeRequest{Table: "items", ChangesOnly: true}, nil)
	s.Apply(client.Batch{UpToDate: true, Messages: msgs(t, array(
		change("update", 1, `{"id":"1","title":"x"}`, 10, 0),
		change("insert", 2, `{"id":"2","title":"b"}`, 10, 2),
		change("update", 2, `{"id":"2","title":"B"}`, 10, 4),
		change("delete", 3, `{"id":"3"}`, 10, 6),
		upToDateMsg(10)))})
	if d := rowsDiff(s.Rows(), map[string]client.Row{key(2): row("id", "2", "title", "B")}); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

// TestShapeSeededRows: a Shape resumed with saved rows applies changes on
// top of them.
func TestShapeSeededRows(t *testing.T) {
	saved := map[string]client.Row{key(1): row("id", "1", "title", "a")}
	s := newShape(t, client.ShapeRequest{Table: "items", Offset: "10_0", Handle: "h"}, saved)
	saved[key(1)]["title"] = str("mutated after NewShape")
	s.Apply(client.Batch{UpToDate: true, Messages: msgs(t, array(change("update", 1, `{"id":"1","title":"A"}`, 20, 0), upToDateMsg(20)))})
	if r, _ := s.Get(key(1)); !r.Equal(row("id", "1", "title", "A")) {
		t.Errorf("row 1 = %v, want the saved row updated", r)
	}
}

// TestShapeSubscriptions: updates reach subscribers; a full buffer drops
// the subscriber instead of blocking; Close ends a subscription.
func TestShapeSubscriptions(t *testing.T) {
	s := newShape(t, client.ShapeRequest{Table: "items"}, nil)
	fast := s.Subscribe(8)
	slow := s.Subscribe(1)
	closed := s.Subscribe(1)
	closed.Close()
	if _, ok := <-closed.Updates(); ok || closed.Err() != nil {
		t.Errorf("closed subscription: channel open or Err %v", closed.Err())
	}
	s.Apply(client.Batch{UpToDate: true, Messages: msgs(t, array(upToDateMsg(1)))}) // first: notified even if empty
	s.Apply(client.Batch{UpToDate: true, Messages: msgs(t, array(upToDateMsg(1)))}) // nothing new: not notified
	s.Apply(client.Batch{UpToDate: true, Messages: msgs(t, array(change("insert", 1, `{"id":"1","title":"a"}`, 5, 0), upToDateMsg(5)))})
	var got []int
	for range 2 {
		got = append(got, len((<-fast.Updates()).Changes))
	}
	if !cmp.Equal(got, []int{0, 1}) {
		t.Errorf("fast subscriber got updates with %v changes, want [0 1]", got)
	}
	<-slow.Updates()
	if _, ok := <-slow.Updates(); ok || !errors.Is(slow.Err(), client.ErrSlowSubscriber) {
		t.Errorf("slow subscriber: channel still open or Err = %v; want closed with ErrSlowSubscriber", slow.Err())
	}
}

// TestShapeRun drives a Shape from a fake server: Wait returns once up to
// date; Run returns ctx's error and closes subscriptions with it.
func TestShapeRun(t *testing.T) {
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		switch n {
		case 0:
			shapeResp{handle: "h", offset: "0_0", body: array(insert(1, "a"))}.write(w, r)
		case 1:
			shapeResp{handle: "h", offset: "0_1", body: array(insert(2, "b"), upToDateMsg(1)), upToDate: true}.write(w, r)
		default:
			<-r.Context().Done()
		}
	})
	s, err := c.Shape(client.ShapeRequest{Table: "items"})
	if err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := s.Wait(wctx); err != nil {
		t.Fatalf("Wait() = %v", err)
	}
	if s.Len() != 2 {
		t.Errorf("rows = %d, want 2", s.Len())
	}
	if u := <-sub.Updates(); len(u.Changes) != 2 {
		t.Errorf("first update = %+v, want 2 inserts", u)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run() = %v, want context.Canceled", err)
	}
	if _, ok := <-sub.Updates(); ok || !errors.Is(sub.Err(), context.Canceled) {
		t.Errorf("subscription after Run: open or Err %v; want closed with context.Canceled", sub.Err())
	}
	if err := s.Run(context.Background()); err == nil {
		t.Error("second Run() = nil, want an error")
	}
}

// TestShapeWaitReturnsRunError: Wait does not hang when Run fails first.
func TestShapeWaitReturnsRunError(t *testing.T) {
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(http.StatusBadRequest)
	})
	s, err := c.Shape(client.ShapeRequest{Table: "items"})
	if err != nil {
		t.Fatal(err)
	}
	go s.Run(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var fe *client.FetchError
	if err := s.Wait(ctx); !errors.As(err, &fe) {
		t.Errorf("Wait() = %v, want Run's FetchError", err)
	}
}
