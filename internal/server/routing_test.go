package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/protocol"
)

// exposeHeaders is the exact access-control-expose-headers value of
// protocol §1.3.
const exposeHeaders = "electric-cursor,electric-handle,electric-has-data,electric-offset,electric-schema,electric-up-to-date,electric-internal-known-error,retry-after"

// TestRoutingAuthCORS checks routing, authentication and CORS with a
// secret configured (protocol §1.1–§1.4): every spelling of the shape path
// needs the secret on every method but OPTIONS (GHSA-m4f6-p2j8-rq76),
// secret= and api_secret= are accepted, preflights need none, /, /v1/health
// and unknown paths need none.
func TestRoutingAuthCORS(t *testing.T) {
	if testing.Short() {
		return
	}
	t.Parallel()
	const secret = "s3cret"
	h := newHarness(t, harnessOptions{secret: secret}, `
		CREATE TABLE items (id int PRIMARY KEY);
		INSERT INTO items VALUES (1);
	`)
	paths := []string{"/v1/shape", "/v1/shape/", "/v1//shape", "/v1/%73hape", "/v1/shape//"}
	const query = "table=items&offset=-1"
	const unauthorized = `{"message":"Unauthorized - Invalid API secret"}`

	t.Run("unauthorized", func(t *testing.T) {
		for _, path := range paths {
			for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
				for _, auth := range []string{"", "&secret=wrong", "&api_secret=wrong", "&secret=", "&secret=S3CRET", "&api_secret=" + secret + "x"} {
					target := path + "?" + query + auth
					status, header, body := h.request(t, method, target, nil)
					if status != http.StatusUnauthorized {
						t.Errorf("%s %s = %d, want 401", method, target, status)
						continue
					}
					want := unauthorized
					if method == http.MethodHead {
						want = ""
					}
					if string(body) != want {
						t.Errorf("%s %s: body %q, want %q", method, target, body, want)
					}
					if _, ok := header["Electric-Handle"]; ok {
						t.Errorf("%s %s: 401 carries electric-handle", method, target)
					}
				}
			}
		}
	})

	t.Run("encoded slash", func(t *testing.T) {
		// Whether /v1/%2Fshape is the shape path is unspecified; it must
		// not serve a shape without the secret either way.
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			target := "/v1/%2Fshape?" + query
			if status, _, body := h.request(t, method, target, nil); status != http.StatusUnauthorized && status != http.StatusNotFound {
				t.Errorf("%s %s = %d %q, want 401 or 404", method, target, status, body)
			}
		}
	})

	t.Run("authorized", func(t *testing.T) {
		var handle string
		for _, path := range paths {
			for _, auth := range []string{"&secret=" + secret, "&api_secret=" + secret} {
				target := path + "?" + query + auth
				status, header, body := h.request(t, http.MethodGet, target, nil)
				if status != http.StatusOK {
					t.Errorf("GET %s = %d %s, want 200", target, status, body)
					continue
				}
				if handle == "" {
					handle = header.Get("electric-handle")
				} else if got := header.Get("electric-handle"); got != handle {
					t.Errorf("GET %s: handle %s, want %s", target, got, handle)
				}
				if got := header.Get("access-control-expose-headers"); got != exposeHeaders {
					t.Errorf("GET %s: access-control-expose-headers %q, want %q", target, got, exposeHeaders)
				}
				if got := header.Get("access-control-allow-methods"); got != "GET, POST, HEAD, DELETE, OPTIONS" {
					t.Errorf("GET %s: access-control-allow-methods %q", target, got)
				}
				// HEAD: the GET's headers, no body.
				hs, hh, hb := h.request(t, http.MethodHead, target, nil)
				if hs != http.StatusOK || len(hb) != 0 {
					t.Errorf("HEAD %s = %d with %d body bytes, want 200 and none", target, hs, len(hb))
				}
				for _, name := range []string{"electric-handle", "electric-offset", "electric-schema", "electric-has-data", "cache-control", "etag", "content-type"} {
					if got, want := hh.Get(name), header.Get(name); got != want {
						t.Errorf("HEAD %s: %s %q, GET has %q", target, name, got, want)
					}
				}
			}
		}
	})

	t.Run("preflight", func(t *testing.T) {
		for _, path := range paths {
			for _, req := range []struct {
				request []string
				want    []string
			}{
				{[]string{"if-none-match, traceparent"}, []string{"if-none-match", "traceparent"}},
				{[]string{"If-None-Match,x-custom,Traceparent"}, []string{"if-none-match", "traceparent"}},
				{[]string{"traceparent", "x-other"}, []string{"traceparent"}},
				{[]string{"x-other"}, nil},
				{nil, nil},
			} {
				hdr := http.Header{"Origin": {"https://app.example"}}
				if req.request != nil {
					hdr["Access-Control-Request-Headers"] = req.request
				}
				status, header, body := h.request(t, http.MethodOptions, path+"?"+query, hdr)
				if status != http.StatusNoContent || len(body) != 0 {
					t.Errorf("OPTIONS %s (%v) = %d %q, want 204 and no body", path, req.request, status, body)
					continue
				}
				if got := header.Get("access-control-max-age"); got != "86400" {
					t.Errorf("OPTIONS %s: access-control-max-age %q, want 86400", path, got)
				}
				var allowed []string
				for _, v := range strings.Split(header.Get("access-control-allow-headers"), ",") {
					if v = strings.ToLower(strings.TrimSpace(v)); v != "" {
						allowed = append(allowed, v)
					}
				}
				slices.Sort(allowed)
				if !slices.Equal(allowed, req.want) {
					t.Errorf("OPTIONS %s with access-control-request-headers %q: access-control-allow-headers %q, want %v", path, req.request, header.Get("access-control-allow-headers"), req.want)
				}
				if got := header.Get("access-control-allow-origin"); got != "https://app.example" {
					t.Errorf("OPTIONS %s: access-control-allow-origin %q, want the request's origin", path, got)
				}
				if got := header.Get("access-control-expose-headers"); got != exposeHeaders {
					t.Errorf("OPTIONS %s: access-control-expose-headers %q", path, got)
				}
				if _, ok := header["Cache-Control"]; ok {
					t.Errorf("OPTIONS %s: cache-control %q, want none", path, header.Get("cache-control"))
				}
			}
		}
	})

	t.Run("health", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			status, header, body := h.request(t, method, "/v1/health", nil)
			want := `{"status":"active"}`
			if method == http.MethodHead {
				want = ""
			}
			if status != http.StatusOK || string(body) != want {
				t.Errorf("%s /v1/health = %d %q, want 200 %q", method, status, body, want)
			}
			if got := header.Get("content-type"); got != "application/json; charset=utf-8" {
				t.Errorf("/v1/health: content-type %q", got)
			}
			if got := header.Get("cache-control"); got != "no-cache, no-store, must-revalidate" {
				t.Errorf("/v1/health: cache-control %q", got)
			}
			if got := header.Get("access-control-expose-headers"); got != exposeHeaders {
				t.Errorf("/v1/health: access-control-expose-headers %q", got)
			}
			if got := header.Get("access-control-allow-origin"); got != "*" {
				t.Errorf("/v1/health: access-control-allow-origin %q, want *", got)
			}
		}
	})

	t.Run("root and unknown paths", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			if status, _, body := h.request(t, method, "/", nil); status != http.StatusOK || len(body) != 0 {
				t.Errorf("%s / = %d %q, want 200 and an empty body", method, status, body)
			}
		}
		for _, path := range []string{"/v1/shapes", "/v2/shape", "/v1/shape/x", "/shape", "/v1", "/v1/health/x", "/favicon.ico"} {
			status, header, body := h.request(t, http.MethodGet, path+"?"+query, nil)
			if status != http.StatusNotFound || string(body) != "Not found" {
				t.Errorf("GET %s = %d %q, want 404 %q", path, status, body, "Not found")
			}
			if got := header.Get("access-control-expose-headers"); got != exposeHeaders {
				t.Errorf("GET %s: access-control-expose-headers %q", path, got)
			}
			if got := header.Get("access-control-allow-methods"); got != "GET, HEAD" {
				t.Errorf("GET %s: access-control-allow-methods %q, want %q", path, got, "GET, HEAD")
			}
		}
	})

	t.Run("every response names the server", func(t *testing.T) {
		for _, target := range []string{"/", "/v1/health", "/nope", "/v1/shape?" + query, "/v1/shape?" + query + "&secret=" + secret} {
			_, header, _ := h.request(t, http.MethodGet, target, nil)
			if header.Get(protocol.HeaderServer) == "" {
				t.Errorf("GET %s: no %s header", target, protocol.HeaderServer)
			}
		}
	})
}
