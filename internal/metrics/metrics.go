// Package metrics exposes Galvani's Prometheus metrics. Collectors are
// registered on a prometheus.Registerer passed in (never the global
// registry), and read the engine's own counters and gauges through the
// functions in Sources when scraped, so the hot paths pay nothing for
// metrics beyond the atomic counters they keep anyway.
package metrics

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are read at scrape time. Any may be nil.
type Sources struct {
	Shapes          func() float64 // live shapes
	WaitingClients  func() float64 // live requests waiting for changes
	Transactions    func() float64 // replicated transactions processed (counter)
	ChangesRouted   func() float64 // changes appended to shape logs (counter)
	SnapshotRows    func() float64 // rows written by initial snapshots (counter)
	StorageBytes    func() float64 // bytes of shape logs on disk
	ReplicationLag  func() float64 // bytes between the WAL end and the acknowledged position
	RetainedWAL     func() float64 // bytes of WAL the slot retains
	ReceivedWALByte func() float64 // bytes of WAL received from Postgres (counter)
}

// Metrics holds the collectors that are updated directly.
type Metrics struct {
	requests *prometheus.CounterVec
}

// New registers Galvani's metrics on reg.
func New(reg prometheus.Registerer, src Sources) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "galvani_http_requests_total",
			Help: "HTTP requests served, by status code.",
		}, []string{"code"}),
	}
	cs := []prometheus.Collector{m.requests}
	gauge := func(name, help string, f func() float64) {
		if f != nil {
			cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
		}
	}
	counter := func(name, help string, f func() float64) {
		if f != nil {
			cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
		}
	}
	gauge("galvani_shapes", "Live shapes.", src.Shapes)
	gauge("galvani_clients_waiting", "Live requests waiting for changes (long-poll and SSE).", src.WaitingClients)
	counter("galvani_replication_transactions_total", "Replicated transactions processed.", src.Transactions)
	counter("galvani_changes_routed_total", "Changes appended to shape logs.", src.ChangesRouted)
	counter("galvani_snapshot_rows_total", "Rows written by initial snapshots.", src.SnapshotRows)
	gauge("galvani_storage_bytes", "Bytes of shape logs on disk.", src.StorageBytes)
	gauge("galvani_replication_lag_bytes", "Bytes between the end of the WAL and the position acknowledged to Postgres.", src.ReplicationLag)
	gauge("galvani_replication_slot_retained_wal_bytes", "Bytes of WAL the replication slot keeps Postgres from recycling.", src.RetainedWAL)
	counter("galvani_replication_received_bytes_total", "Bytes of WAL data received from Postgres.", src.ReceivedWALByte)
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// Middleware counts the responses of h by status code.
func (m *Metrics) Middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		code := sw.code.Load()
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.WithLabelValues(strconv.Itoa(int(code))).Inc()
	})
}

// Handler serves the metrics of g at any path (mount it at /metrics).
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// statusWriter remembers the status code; it passes Flush through, which
// SSE needs.
type statusWriter struct {
	http.ResponseWriter
	code atomic.Int32
}

func (w *statusWriter) WriteHeader(code int) {
	w.code.CompareAndSwap(0, int32(code))
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.code.CompareAndSwap(0, http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
