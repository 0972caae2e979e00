package client_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/galvani-sync/galvani/client"
)

// demoServer stands in for a Galvani server holding a "todos" table with
// two rows; live requests get one update.
func demoServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		h := w.Header()
		h.Set("electric-handle", "4242-1")
		switch {
		case q.Get("offset") == "-1":
			h.Set("electric-offset", "0_0")
			h.Set("electric-schema", `{"id":{"type":"int8","pk_index":0},"title":{"type":"text"}}`)
			fmt.Fprint(w, `[
				{"key":"\"public\".\"todos\"/\"1\"","value":{"id":"1","title":"Try Galvani"},"headers":{"operation":"insert","relation":["public","todos"]}},
				{"key":"\"public\".\"todos\"/\"2\"","value":{"id":"2","title":"Follow changes"},"headers":{"operation":"insert","relation":["public","todos"]}},
				{"headers":{"control":"up-to-date","global_last_seen_lsn":"100"}}]`)
		case q.Get("live") == "true" && q.Get("offset") == "0_0":
			h.Set("electric-offset", "200_0")
			h.Set("electric-cursor", "1")
			fmt.Fprint(w, `[
				{"key":"\"public\".\"todos\"/\"2\"","value":{"id":"2","title":"Follow live changes"},"headers":{"operation":"update","relation":["public","todos"],"lsn":"200","op_position":0,"txids":[750],"last":true}},
				{"headers":{"control":"up-to-date","global_last_seen_lsn":"200"}}]`)
		default: // nothing new: hold the long-poll
			<-r.Context().Done()
		}
	}))
}

// A Shape keeps a table's rows up to date; Wait returns once they are
// complete, and subscribers hear of every change after that.
func Example() {
	srv := demoServer()
	defer srv.Close()

	c := &client.Client{BaseURL: srv.URL, HTTPClient: srv.Client()}
	shape, err := c.Shape(client.ShapeRequest{Table: "todos"})
	if err != nil {
		panic(err)
	}
	updates := shape.Subscribe(0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- shape.Run(ctx) }()

	if err := shape.Wait(ctx); err != nil {
		panic(err)
	}
	for _, u := range []client.Update{<-updates.Updates(), <-updates.Updates()} {
		for _, ch := range u.Changes {
			title, _ := ch.Row.Get("title")
			fmt.Println(ch.Operation, ch.Key, title)
		}
	}
	rows := shape.Rows()
	for _, key := range slices.Sorted(maps.Keys(rows)) {
		title, _ := rows[key].Get("title")
		fmt.Println(key, title)
	}
	fmt.Println("resume at", shape.Handle(), shape.Offset())

	cancel()
	<-done
	// Output:
	// insert "public"."todos"/"1" Try Galvani
	// insert "public"."todos"/"2" Follow changes
	// update "public"."todos"/"2" Follow live changes
	// "public"."todos"/"1" Try Galvani
	// "public"."todos"/"2" Follow live changes
	// resume at 4242-1 200_0
}

// The caller owns the loop: pull batches until the shape is up to date.
func ExampleShapeStream_All() {
	srv := demoServer()
	defer srv.Close()

	c := &client.Client{BaseURL: srv.URL, HTTPClient: srv.Client()}
	st, err := c.Stream(client.ShapeRequest{Table: "todos", Columns: []string{"id", "title"}})
	if err != nil {
		panic(err)
	}
	for b, err := range st.All(context.Background()) {
		if err != nil {
			panic(err)
		}
		for _, m := range b.Messages {
			if m.IsData() {
				fmt.Println(m.Headers.Operation, m.Key)
			}
		}
		if b.UpToDate {
			break
		}
	}
	fmt.Println("schema:", st.Schema().Names(), "primary key:", st.Schema().PrimaryKey())
	// Output:
	// insert "public"."todos"/"1"
	// insert "public"."todos"/"2"
	// schema: [id title] primary key: [id]
}
