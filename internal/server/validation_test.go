package server_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestValidationErrors checks the 400 responses of protocol §2.2: the body
// {"message":"Invalid request","errors":{…}} with the exact messages,
// cache-control no-store, no shape headers, and no shape created.
func TestValidationErrors(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	h := newHarness(t, harnessOptions{}, `
		CREATE TABLE items (id int PRIMARY KEY, title text);
		CREATE VIEW items_view AS SELECT * FROM items;
		CREATE TABLE "Items" (id int PRIMARY KEY);
	`)
	// An existing shape, so handles are known to the server.
	s := h.sync(t, "items")

	long := strings.Repeat("a", 64)
	tests := []struct {
		name  string
		query string
		want  map[string][]string
	}{
		{"missing offset", "table=items", map[string][]string{"offset": {"can't be blank"}}},
		{"empty offset", "table=items&offset=", map[string][]string{"offset": {"can't be blank"}}},
		{"offset word", "table=items&offset=invalid", map[string][]string{"offset": {"has invalid format"}}},
		{"negative op", "table=items&offset=0_-1&handle=" + s.handle, map[string][]string{"offset": {"has invalid format"}}},
		{"no op", "table=items&offset=10&handle=" + s.handle, map[string][]string{"offset": {"has invalid format"}}},
		{"three parts", "table=items&offset=1_2_3&handle=" + s.handle, map[string][]string{"offset": {"has invalid format"}}},
		{"trailing space", "table=items&offset=1_2%20&handle=" + s.handle, map[string][]string{"offset": {"has invalid format"}}},
		{"fraction", "table=items&offset=10_32.1&handle=" + s.handle, map[string][]string{"offset": {"has invalid format"}}},
		{"-2", "table=items&offset=-2", map[string][]string{"offset": {"has invalid format"}}},
		{"missing table", "offset=-1", map[string][]string{"table": {"can't be blank"}}},
		{"empty table", "table=&offset=-1", map[string][]string{"table": {"can't be blank"}}},
		{"missing table and offset", "live=false", map[string][]string{"table": {"can't be blank"}, "offset": {"can't be blank"}}},
		{"empty schema part", "table=.x&offset=-1", map[string][]string{"table": {"Invalid zero-length delimited identifier"}}},
		{"empty quoted", `table=""&offset=-1`, map[string][]string{"table": {"Invalid zero-length delimited identifier"}}},
		{"special characters", "table=foob@r&offset=-1", map[string][]string{"table": {"Invalid unquoted identifier contains special characters: foob@r"}}},
		{"unquoted quote", `table=Foo"Bar"&offset=-1`, map[string][]string{"table": {`Invalid unquoted identifier contains special characters: Foo"Bar"`}}},
		{"unescaped quote", `table="Foo"Bar"&offset=-1`, map[string][]string{"table": {`Invalid identifier with unescaped quote: Foo"Bar`}}},
		{"too many dots", "table=a.b.c&offset=-1", map[string][]string{"table": {"Invalid relation identifier, too many delimiters: a.b.c"}}},
		{"too long", "table=" + long + "&offset=-1", map[string][]string{"table": {"Identifier is too long (max length is 63)"}}},
		{"unknown table", "table=nonexistent&offset=-1", map[string][]string{"table": {`Table "public"."nonexistent" does not exist. If the table name contains capitals or special characters you must quote it.`}}},
		{"unknown schema", "table=nope.items&offset=-1", map[string][]string{"table": {`Table "nope"."items" does not exist. If the table name contains capitals or special characters you must quote it.`}}},
		{"view", "table=items_view&offset=-1", map[string][]string{"table": {`Table "public"."items_view" does not exist. If the table name contains capitals or special characters you must quote it.`}}},
		{"capitals lowered", "table=ITEMS_VIEW&offset=-1", map[string][]string{"table": {`Table "public"."items_view" does not exist. If the table name contains capitals or special characters you must quote it.`}}},
		{"quote in unknown name", `table="a""b"&offset=-1`, map[string][]string{"table": {`Table "public"."a\"b" does not exist. If the table name contains capitals or special characters you must quote it.`}}},
		{"handle missing", "table=items&offset=0_0", map[string][]string{"handle": {"can't be blank when offset != -1"}}},
		{"handle empty", "table=items&offset=0_inf&handle=", map[string][]string{"handle": {"can't be blank when offset != -1"}}},
		{"live with -1", "table=items&offset=-1&live=true", map[string][]string{"live": {"can't be true when offset == -1"}}},
		{"bare live with -1", "table=items&offset=-1&live", map[string][]string{"live": {"can't be true when offset == -1"}}},
		{"live with now", "table=items&offset=now&live=true", map[string][]string{"live": {"can't be true when offset is 'now'"}}},
		{"live_sse without live", "table=items&offset=0_0&handle=" + s.handle + "&live_sse=true", map[string][]string{"live_sse": {"can't be true unless live is also true"}}},
		{"live_sse false live", "table=items&offset=0_0&handle=" + s.handle + "&live=false&live_sse=true", map[string][]string{"live_sse": {"can't be true unless live is also true"}}},
		{"replica", "table=items&offset=-1&replica=partial", map[string][]string{"replica": {"is invalid"}}},
		{"replica case", "table=items&offset=-1&replica=FULL", map[string][]string{"replica": {"is invalid"}}},
		{"log", "table=items&offset=-1&log=some", map[string][]string{"log": {"is invalid"}}},
		{"columns without primary key", "table=items&offset=-1&columns=title", map[string][]string{"columns": {"The list of columns must include all primary key columns, missing: id"}}},
		{"unknown column", "table=items&offset=-1&columns=id,invalid", map[string][]string{"columns": {"The following columns are not found on the table: invalid"}}},
		{"quoted unknown column", `table=items&offset=-1&columns=id,"Title"`, map[string][]string{"columns": {"The following columns are not found on the table: Title"}}},
		{"bad column identifier", "table=items&offset=-1&columns=id,ti-tle", map[string][]string{"columns": {"Invalid unquoted identifier contains special characters: ti-tle"}}},
		{"params key not a number", "table=items&offset=-1&params[a]=1", map[string][]string{"params": {"Parameters can only use numbers as keys"}}},
		{"params key zero", "table=items&offset=-1&params[0]=1", map[string][]string{"params": {"Parameters can only use numbers as keys"}}},
		{"params gap", "table=items&offset=-1&params[1]=x&params[3]=y", map[string][]string{"params": {"Parameters must be numbered sequentially, starting from 1"}}},
		{"params not from 1", "table=items&offset=-1&params[2]=x", map[string][]string{"params": {"Parameters must be numbered sequentially, starting from 1"}}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shapesBefore, dirsBefore := h.registry.Len(), h.shapeDirs(t)
			query := tt.query
			status, header, body := h.getRaw(t, query)
			if status != http.StatusBadRequest {
				t.Fatalf("GET ?%s = %d %s, want 400", query, status, body)
			}
			var got struct {
				Message string              `json:"message"`
				Errors  map[string][]string `json:"errors"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("GET ?%s: body %s: %v", query, body, err)
			}
			if got.Message != "Invalid request" {
				t.Errorf("GET ?%s: message %q, want %q", query, got.Message, "Invalid request")
			}
			if diff := cmp.Diff(tt.want, got.Errors); diff != "" {
				t.Errorf("GET ?%s: errors differ (-want +got):\n%s", query, diff)
			}
			if cc := header.Get("cache-control"); cc != "no-store" {
				t.Errorf("GET ?%s: cache-control %q, want no-store", query, cc)
			}
			if sc := header.Get("surrogate-control"); sc != "no-store" {
				t.Errorf("GET ?%s: surrogate-control %q, want no-store", query, sc)
			}
			for _, name := range []string{"electric-handle", "electric-offset", "electric-schema", "electric-has-data", "electric-cursor", "electric-up-to-date", "etag"} {
				if v, ok := header[http.CanonicalHeaderKey(name)]; ok {
					t.Errorf("GET ?%s: 400 carries %s: %v", query, name, v)
				}
			}
			if n := h.registry.Len(); n != shapesBefore {
				t.Errorf("GET ?%s: registry holds %d shapes, %d before: a failed request created a shape", query, n, shapesBefore)
			}
			if dirs := h.shapeDirs(t); !slices.Equal(dirs, dirsBefore) {
				t.Errorf("GET ?%s: shape directories %v, before %v", query, dirs, dirsBefore)
			}
		})
	}
}
