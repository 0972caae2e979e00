package pg_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/galvani-sync/galvani/internal/pg"
)

// jsonStringTests give AppendJSONString's exact output. Where it differs
// from encoding/json's bytes (\b, \f and <, >, & are written differently),
// the two still decode to the same string.
var jsonStringTests = []struct {
	name string
	in   string
	want string
}{
	{name: "empty", in: "", want: `""`},
	{name: "plain", in: "hello world", want: `"hello world"`},
	{name: "quote and backslash", in: `a"b\c`, want: `"a\"b\\c"`},
	{name: "newline", in: "line\nbreak", want: `"line\nbreak"`},
	{name: "carriage return and tab", in: "\r\t", want: `"\r\t"`},
	{name: "other control characters", in: "\x00\x01\x08\x0c\x1f", want: `"\u0000\u0001\u0008\u000c\u001f"`},
	{name: "DEL is not a control character in JSON", in: "\x7f", want: "\"\x7f\""},
	{name: "HTML characters are not escaped", in: "<a&b>", want: `"<a&b>"`},
	{name: "multi-byte UTF-8", in: "é日本🎉", want: `"é日本🎉"`},
	{name: "replacement character itself", in: "\uFFFD", want: "\"\uFFFD\""},
	{name: "invalid byte", in: "a\xffb", want: `"a\ufffdb"`},
	{name: "each invalid byte is replaced", in: "\xff\xfe", want: `"\ufffd\ufffd"`},
	{name: "truncated sequence at end", in: "a\xc3", want: `"a\ufffd"`},
	{name: "UTF-8 encoded surrogate", in: "\xed\xa0\x80", want: `"\ufffd\ufffd\ufffd"`},
	{name: "line and paragraph separators", in: "a\u2028b\u2029c", want: `"a\u2028b\u2029c"`},
	{name: "JSON text stays a string", in: `{"a":[1,2]}`, want: `"{\"a\":[1,2]}"`},
}

func TestAppendJSONString(t *testing.T) {
	for _, tt := range jsonStringTests {
		t.Run(tt.name, func(t *testing.T) {
			got := pg.AppendJSONString([]byte("x:"), tt.in)
			if string(got) != "x:"+tt.want {
				t.Fatalf("AppendJSONString(%q, %q) = %s, want x:%s", "x:", tt.in, got, tt.want)
			}
			checkJSONString(t, tt.in, got[2:])
		})
	}
}

// FuzzAppendJSONString checks AppendJSONString against encoding/json: for
// any s the output is valid UTF-8 JSON on one line that decodes to what
// json.Marshal(s) decodes to (s with each invalid byte replaced by U+FFFD).
func FuzzAppendJSONString(f *testing.F) {
	for _, tt := range jsonStringTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkJSONString(t, s, pg.AppendJSONString(nil, s))
	})
}

// checkJSONString checks that out is AppendJSONString(nil, in) as promised.
func checkJSONString(t *testing.T, in string, out []byte) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("AppendJSONString(nil, %q) = %q, not valid UTF-8", in, out)
	}
	if i := bytes.IndexAny(out, "\n\r"); i >= 0 {
		t.Fatalf("AppendJSONString(nil, %q) = %q, holds a raw line break at %d", in, out, i)
	}
	var got string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("AppendJSONString(nil, %q) = %q, not a JSON string: %v", in, out, err)
	}
	// encoding/json replaces every invalid byte by U+FFFD, as converting
	// to []rune does (strings.ToValidUTF8 would replace a run of them by
	// one, which is not what either encoder does).
	if want := string([]rune(in)); got != want {
		t.Fatalf("AppendJSONString(nil, %q) = %q, decodes to %q, want %q", in, out, got, want)
	}
	std, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("json.Marshal(%q): %v", in, err)
	}
	var fromStd string
	if err := json.Unmarshal(std, &fromStd); err != nil {
		t.Fatalf("json.Unmarshal(%q): %v", std, err)
	}
	if got != fromStd {
		t.Fatalf("AppendJSONString(nil, %q) decodes to %q; json.Marshal gives %s, which decodes to %q", in, got, std, fromStd)
	}
}

func TestAppendValue(t *testing.T) {
	tests := []struct {
		name string
		in   pg.Value
		want string
	}{
		{name: "NULL", in: pg.Value{Null: true}, want: `null`},
		{name: "NULL ignores text", in: pg.Value{Null: true, Text: "x"}, want: `null`},
		{name: "empty text is not NULL", in: pg.Value{}, want: `""`},
		{name: "the text null is a string", in: pg.Value{Text: "null"}, want: `"null"`},
		{name: "numbers stay strings", in: pg.Value{Text: "42"}, want: `"42"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(pg.AppendValue(nil, tt.in)); got != tt.want {
				t.Errorf("AppendValue(nil, %+v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestAppendRowObject(t *testing.T) {
	rel := &pg.Relation{
		Schema: "public",
		Name:   "items",
		Columns: []pg.Column{
			{Name: "id"},
			{Name: "title"},
			{Name: `we"ird`},
			{Name: "gone"},
		},
		PK: []int{0},
	}
	row := pg.Row{text("1"), text("line\none"), null, text("x")}
	tests := []struct {
		name string
		cols []int
		want string
	}{
		{name: "all columns", cols: []int{0, 1, 2, 3}, want: `{"id":"1","title":"line\none","we\"ird":null,"gone":"x"}`},
		{name: "selected columns in the order given", cols: []int{2, 0}, want: `{"we\"ird":null,"id":"1"}`},
		{name: "one column", cols: []int{3}, want: `{"gone":"x"}`},
		{name: "no columns", cols: nil, want: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pg.AppendRowObject([]byte("["), rel, row, tt.cols)
			if string(got) != "["+tt.want {
				t.Fatalf("AppendRowObject(%q, items, %v, %v) = %s, want [%s", "[", row, tt.cols, got, tt.want)
			}
			var obj map[string]*string
			if err := json.Unmarshal(got[1:], &obj); err != nil {
				t.Fatalf("AppendRowObject(nil, items, %v, %v) = %s, not a JSON object: %v", row, tt.cols, got[1:], err)
			}
			if len(obj) != len(tt.cols) {
				t.Errorf("AppendRowObject(nil, items, %v, %v) has %d keys, want %d", row, tt.cols, len(obj), len(tt.cols))
			}
		})
	}
}
