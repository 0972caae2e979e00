package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzParseShapeRequest: any query string either parses into a request or
// is refused with a 400 in the protocol's error body; it never panics.
func FuzzParseShapeRequest(f *testing.F) {
	for _, seed := range []string{
		"table=items&offset=-1",
		"table=items&offset=0_0&handle=h&live=true&cursor=5",
		"table=items&offset=now&live",
		`table="My"."T"&offset=12_3&handle=h&columns="a,b",c&replica=full&log=changes_only`,
		"table=a.b.c&offset=1_2_3",
		"table=t&offset=-1&where=id = $1&params[1]=5&params[2]=6",
		`table=t&offset=-1&params={"1":"a","2":true}`,
		"table=t&offset=-1&params[x]=1",
		"table=t&offset=-1&live_sse=true",
		"offset=%ff&table=%00",
		"table=t;offset=-1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/shape", nil)
		r.URL.RawQuery = raw
		q, err := strictQuery(r)
		if err != nil {
			checkInvalid(t, raw, err)
			return
		}
		req, err := parseShapeRequest(q)
		if err != nil {
			checkInvalid(t, raw, err)
			return
		}
		if req.schema == "" || req.table == "" || req.offsetText == "" {
			t.Fatalf("parseShapeRequest(%q) accepted a request without table or offset: %+v", raw, req)
		}
		if len(req.paramList()) != len(req.params) {
			t.Fatalf("parseShapeRequest(%q): params not numbered 1..n: %v", raw, req.params)
		}
	})
}

// FuzzReadSubset: any POST body is read as subset parameters or refused
// with the §2.5 error shapes; it never panics.
func FuzzReadSubset(f *testing.F) {
	for _, seed := range []string{
		"", "{}", `{"where":"id > 1","order_by":"id","limit":5}`, `{"subset":{"params":{"1":"x"}}}`,
		`[1]`, `{"limit":"x"}`, `{"params":[1]}`, `{`, `null`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/v1/shape?table=t&offset=-1", bytes.NewBufferString(body))
		sp, err := readSubset(r, url.Values{})
		if err != nil {
			var he *httpError
			if !errors.As(err, &he) || (he.status != http.StatusBadRequest && he.status != http.StatusRequestEntityTooLarge) {
				t.Fatalf("readSubset(%q) = %v; want a 400 or 413", body, err)
			}
			return
		}
		if _, err := sp.request(); err != nil {
			var he *httpError
			if !errors.As(err, &he) || he.status != http.StatusBadRequest {
				t.Fatalf("subset request(%q) = %v; want a 400", body, err)
			}
		}
	})
}

func checkInvalid(t *testing.T, raw string, err error) {
	t.Helper()
	var he *httpError
	if !errors.As(err, &he) || he.status != http.StatusBadRequest {
		t.Fatalf("parse(%q) = %v; want a 400", raw, err)
	}
	b, jerr := json.Marshal(he.body)
	if jerr != nil {
		t.Fatalf("parse(%q): error body does not encode: %v", raw, jerr)
	}
	var body struct {
		Message string                     `json:"message"`
		Errors  map[string]json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(b, &body) != nil || body.Message != "Invalid request" || len(body.Errors) == 0 {
		t.Fatalf("parse(%q): error body %s is not the protocol's", raw, b)
	}
}
