package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/galvani-sync/galvani/internal/catalog"
	"github.com/galvani-sync/galvani/internal/config"
	"github.com/galvani-sync/galvani/internal/metrics"
	"github.com/galvani-sync/galvani/internal/replication"
	"github.com/galvani-sync/galvani/internal/server"
	"github.com/galvani-sync/galvani/internal/shapes"
)

// Compile-time checks of the interfaces wired here.
var (
	_ replication.Sink = (*shapes.Collector)(nil)
	_ shapes.Publisher = (*replication.Publisher)(nil)
	_ server.Catalog   = (*catalog.Inspector)(nil)
	_ server.Registry  = (*shapes.Registry)(nil)
)

// shutdownTimeout bounds how long in-flight requests may take to finish
// after SIGTERM; live requests still waiting are then cut.
const shutdownTimeout = 5 * time.Second

// ServeCommand runs the server.
type ServeCommand struct {
	main *Main
	// ready, when set, receives the listening address once serving.
	ready func(addr string)
}

// Run parses configuration and serves until ctx ends.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	cfg, err := config.Load(args, c.main.Getenv, c.main.Stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(c.main.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return serve(ctx, cfg, log, c.ready)
}

// serve wires the components and runs them until ctx ends or one fails.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, ready func(string)) error {
	if cfg.Insecure {
		log.Warn("ELECTRIC_INSECURE=true: shape requests need no secret")
	}
	if err := checkStorage(cfg.StorageDir); err != nil {
		return err
	}
	pool, err := openPool(ctx, cfg.DatabaseURL, cfg.DBPoolSize/4+1)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := replication.CheckServer(ctx, pool); err != nil {
		return err
	}
	snapPool := pool
	if cfg.PooledDatabaseURL != "" && cfg.PooledDatabaseURL != cfg.DatabaseURL {
		if snapPool, err = openPool(ctx, cfg.PooledDatabaseURL, cfg.DBPoolSize); err != nil {
			return err
		}
		defer snapPool.Close()
	}

	registry, err := shapes.OpenRegistry(shapes.Config{
		StorageDir:     cfg.StorageDir,
		ChunkThreshold: cfg.ChunkThreshold,
		SnapshotPool:   snapPool,
		Publisher:      replication.NewPublisher(pool, cfg.PublicationName(), cfg.ManualTablePublishing),
		Logger:         log,
		MaxShapes:      cfg.MaxShapes,
		MaxTxnBytes:    cfg.MaxTxnSize,
	})
	if err != nil {
		return fmt.Errorf("open shape storage: %w", err)
	}
	defer registry.Close()
	collector := registry.Collector()
	inspector := catalog.NewInspector(pool)
	stream := replication.New(replication.Config{
		URL: cfg.DatabaseURL, Slot: cfg.SlotName(), Publication: cfg.PublicationName(), Logger: log,
	})
	// The slot is watched at the cadence of the schema check.
	monitor := replication.NewSlotMonitor(pool, cfg.SlotName(), cfg.WALRetainedWarn, cfg.SchemaCheckInterval, log)
	srv := server.New(server.Config{
		Secret:              cfg.Secret,
		LongPollTimeout:     cfg.LongPollTimeout,
		CacheMaxAge:         cfg.CacheMaxAge,
		CacheStaleAge:       cfg.CacheStaleAge,
		AllowDelete:         cfg.EnableIntegrationTesting,
		Started:             stream.Started(),
		MaxInitialRequests:  int64(cfg.MaxInitialRequests),
		MaxExistingRequests: int64(cfg.MaxExistingRequests),
		HealthDetail: func() map[string]any {
			st, ok := monitor.Stats()
			if !ok {
				return nil
			}
			return map[string]any{"retained_wal_bytes": st.RetainedBytes, "lag_bytes": st.LagBytes, "global_lsn": collector.GlobalLSN().String()}
		},
		Version: version,
	}, log, inspector, registry, collector.GlobalLSN, func() string { return stream.State().String() })

	host := "0.0.0.0"
	if cfg.ListenIPv6 {
		host = "::"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen on port %d (ELECTRIC_PORT): %w", cfg.Port, err)
	}
	var handler http.Handler = srv
	var (
		metricsServer *http.Server
		metricsLn     net.Listener
	)
	if cfg.PrometheusPort > 0 {
		reg := prometheus.NewRegistry()
		m, err := metrics.New(reg, metrics.Sources{
			Shapes:          func() float64 { return float64(registry.Len()) },
			WaitingClients:  func() float64 { return float64(srv.Waiting()) },
			Transactions:    func() float64 { return float64(collector.Transactions()) },
			ChangesRouted:   func() float64 { return float64(collector.ChangesRouted()) },
			SnapshotRows:    func() float64 { return float64(registry.SnapshotRows()) },
			StorageBytes:    func() float64 { return float64(registry.StorageBytes()) },
			ReceivedWALByte: func() float64 { return float64(stream.ReceivedBytes()) },
			ReplicationLag: func() float64 {
				st, _ := monitor.Stats()
				return float64(st.LagBytes)
			},
			RetainedWAL: func() float64 {
				st, _ := monitor.Stats()
				return float64(st.RetainedBytes)
			},
		})
		if err != nil {
			return err
		}
		handler = m.Middleware(srv)
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler(reg))
		mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "Not found", http.StatusNotFound) })
		if metricsLn, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.PrometheusPort))); err != nil {
			return fmt.Errorf("listen on port %d (ELECTRIC_PROMETHEUS_PORT): %w", cfg.PrometheusPort, err)
		}
		metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	httpServer := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	log.Info("galvani serving", "addr", ln.Addr().String(), "storage", cfg.StorageDir, "shapes", registry.Len())
	if ready != nil {
		ready(ln.Addr().String())
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return collector.Run(gctx) })
	g.Go(func() error { return stream.Run(gctx, collector) })
	g.Go(func() error { return monitor.Run(gctx) })
	g.Go(func() error {
		return registry.Reconcile(gctx, inspector, cfg.SchemaCheckInterval, func(err error) bool {
			return errors.Is(err, catalog.ErrTableNotFound)
		})
	})
	g.Go(func() error {
		if err := httpServer.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	if metricsServer != nil {
		g.Go(func() error {
			if err := metricsServer.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		if metricsServer != nil {
			metricsServer.Close()
		}
		srv.Drain()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), shutdownTimeout)
		defer cancel()
		if err := httpServer.Shutdown(sctx); err != nil {
			httpServer.Close()
		}
		return nil
	})
	err = g.Wait()
	if ctx.Err() != nil {
		log.Info("galvani stopped")
		return nil
	}
	return err
}

// openPool connects a pool with the display settings of protocol §5.5 and
// checks the database answers, failing fast with one line if not.
func openPool(ctx context.Context, url string, size int) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", redactErr(err))
	}
	for k, v := range replication.DisplaySettings() {
		pcfg.ConnConfig.RuntimeParams[k] = v
	}
	pcfg.MaxConns = int32(max(size, 2))
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", redactErr(err))
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cannot reach the database at %s:%d: %w", pcfg.ConnConfig.Host, pcfg.ConnConfig.Port, redactErr(err))
	}
	return pool, nil
}

// redactErr keeps a connection error's message but drops wrapped details
// that may repeat the connection string.
func redactErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr
	}
	return err
}

// checkStorage makes sure the storage directory exists and is writable.
func checkStorage(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ELECTRIC_STORAGE_DIR %s: %w", dir, err)
	}
	probe := filepath.Join(dir, ".write-test")
	if err := os.WriteFile(probe, []byte("ok"), 0o644); err != nil {
		return fmt.Errorf("ELECTRIC_STORAGE_DIR %s is not writable: %w", dir, err)
	}
	return os.Remove(probe)
}
