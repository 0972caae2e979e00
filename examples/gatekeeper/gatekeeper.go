// Package gatekeeper is an example of the proxy-auth pattern for Galvani:
// a reverse proxy in front of the shape endpoint that authenticates each
// request, adds the server's secret, and forces a per-user where clause,
// so a user can read only their own rows however they tamper with the
// request.
//
// The browser (or any Electric client) talks to the gatekeeper as if it
// were the server: GET /v1/shape?table=items&offset=…, with
// "Authorization: Bearer <token>". The gatekeeper
//
//   - answers 401 unless the token is known, and 405 for anything but
//     GET and HEAD (no DELETE, no POST bodies that could carry
//     parameters);
//   - serves only the tables it is configured with, each with the column
//     that names a row's owner;
//   - rebuilds the query from an allow-list: the protocol's position and
//     mode parameters (offset, handle, live, live_sse, cursor, columns,
//     replica, log, cache busters) pass, everything else is dropped
//     (where, params[n], subset__*, secret, unknown parameters); then it
//     sets where to `"<owner column>" = $1`, params[1] to the user and
//     secret to the server's secret;
//   - forwards to the server's /v1/shape and streams the answer back
//     unbuffered (long-polls and SSE alike), without the user's token.
//
// A handle taken from another user's shape does not help: the server
// answers a handle that is not the current one of the (forced) definition
// with 409 and the user's own handle.
//
// The token → user map is static to keep the example small; a real
// deployment would verify a session or a JWT here instead.
package gatekeeper

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// ShapePath is the shape endpoint, on the gatekeeper and on the server.
const ShapePath = "/v1/shape"

// passThrough are the query parameters a client may choose: its position
// in the log and how it reads it. None of them can widen the rows.
var passThrough = []string{
	"offset", "handle", "live", "live_sse", "experimental_live_sse", "cursor",
	"columns", "replica", "log", "cache-buster", "expired_handle",
}

// Config configures a gatekeeper.
type Config struct {
	// Upstream is the Galvani server's root URL.
	Upstream *url.URL
	// Secret is the server's ELECTRIC_SECRET, added to every request.
	Secret string
	// Tokens maps bearer tokens to user ids.
	Tokens map[string]string
	// Tables maps each table clients may read to the column holding a
	// row's owner (compared with the user id).
	Tables map[string]string
	// Transport sends requests upstream; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// New returns the gatekeeper's handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Upstream == nil || cfg.Upstream.Scheme == "" || cfg.Upstream.Host == "" {
		return nil, errors.New("gatekeeper: Upstream must be an absolute URL")
	}
	if len(cfg.Tables) == 0 {
		return nil, errors.New("gatekeeper: no tables configured")
	}
	g := &gatekeeper{cfg: cfg}
	g.proxy = &httputil.ReverseProxy{
		Rewrite:       g.rewrite,
		Transport:     cfg.Transport,
		FlushInterval: -1, // stream long-polls and SSE as they come
	}
	return g, nil
}

type gatekeeper struct {
	cfg   Config
	proxy *httputil.ReverseProxy
}

func (g *gatekeeper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != ShapePath {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	user, ok := g.user(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	in := r.URL.Query()
	table := in.Get("table")
	owner, ok := g.cfg.Tables[table]
	if !ok || len(in["table"]) != 1 {
		http.Error(w, "table not allowed", http.StatusForbidden)
		return
	}
	out := url.Values{}
	for _, p := range passThrough {
		if v, ok := in[p]; ok {
			out.Set(p, v[0])
		}
	}
	out.Set("table", table)
	out.Set("where", quoteIdent(owner)+" = $1")
	out.Set("params[1]", user)
	if g.cfg.Secret != "" {
		out.Set("secret", g.cfg.Secret)
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = out.Encode()
	g.proxy.ServeHTTP(w, r2)
}

// rewrite points the outgoing request at the server's shape endpoint with
// the query ServeHTTP built, and drops the user's credentials.
func (g *gatekeeper) rewrite(pr *httputil.ProxyRequest) {
	u := *g.cfg.Upstream
	u.Path = strings.TrimSuffix(u.Path, "/") + ShapePath
	u.RawPath = ""
	u.RawQuery = pr.In.URL.RawQuery
	pr.Out.URL = &u
	pr.Out.Host = u.Host
	pr.Out.Header.Del("Authorization")
	pr.Out.Header.Del("Cookie")
	pr.SetXForwarded()
}

// user returns the user a bearer token belongs to, comparing tokens in
// constant time.
func (g *gatekeeper) user(auth string) (string, bool) {
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return "", false
	}
	user, found := "", false
	for t, u := range g.cfg.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			user, found = u, true
		}
	}
	return user, found
}

// quoteIdent double-quotes a column name for the where clause.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
