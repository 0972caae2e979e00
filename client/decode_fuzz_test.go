package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/galvani-sync/galvani/protocol"
)

var messageSeeds = []string{
	`[]`,
	``,
	`[{"headers":{"control":"up-to-date","global_last_seen_lsn":"23805808"}}]`,
	`[{"key":"\"public\".\"items\"/\"1\"","value":{"id":"1","title":"hello","note":null},"headers":{"operation":"insert","relation":["public","items"]}}]`,
	`[{"key":"\"public\".\"items\"/\"42\"","value":{"id":"42"},"old_value":{"n":"6"},"headers":{"operation":"update","relation":["public","items"],"lsn":"23805808","op_position":4,"txids":[751],"last":true}}]`,
	`[{"key":"k","value":{"id":"1"},"headers":{"operation":"delete","lsn":"1","op_position":0,"key_change_to":"k2"}},{"key":"k2","value":{"id":"2"},"headers":{"operation":"insert","lsn":"1","op_position":1,"key_change_from":"k"}}]`,
	`[{"headers":{"control":"snapshot-end","xmin":"1000","xmax":"1050","xip_list":["1025"]}}]`,
	`[{"headers":{"event":"move-out","patterns":[{"pos":0,"value":"abc"}],"txids":[1]}}]`,
	`[{"key":"k","value":{},"headers":{"operation":"insert","snapshot_mark":42,"tags":["a/b"],"active_conditions":[true]}}]`,
	`{"headers":{}}`,
	`[{"key":"k","headers":{"operation":"upsert"}}]`,
	`[{"headers":{"lsn":"18446744073709551616","op_position":18446744073709551615}}]`,
	`null`,
}

// FuzzDecodeMessages: the response decoder may reject any body but never
// panics, and what it accepts survives a round trip through JSON.
func FuzzDecodeMessages(f *testing.F) {
	for _, s := range messageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := decodeMessages(body)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("decodeMessages(%q) error = %v, want ErrBadResponse", body, err)
			}
			return
		}
		for i := range msgs {
			m := &msgs[i]
			if m.IsData() && m.Key == "" {
				t.Fatalf("decodeMessages(%q) accepted a data message without key", body)
			}
			if off, ok := m.Offset(); ok {
				if back, err := protocol.ParseOffset(off.String()); err != nil || back != off {
					t.Fatalf("message offset %v does not round-trip: %v, %v", off, back, err)
				}
			}
		}
		if len(msgs) == 0 {
			return
		}
		enc, err := json.Marshal(msgs)
		if err != nil {
			t.Fatalf("re-encoding %v: %v", msgs, err)
		}
		again, err := decodeMessages(enc)
		if err != nil {
			t.Fatalf("decodeMessages(%s) of re-encoded messages: %v", enc, err)
		}
		if d := cmp.Diff(msgs, again, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip of %q changed the messages (-first +second):\n%s", body, d)
		}
	})
}

// FuzzSSEEvents: the SSE reader never panics, never returns an event
// containing a raw line end other than the joins of data lines, and ends.
func FuzzSSEEvents(f *testing.F) {
	f.Add([]byte("data: {}\n\n"))
	f.Add([]byte(": keep-alive\n\ndata: [1]\r\n\r\n"))
	f.Add([]byte("event: x\nid: 3\nretry: 10\ndata: a\ndata: b\n\ndata\n\n"))
	f.Add([]byte("data: cut short"))
	f.Add([]byte("\n\n\n:\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		_, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &sseConn{body: io.NopCloser(bytes.NewReader(stream)), cancel: cancel}
		c.r = bufio.NewReaderSize(c.body, 16)
		for range len(stream) + 1 {
			data, err := c.event()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("event() error = %v, want io.EOF at the end", err)
				}
				return
			}
			if bytes.ContainsRune(data, '\r') && !bytes.Contains(stream, []byte("\r")) {
				t.Fatalf("event %q has a carriage return not in the stream", data)
			}
		}
		t.Fatalf("event() returned more events than the stream has bytes")
	})
}

// FuzzParseSchema: the schema parser never panics; what it accepts keeps
// its column names in order.
func FuzzParseSchema(f *testing.F) {
	f.Add(`{"id":{"type":"int4","pk_index":0,"not_null":true},"title":{"type":"text","max_length":20}}`)
	f.Add(`{"a":{"type":"int4","dims":2},"b":{"type":"numeric","precision":10,"scale":2}}`)
	f.Add(`{}`)
	f.Add(`{"x":{"type":"int4","pk_index":1000000000}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		schema, err := ParseSchema(s)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("ParseSchema(%q) error = %v, want ErrBadResponse", s, err)
			}
			return
		}
		_ = schema.PrimaryKey()
		if len(schema.Names()) != len(schema) {
			t.Fatalf("ParseSchema(%q) names %v for %d columns", s, schema.Names(), len(schema))
		}
	})
}
