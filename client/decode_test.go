package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/galvani-sync/galvani/protocol"
)

// decodeMessagesJSON is the reference decoder: encoding/json, as the
// client decoded bodies before it had its own parser.
func decodeMessagesJSON(body []byte) ([]protocol.Message, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, nil
	}
	if trimmed[0] != '[' {
		return nil, fmt.Errorf("%w: body is not a JSON array", ErrBadResponse)
	}
	var msgs []protocol.Message
	if err := json.Unmarshal(trimmed, &msgs); err != nil {
		return nil, fmt.Errorf("%w: body: %v", ErrBadResponse, err)
	}
	for i := range msgs {
		if err := checkMessage(&msgs[i]); err != nil {
			return nil, err
		}
	}
	return msgs, nil
}

// decoderSeeds are bodies the fast path decodes, bodies it hands to
// encoding/json, and bodies both reject.
var decoderSeeds = []string{
	`[{"key":"\"public\".\"items\"/\"1\"","value":{"id":"1","name":"a\\b\"c\/d\b\f\n\r\t","note":null},"headers":{"operation":"insert","relation":["public","items"]}}]`,
	` [ { "key" : "k" , "value" : { "a" : "1" , "b" : null } , "headers" : { "operation" : "update" , "lsn" : "1" , "op_position" : 0 , "txids" : [ 1 , 2 ] , "last" : true } } ] `,
	`[{"key":"k","value":{"a":"1"},"old_value":{"a":"0","b":null},"headers":{"operation":"update","relation":["s","t"],"lsn":"23805808","op_position":4,"txids":[751],"last":false}}]`,
	`[{"key":"k","value":{"id":"1"},"headers":{"operation":"delete","lsn":"1","op_position":0,"key_change_to":"k2"}},{"key":"k2","value":{"id":"2"},"headers":{"operation":"insert","lsn":"1","op_position":1,"key_change_from":"k"}}]`,
	`[{"headers":{"control":"snapshot-end","xmin":"1000","xmax":"1050","xip_list":["1025","1030"]}},{"headers":{"control":"up-to-date","global_last_seen_lsn":"9"}}]`,
	`[{"headers":{"control":"snapshot-end","xmin":"1","xmax":"1","xip_list":[]}}]`,
	`[{"key":"k","value":{},"headers":{"operation":"insert","relation":[],"txids":[]}}]`,
	`[{"key":"\u00e9\u2028\ud83d\ude00\ud83d\u0041\udc00x\ud800","value":{"\u0069d":"é✓😀"},"headers":{"operation":"insert"}}]`,
	"[{\"key\":\"\xff\xfe\xc3\",\"value\":{\"a\":\"\xed\xa0\x80\"},\"headers\":{\"operation\":\"insert\"}}]",
	`[{"key":"a","key":"b","value":{"x":"1","x":null,"x":"3"},"headers":{"operation":"insert"}}]`,
	`[{"Key":"k","VALUE":{"a":"1"},"Headers":{"Operation":"insert"}}]`,
	`[{"key":"k","value":{"a":"1"},"value":{"b":"2"},"headers":{"operation":"insert"}}]`,
	`[{"key":"k","value":null,"headers":{"operation":"insert"}}]`,
	`[{"key":null,"value":{"a":1},"headers":{"operation":"insert"}}]`,
	`[{"key":"k","headers":{"operation":"insert","op_position":18446744073709551615,"txids":[18446744073709551616]}}]`,
	`[{"key":"k","headers":{"operation":"insert","op_position":1.0}}]`,
	`[{"key":"k","headers":{"operation":"insert","op_position":-1}}]`,
	`[{"key":"k","headers":{"operation":"insert","op_position":01}}]`,
	`[{"key":"k","headers":{"operation":"upsert"}}]`,
	`[{"headers":{"event":"move-out","patterns":[{"pos":0,"value":"abc"}],"txids":[1]}}]`,
	`[{"key":"k","value":{},"headers":{"operation":"insert","snapshot_mark":42,"tags":["a/b"],"active_conditions":[true]}}]`,
	`[{"headers":{}},{}, null]`,
	`[{"key":"k","extra":{"nested":[1,{"a":null}]},"headers":{"operation":"insert"}}]`,
	`[{"key":"k","headers":{"operation":"insert"}},]`,
	`[{"key":"k","headers":{"operation":"insert"}}] x`,
	`[{"key":"k\u12","headers":{"operation":"insert"}}]`,
	"[{\"key\":\"a\tb\",\"headers\":{\"operation\":\"insert\"}}]",
	`[{"key":"k","headers":{"operation":"insert","last":null}}]`,
	`[]`,
	` [ ] `,
	``,
	`null`,
	`{"headers":{}}`,
	`[{"key":"k"`,
}

// FuzzDecoderMatchesEncodingJSON checks the response decoder against
// encoding/json: for any body, both fail, or both give equal messages
// (nil and empty kept apart).
func FuzzDecoderMatchesEncodingJSON(f *testing.F) {
	for _, s := range append(decoderSeeds, messageSeeds...) {
		f.Add([]byte(s))
	}
	f.Add(snapshotChunk(3))
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := decodeMessagesJSON(body)
		got, err := decodeMessages(body)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeMessages(%q) error = %v; encoding/json: %v", body, err, wantErr)
		}
		if err != nil {
			return
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("decodeMessages(%q) differs from encoding/json (-json +got):\n%s", body, d)
		}
	})
}

// FuzzDecodeMessageMatchesEncodingJSON does the same for one message, as
// an SSE event carries it.
func FuzzDecodeMessageMatchesEncodingJSON(f *testing.F) {
	for _, s := range decoderSeeds {
		f.Add([]byte(bytes.TrimSuffix(bytes.TrimPrefix([]byte(s), []byte("[")), []byte("]"))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want protocol.Message
		wantErr := json.Unmarshal(data, &want)
		if wantErr == nil {
			wantErr = checkMessage(&want)
		}
		got, err := decodeMessage(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeMessage(%q) error = %v; encoding/json: %v", data, err, wantErr)
		}
		if err != nil {
			return
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("decodeMessage(%q) differs from encoding/json (-json +got):\n%s", data, d)
		}
	})
}

// TestDecodeMessagesCopies checks that decoded messages share no memory
// with the body, so the stream may reuse its buffer.
func TestDecodeMessagesCopies(t *testing.T) {
	body := snapshotChunk(100)
	msgs, err := decodeMessages(body)
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodeMessagesJSON(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'X'
	}
	if d := cmp.Diff(want, msgs); d != "" {
		t.Fatalf("messages changed with the body they were decoded from (-want +got):\n%s", d)
	}
}

// snapshotChunk returns a body like a snapshot chunk of n rows of the
// benchmark's six-column table, ending with snapshot-end.
func snapshotChunk(n int) []byte {
	b := []byte{'['}
	for i := range n {
		id := strconv.Itoa(i)
		b = fmt.Appendf(b, `{"key":"\"public\".\"items\"/\"%s\"","value":{"id":"%s","name":"name %s","email":"user%s@example.com","score":"%d","created":"2024-01-01 00:00:%02d+00","active":"%t"},"headers":{"operation":"insert","relation":["public","items"]}},`,
			id, id, id, id, i%1000, i%60, i%2 == 0)
	}
	return append(b, `{"headers":{"control":"snapshot-end","xmin":"1","xmax":"1","xip_list":[]}}]`...)
}

func BenchmarkDecodeMessages(b *testing.B) {
	body := snapshotChunk(40000)
	for _, bm := range []struct {
		name   string
		decode func([]byte) ([]protocol.Message, error)
	}{
		{"parser", decodeMessages},
		{"encoding_json", decodeMessagesJSON},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bm.decode(body); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/40001, "ns/msg")
		})
	}
}
