package nodeclient

import (
	"encoding/json"
	"strings"
	"testing"
)

func strp(s string) *string { return &s }

func TestDecodeEventUpToDate(t *testing.T) {
	line := `{"event":"up-to-date","shape":"items","handle":"h1","offset":"0_0","lsn":"1234",` +
		`"rows":{"\"public\".\"items\"/\"1\"":{"id":"1","note":null,"tags":["a",null,"c"],"j":"{\"x\": 1}"}},` +
		`"shapeRows":{"\"public\".\"items\"/\"1\"":{"id":"1","note":null,"tags":["a",null,"c"],"j":"{\"x\": 1}"}}}`
	ev, err := DecodeEvent([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != EventUpToDate || ev.Shape != "items" || ev.Handle != "h1" || ev.Offset != "0_0" {
		t.Fatalf("bad header fields: %+v", ev)
	}
	if ev.LSN == nil || *ev.LSN != "1234" {
		t.Fatalf("lsn = %v", ev.LSN)
	}
	key := `"public"."items"/"1"`
	for name, rows := range map[string]map[string]map[string]*string{"rows": ev.Rows, "shapeRows": ev.ShapeRows} {
		row, ok := rows[key]
		if !ok {
			t.Fatalf("%s: key %s missing: %v", name, key, rows)
		}
		want := map[string]*string{"id": strp("1"), "note": nil, "tags": strp(`["a",null,"c"]`), "j": strp(`{"x": 1}`)}
		if len(row) != len(want) {
			t.Fatalf("%s: row = %v", name, row)
		}
		for col, w := range want {
			g, ok := row[col]
			if !ok {
				t.Fatalf("%s: column %s missing", name, col)
			}
			if (g == nil) != (w == nil) || (g != nil && *g != *w) {
				t.Errorf("%s: column %s = %v, want %v", name, col, show(g), show(w))
			}
		}
	}
	if ev.Status != nil || ev.Message != nil || ev.Text != "" {
		t.Fatalf("unexpected fields: %+v", ev)
	}
}

func show(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestDecodeEventLSNNull(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"event":"up-to-date","shape":"s","handle":"h","offset":"1_0","lsn":null,"rows":{},"shapeRows":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.LSN != nil {
		t.Fatalf("lsn = %q, want nil", *ev.LSN)
	}
	if ev.Rows == nil || len(ev.Rows) != 0 || ev.ShapeRows == nil {
		t.Fatalf("rows = %v shapeRows = %v, want empty non-nil maps", ev.Rows, ev.ShapeRows)
	}
}

func TestDecodeEventError(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"event":"error","shape":"items","status":400,"message":"HTTP Error 400 at http://x: {\"message\":\"Invalid request\"}"}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != EventError || ev.Shape != "items" || ev.Status == nil || *ev.Status != 400 {
		t.Fatalf("bad event: %+v", ev)
	}
	if !strings.Contains(ev.Text, `"Invalid request"`) || ev.Message != nil {
		t.Fatalf("text = %q message = %s", ev.Text, ev.Message)
	}

	ev, err = DecodeEvent([]byte(`{"event":"error","shape":null,"status":null,"message":"bad config"}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Shape != "" || ev.Status != nil || ev.Text != "bad config" {
		t.Fatalf("bad event: %+v", ev)
	}
}

func TestDecodeEventMessage(t *testing.T) {
	raw := `{"key":"\"public\".\"t\"/\"1\"","value":{"id":"1"},"headers":{"operation":"insert","relation":["public","t"]}}`
	ev, err := DecodeEvent([]byte(`{"event":"message","shape":"t","message":` + raw + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != EventMessage || ev.Text != "" {
		t.Fatalf("bad event: %+v", ev)
	}
	var m struct {
		Key     string            `json:"key"`
		Value   map[string]string `json:"value"`
		Headers map[string]any    `json:"headers"`
	}
	if err := json.Unmarshal(ev.Message, &m); err != nil {
		t.Fatal(err)
	}
	if m.Key != `"public"."t"/"1"` || m.Value["id"] != "1" || m.Headers["operation"] != "insert" {
		t.Fatalf("message = %+v", m)
	}
}

func TestDecodeEventSimple(t *testing.T) {
	for _, tc := range []struct{ line, event, shape string }{
		{`{"event":"started"}`, EventStarted, ""},
		{`{"event":"must-refetch","shape":"a"}`, EventMustRefetch, "a"},
		{`{"event":"shape","shape":"a","handle":"h","offset":"0_0","shapeRows":{"k":{"c":"v"}}}`, EventShape, "a"},
		{`{"event":"fetch-failed","shape":"a","status":null,"message":"fetch failed"}`, EventFetchFailed, "a"},
	} {
		ev, err := DecodeEvent([]byte(tc.line))
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		if ev.Event != tc.event || ev.Shape != tc.shape {
			t.Fatalf("%s: got %+v", tc.line, ev)
		}
	}
}

func TestDecodeEventInvalid(t *testing.T) {
	for _, line := range []string{`not json`, `{"shape":"x"}`, `{"event":"up-to-date","rows":{"k":{"c":{"bad json`} {
		if _, err := DecodeEvent([]byte(line)); err == nil {
			t.Errorf("%s: expected an error", line)
		}
	}
}

func TestEventString(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"event":"up-to-date","shape":"s","handle":"h","offset":"0_0","lsn":"7","rows":{"k":{"c":"v"}},"shapeRows":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := ev.String()
	want := "up-to-date shape=s handle=h offset=0_0 lsn=7 rows=1 shapeRows=0"
	if got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
