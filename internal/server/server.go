package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/galvani-sync/galvani/internal/pg"
	"github.com/galvani-sync/galvani/internal/shapes"
	"github.com/galvani-sync/galvani/protocol"
)

// Catalog looks tables up by name (catalog.Inspector satisfies it).
type Catalog interface {
	Lookup(ctx context.Context, schema, name string) (*pg.Relation, error)
}

// Registry is what the server needs of the shape registry
// (*shapes.Registry satisfies it).
type Registry interface {
	Lookup(key string) (*shapes.Shape, bool)
	Get(handle string) (*shapes.Shape, bool)
	Resolve(ctx context.Context, def shapes.Definition, rel *pg.Relation) (*shapes.Shape, error)
	Delete(ctx context.Context, s *shapes.Shape) error
	Subset(ctx context.Context, s *shapes.Shape, req shapes.SubsetRequest) ([]byte, pg.LSN, error)
}

// Config configures a Server.
type Config struct {
	// Secret, when set, is required on shape requests (§1.2).
	Secret          string
	LongPollTimeout time.Duration
	CacheMaxAge     int // seconds
	CacheStaleAge   int // seconds
	// MaxInitialRequests and MaxExistingRequests bound concurrent shape
	// requests for new and known shapes (admission control, §12.4); 0
	// means no limit.
	MaxInitialRequests, MaxExistingRequests int64
	// Started, when set, is closed once replication is set up; requests
	// that create a shape wait up to StartTimeout for it (§2.6).
	Started <-chan struct{}
	// AllowDelete enables DELETE /v1/shape
	// (ELECTRIC_ENABLE_INTEGRATION_TESTING).
	AllowDelete bool
	// HealthDetail, when set, adds a "replication" object to /v1/health
	// (WAL retained by the slot, acknowledgement lag).
	HealthDetail func() map[string]any
	// Version appears in the electric-server header.
	Version string
}

// Server serves the shape API. It satisfies http.Handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	catalog  Catalog
	registry Registry
	global   func() pg.LSN // global_last_seen_lsn
	health   func() string // "active", "starting" or "waiting"
	now      func() time.Time

	mu       sync.Mutex
	reqIndex map[string]string // request key → handle (fast path)

	draining  chan struct{} // closed by Drain
	drainOnce sync.Once

	waiting           atomic.Int64 // live requests holding for changes
	initial, existing atomic.Int64 // admitted requests (admission control)
}

var _ http.Handler = (*Server)(nil)

// New returns a Server. global returns the LSN every shape is complete up
// to; health returns the replication state as /v1/health names it.
func New(cfg Config, log *slog.Logger, cat Catalog, reg Registry, global func() pg.LSN, health func() string) *Server {
	return &Server{
		cfg: cfg, log: log.With("subsystem", "http"), catalog: cat, registry: reg,
		global: global, health: health, now: time.Now, reqIndex: make(map[string]string),
		draining: make(chan struct{}),
	}
}

// Waiting returns the number of live requests waiting for changes.
func (s *Server) Waiting() int64 { return s.waiting.Load() }

func (s *Server) isDraining() bool {
	select {
	case <-s.draining:
		return true
	default:
		return false
	}
}

// Drain answers every waiting live request now (as a timeout: up-to-date
// with nothing new) and ends SSE streams, so a shutdown need not wait out
// the long-poll timeout. Clients simply reconnect.
func (s *Server) Drain() {
	s.drainOnce.Do(func() { close(s.draining) })
}

// route names what a normalised path addresses.
type route int

const (
	routeNone route = iota
	routeRoot
	routeShape
	routeHealth
)

// routeOf normalises the (already percent-decoded) path by dropping empty
// segments and says which endpoint it addresses. Routing and
// authentication both use it, so no spelling of the path reaches the shape
// handler without the secret check.
func routeOf(path string) route {
	var segs []string
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	switch strings.Join(segs, "/") {
	case "":
		return routeRoot
	case "v1/shape":
		return routeShape
	case "v1/health":
		return routeHealth
	}
	return routeNone
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set(protocol.HeaderServer, "Galvani/"+s.cfg.Version)
	h.Set("x-request-id", requestID())
	rt := routeOf(r.URL.Path)
	if rt == routeShape && r.Method != http.MethodOptions && !s.authorised(r) {
		h.Set("content-type", "application/json; charset=utf-8")
		h.Set("cache-control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		if r.Method != http.MethodHead {
			w.Write([]byte(`{"message":"Unauthorized - Invalid API secret"}`))
		}
		return
	}
	s.setCORS(h, r, rt)
	switch {
	case rt == routeShape && r.Method == http.MethodOptions:
		s.options(w, r)
	case rt == routeShape && (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodPost):
		if err := s.getShape(w, r); err != nil {
			s.writeError(w, r, err)
		}
	case rt == routeHealth && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.getHealth(w, r)
	case rt == routeRoot && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.WriteHeader(http.StatusOK)
	case rt == routeShape && r.Method == http.MethodDelete:
		if err := s.deleteShape(w, r); err != nil {
			s.writeError(w, r, err)
		}
	case rt == routeShape:
		h.Set("allow", "GET, HEAD, POST, DELETE, OPTIONS")
		s.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, body: map[string]string{"message": r.Method + " not allowed"}})
	default:
		h.Set("content-type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			w.Write([]byte("Not found"))
		}
	}
}

func (s *Server) authorised(r *http.Request) bool {
	if s.cfg.Secret == "" {
		return true
	}
	q := lastWins(r.URL.Query())
	if v, ok := q[protocol.ParamSecret]; ok {
		return v[0] == s.cfg.Secret
	}
	if v, ok := q[protocol.ParamSecretV0]; ok {
		return v[0] == s.cfg.Secret
	}
	return false
}

func (s *Server) setCORS(h http.Header, r *http.Request, rt route) {
	origin := r.Header.Get("origin")
	if origin == "" {
		origin = "*"
	}
	h.Set("access-control-allow-origin", origin)
	if rt == routeShape {
		h.Set("access-control-allow-methods", "GET, POST, HEAD, DELETE, OPTIONS")
	} else {
		h.Set("access-control-allow-methods", "GET, HEAD")
	}
	h.Set("access-control-expose-headers", protocol.ExposedHeaders)
}

// options answers a CORS preflight (§1.3).
func (s *Server) options(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("access-control-max-age", "86400")
	var allowed []string
	for _, line := range r.Header.Values("access-control-request-headers") {
		for _, name := range strings.Split(line, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "if-none-match" || name == "traceparent" {
				allowed = append(allowed, name)
			}
		}
	}
	if len(allowed) > 0 {
		h.Set("access-control-allow-headers", strings.Join(allowed, ", "))
	}
	w.WriteHeader(http.StatusNoContent)
}

// getHealth reports the replication state (§1.4).
func (s *Server) getHealth(w http.ResponseWriter, r *http.Request) {
	status := s.health()
	h := w.Header()
	h.Set("content-type", "application/json; charset=utf-8")
	h.Set("cache-control", "no-cache, no-store, must-revalidate")
	if status == "active" {
		w.WriteHeader(http.StatusOK)
	} else {
		w.WriteHeader(http.StatusAccepted)
	}
	if r.Method != http.MethodHead {
		body := map[string]any{"status": status}
		if s.cfg.HealthDetail != nil {
			if d := s.cfg.HealthDetail(); d != nil {
				body["replication"] = d
			}
		}
		b, _ := json.Marshal(body)
		w.Write(b)
	}
}

// requestID returns a random id for the x-request-id header.
func requestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
