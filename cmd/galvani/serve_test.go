package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/embeddedpg"
	"github.com/galvani-sync/galvani/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// run runs "galvani serve" with env and returns its error, failing the test
// if it does not return within a few seconds (startup must fail fast).
func run(t *testing.T, env map[string]string) error {
	t.Helper()
	var stderr bytes.Buffer
	m := &Main{Stdout: &stderr, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := m.Run(ctx, []string{"serve"})
	if ctx.Err() != nil {
		t.Fatalf("galvani serve did not fail fast; output:\n%s", stderr.String())
	}
	return err
}

// TestServeStartupErrors: each misconfiguration stops startup with one
// line that names the problem and says how to fix it.
func TestServeStartupErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `DROP ROLE IF EXISTS galvani_norepl; CREATE ROLE galvani_norepl LOGIN`)
	t.Cleanup(func() { pgtest.Exec(t, dbURL, `DROP ROLE IF EXISTS galvani_norepl`) })
	noReplURL := strings.Replace(dbURL, "postgres://postgres@", "postgres://galvani_norepl@", 1)

	replicaDir := t.TempDir()
	os.Chmod(filepath.Dir(replicaDir), 0o711)
	replica, err := embeddedpg.Start(context.Background(), embeddedpg.Config{
		DataDir: filepath.Join(replicaDir, "data"), Settings: map[string]string{"wal_level": "replica"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { replica.Stop(context.Background()) })

	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, []byte("x"), 0o644)
	storage := t.TempDir()

	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"missing DATABASE_URL", map[string]string{"ELECTRIC_INSECURE": "true"}, []string{"DATABASE_URL", "not set"}},
		{"malformed DATABASE_URL", map[string]string{"DATABASE_URL": "mysql://x", "ELECTRIC_INSECURE": "true"}, []string{"DATABASE_URL"}},
		{"neither secret nor insecure", map[string]string{"DATABASE_URL": dbURL}, []string{"ELECTRIC_SECRET", "ELECTRIC_INSECURE"}},
		{"unreachable database", map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "ELECTRIC_INSECURE": "true", "ELECTRIC_STORAGE_DIR": storage}, []string{"cannot reach the database", "127.0.0.1:1"}},
		{"wal_level not logical", map[string]string{"DATABASE_URL": replica.URL("postgres"), "ELECTRIC_INSECURE": "true", "ELECTRIC_STORAGE_DIR": storage}, []string{"wal_level", "logical", "ALTER SYSTEM SET wal_level = logical"}},
		{"role without replication", map[string]string{"DATABASE_URL": noReplURL, "ELECTRIC_INSECURE": "true", "ELECTRIC_STORAGE_DIR": storage}, []string{"galvani_norepl", "REPLICATION"}},
		{"unwritable storage dir", map[string]string{"DATABASE_URL": dbURL, "ELECTRIC_INSECURE": "true", "ELECTRIC_STORAGE_DIR": filepath.Join(blocker, "sub")}, []string{"ELECTRIC_STORAGE_DIR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t, tt.env)
			if err == nil {
				t.Fatalf("galvani serve started; want an error mentioning %q", tt.want)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			if strings.Count(strings.TrimSpace(msg), "\n") > 0 && tt.name != "neither secret nor insecure" {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}
