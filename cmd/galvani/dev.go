package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/galvani-sync/galvani/internal/config"
	"github.com/galvani-sync/galvani/internal/embeddedpg"
)

// DefaultDevDir is where "galvani dev" keeps its Postgres cluster and shape
// storage, relative to the working directory.
const DefaultDevDir = ".galvani-dev"

// DevCommand starts a private Postgres with demo data and serves it.
type DevCommand struct{ main *Main }

// demoSchema creates and seeds the demo tables; it is idempotent, so a
// second run on the same data directory keeps the rows written meanwhile.
const demoSchema = `
CREATE TABLE IF NOT EXISTS todos (
  id bigserial PRIMARY KEY,
  title text NOT NULL,
  done boolean NOT NULL DEFAULT false,
  priority int NOT NULL DEFAULT 0,
  tags text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS projects (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  budget numeric(12,2),
  meta jsonb
);
INSERT INTO todos (title, done, priority, tags)
SELECT v.title, v.done, v.priority, v.tags FROM (VALUES
  ('Try Galvani', true, 2, '{galvani,demo}'::text[]),
  ('Sync a shape with curl', false, 1, '{http}'::text[]),
  ('Follow live changes', false, 1, '{live}'::text[]),
  ('Connect an Electric client', false, 0, '{client,typescript}'::text[])
) AS v(title, done, priority, tags)
WHERE NOT EXISTS (SELECT 1 FROM todos);
INSERT INTO projects (id, name, budget, meta)
SELECT v.id::uuid, v.name, v.budget, v.meta::jsonb FROM (VALUES
  ('7d3c5a10-1b2e-4c3d-9e8f-0a1b2c3d4e5f', 'Website', 1200.50, '{"owner": "ana"}'),
  ('2f1e0d9c-8b7a-4654-a3b2-c1d0e9f8a7b6', 'Mobile app', 5400.00, '{"owner": "li", "beta": true}')
) AS v(id, name, budget, meta)
WHERE NOT EXISTS (SELECT 1 FROM projects);
`

// Run starts the cluster, seeds it and serves until ctx ends.
func (c *DevCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("galvani dev", flag.ContinueOnError)
	fs.SetOutput(c.main.Stderr)
	dir := fs.String("dir", DefaultDevDir, "directory for the dev Postgres cluster and shape storage (reused by later runs)")
	port := fs.Int("port", config.DefaultPort, "HTTP port to serve on")
	pgPort := fs.Int("pg-port", 0, "Postgres port (0 picks a free one)")
	verbose := fs.Bool("verbose", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("galvani dev takes no arguments, got %q", fs.Args())}
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("dev dir: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(c.main.Stderr, &slog.HandlerOptions{Level: level}))

	pgLog, err := os.OpenFile(filepath.Join(mkdirAll(abs), "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("dev dir %s: %w", abs, err)
	}
	defer pgLog.Close()
	cluster, err := startDevCluster(ctx, abs, *dir == DefaultDevDir, *pgPort, pgLog, log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := cluster.Stop(sctx); err != nil {
			log.Error("stop postgres", "error", err)
		}
	}()
	dbURL := cluster.URL("postgres")
	if err := cluster.Exec(ctx, "postgres", demoSchema); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	env := map[string]string{
		"DATABASE_URL":         dbURL,
		"ELECTRIC_INSECURE":    "true",
		"ELECTRIC_PORT":        strconv.Itoa(*port),
		"ELECTRIC_STORAGE_DIR": filepath.Join(abs, "storage"),
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, c.main.Stderr)
	if err != nil {
		return err
	}
	cfg.LogLevel = level
	return serve(ctx, cfg, log, func(addr string) {
		printBanner(c.main.Stdout, *port, dbURL, abs)
	})
}

func mkdirAll(dir string) string {
	os.MkdirAll(dir, 0o755)
	return dir
}

// startDevCluster starts (or restarts) the dev cluster. Running as root,
// Postgres runs as the postgres user; when that user cannot reach the
// default directory (say, a checkout under /root), the cluster's data goes
// to a directory under /var/tmp named after the checkout, so the command
// still works and a second run finds the same data.
func startDevCluster(ctx context.Context, dir string, isDefault bool, port int, pgLog io.Writer, log *slog.Logger) (*embeddedpg.Cluster, error) {
	cfg := embeddedpg.Config{DataDir: filepath.Join(dir, "pgdata"), Port: port, Log: pgLog, Durable: true}
	cluster, err := embeddedpg.Start(ctx, cfg)
	if errors.Is(err, embeddedpg.ErrUnreachableDataDir) && isDefault {
		sum := sha256.Sum256([]byte(dir))
		cfg.DataDir = filepath.Join("/var/tmp", "galvani-dev-"+hex.EncodeToString(sum[:6]), "pgdata")
		log.Info("the postgres user cannot reach the dev directory; keeping the cluster elsewhere", "pgdata", cfg.DataDir)
		cluster, err = embeddedpg.Start(ctx, cfg)
	}
	if err != nil {
		return nil, err
	}
	log.Info("postgres started", "port", cluster.Port(), "pgdata", cfg.DataDir)
	return cluster, nil
}

func printBanner(w io.Writer, port int, dbURL, dir string) {
	base := fmt.Sprintf("http://localhost:%d", port)
	fmt.Fprintf(w, `
Galvani dev is running.

  Shape API:  %[1]s/v1/shape
  Postgres:   %[2]s   (demo tables: todos, projects)
  Data:       %[3]s   (kept for the next run)

Fetch a shape:
  curl '%[1]s/v1/shape?table=todos&offset=-1'

Follow it from TypeScript (npm install @electric-sql/client):
  import { ShapeStream, Shape } from '@electric-sql/client'
  const shape = new Shape(new ShapeStream({ url: '%[1]s/v1/shape', params: { table: 'todos' } }))
  shape.subscribe(({ rows }) => console.log(rows))

Then change data and watch it arrive:
  psql '%[2]s' -c "INSERT INTO todos (title) VALUES ('hello')"

Press Ctrl-C to stop.
`, base, dbURL, dir)
}
