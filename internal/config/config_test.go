package config_test

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/config"
)

const (
	testPassword = "hunter2-pw"
	testSecret   = "s3cr3t-VALUE"
	testURL      = "postgresql://galvani:" + testPassword + "@localhost:5432/app"
)

// environ is a fake environment; a missing or empty entry is unset.
type environ map[string]string

func (e environ) get(k string) string { return e[k] }

// with returns a copy of e with kv (alternating names and values) applied.
func (e environ) with(kv ...string) environ {
	out := make(environ, len(e)+len(kv)/2)
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// base is the smallest valid environment.
var base = environ{"DATABASE_URL": testURL, "ELECTRIC_INSECURE": "true"}

func load(t *testing.T, args []string, env environ) (config.Config, error) {
	t.Helper()
	var stderr bytes.Buffer
	c, err := config.Load(args, env.get, &stderr)
	if err != nil && t.Failed() {
		t.Logf("stderr: %s", stderr.String())
	}
	return c, err
}

// fieldErrors returns every *FieldError in err, unwrapping errors.Join.
func fieldErrors(err error) []*config.FieldError {
	var out []*config.FieldError
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *config.FieldError
		if errors.As(err, &fe) {
			out = append(out, fe)
		}
	}
	walk(err)
	return out
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil, base)
	if err != nil {
		t.Fatalf("Load(nil, minimal env) = %v", err)
	}
	want := config.Config{
		DatabaseURL:         testURL,
		PooledDatabaseURL:   testURL,
		Port:                3000,
		Insecure:            true,
		StorageDir:          "./persistent",
		ReplicationStreamID: "default",
		LongPollTimeout:     20 * time.Second,
		ChunkThreshold:      10485760,
		CacheMaxAge:         60,
		CacheStaleAge:       300,
		DBPoolSize:          20,
		LogLevel:            slog.LevelInfo,
		SchemaCheckInterval: 10 * time.Second,
		WALRetainedWarn:     1 << 30,
		MaxInitialRequests:  300,
		MaxExistingRequests: 10000,
	}
	if c != want {
		t.Errorf("Load(nil, minimal env) =\n%+v\nwant\n%+v", c, want)
	}
	d := config.Default()
	d.DatabaseURL, d.PooledDatabaseURL, d.Insecure = testURL, testURL, true
	if d != want {
		t.Errorf("Default() with DATABASE_URL and insecure =\n%+v\nwant\n%+v", d, want)
	}
	if c.SlotName() != "electric_slot_default" || c.PublicationName() != "electric_publication_default" {
		t.Errorf("SlotName(), PublicationName() = %q, %q; want electric_slot_default, electric_publication_default",
			c.SlotName(), c.PublicationName())
	}
}

func TestLoadEnv(t *testing.T) {
	tests := []struct {
		name  string
		env   environ
		check func(c config.Config) bool
	}{
		{"DATABASE_URL", base.with("DATABASE_URL", "postgres://u@db.internal/x"), func(c config.Config) bool {
			return c.DatabaseURL == "postgres://u@db.internal/x" && c.PooledDatabaseURL == "postgres://u@db.internal/x"
		}},
		{"DATABASE_URL key=value", base.with("DATABASE_URL", "host=db user=u password='a b' dbname=x"), func(c config.Config) bool {
			return c.DatabaseURL == "host=db user=u password='a b' dbname=x"
		}},
		{"ELECTRIC_POOLED_DATABASE_URL", base.with("ELECTRIC_POOLED_DATABASE_URL", "postgresql://u@pooler:6432/app"), func(c config.Config) bool {
			return c.PooledDatabaseURL == "postgresql://u@pooler:6432/app" && c.DatabaseURL == testURL
		}},
		{"ELECTRIC_QUERY_DATABASE_URL (old name)", base.with("ELECTRIC_QUERY_DATABASE_URL", "postgresql://u@old:6432/app"), func(c config.Config) bool {
			return c.PooledDatabaseURL == "postgresql://u@old:6432/app"
		}},
		{"new pooled name beats old", base.with("ELECTRIC_QUERY_DATABASE_URL", "postgresql://u@old/app", "ELECTRIC_POOLED_DATABASE_URL", "postgresql://u@new/app"), func(c config.Config) bool {
			return c.PooledDatabaseURL == "postgresql://u@new/app"
		}},
		{"ELECTRIC_PORT", base.with("ELECTRIC_PORT", "8080"), func(c config.Config) bool { return c.Port == 8080 }},
		{"ELECTRIC_SECRET", base.with("ELECTRIC_INSECURE", "", "ELECTRIC_SECRET", testSecret), func(c config.Config) bool {
			return c.Secret == testSecret && !c.Insecure
		}},
		{"ELECTRIC_INSECURE=1", base.with("ELECTRIC_INSECURE", "1"), func(c config.Config) bool { return c.Insecure }},
		{"ELECTRIC_INSECURE=TRUE", base.with("ELECTRIC_INSECURE", "TRUE"), func(c config.Config) bool { return c.Insecure }},
		{"ELECTRIC_STORAGE_DIR", base.with("ELECTRIC_STORAGE_DIR", "/var/lib/galvani"), func(c config.Config) bool { return c.StorageDir == "/var/lib/galvani" }},
		{"ELECTRIC_REPLICATION_STREAM_ID lowercased", base.with("ELECTRIC_REPLICATION_STREAM_ID", "Tenant_42"), func(c config.Config) bool {
			return c.ReplicationStreamID == "tenant_42" && c.SlotName() == "electric_slot_tenant_42" && c.PublicationName() == "electric_publication_tenant_42"
		}},
		{"ELECTRIC_LONG_POLL_TIMEOUT ms", base.with("ELECTRIC_LONG_POLL_TIMEOUT", "5000"), func(c config.Config) bool { return c.LongPollTimeout == 5*time.Second }},
		{"ELECTRIC_LONG_POLL_TIMEOUT unit", base.with("ELECTRIC_LONG_POLL_TIMEOUT", "1min"), func(c config.Config) bool { return c.LongPollTimeout == time.Minute }},
		{"ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", base.with("ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", "10000"), func(c config.Config) bool { return c.ChunkThreshold == 10000 }},
		{"ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD unit", base.with("ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", "1MiB"), func(c config.Config) bool { return c.ChunkThreshold == 1<<20 }},
		{"ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD (old name)", base.with("ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD", "2KB"), func(c config.Config) bool { return c.ChunkThreshold == 2000 }},
		{"new chunk name beats old", base.with("ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD", "2KB", "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", "3KB"), func(c config.Config) bool { return c.ChunkThreshold == 3000 }},
		{"ELECTRIC_CACHE_MAX_AGE", base.with("ELECTRIC_CACHE_MAX_AGE", "5"), func(c config.Config) bool { return c.CacheMaxAge == 5 }},
		{"ELECTRIC_CACHE_MAX_AGE zero", base.with("ELECTRIC_CACHE_MAX_AGE", "0"), func(c config.Config) bool { return c.CacheMaxAge == 0 }},
		{"ELECTRIC_CACHE_STALE_AGE", base.with("ELECTRIC_CACHE_STALE_AGE", "10"), func(c config.Config) bool { return c.CacheStaleAge == 10 }},
		{"ELECTRIC_DB_POOL_SIZE", base.with("ELECTRIC_DB_POOL_SIZE", "2"), func(c config.Config) bool { return c.DBPoolSize == 2 }},
		{"ELECTRIC_ENABLE_INTEGRATION_TESTING", base.with("ELECTRIC_ENABLE_INTEGRATION_TESTING", "true"), func(c config.Config) bool { return c.EnableIntegrationTesting }},
		{"ELECTRIC_ENABLE_INTEGRATION_TESTING false", base.with("ELECTRIC_ENABLE_INTEGRATION_TESTING", "False"), func(c config.Config) bool { return !c.EnableIntegrationTesting }},
		{"ELECTRIC_LOG_LEVEL debug", base.with("ELECTRIC_LOG_LEVEL", "debug"), func(c config.Config) bool { return c.LogLevel == slog.LevelDebug }},
		{"ELECTRIC_LOG_LEVEL WARNING", base.with("ELECTRIC_LOG_LEVEL", "WARNING"), func(c config.Config) bool { return c.LogLevel == slog.LevelWarn }},
		{"ELECTRIC_LOG_LEVEL warn", base.with("ELECTRIC_LOG_LEVEL", "warn"), func(c config.Config) bool { return c.LogLevel == slog.LevelWarn }},
		{"ELECTRIC_LOG_LEVEL error", base.with("ELECTRIC_LOG_LEVEL", "Error"), func(c config.Config) bool { return c.LogLevel == slog.LevelError }},
		{"ELECTRIC_LOG_LEVEL notice", base.with("ELECTRIC_LOG_LEVEL", "notice"), func(c config.Config) bool { return c.LogLevel == slog.LevelInfo }},
		{"ELECTRIC_LISTEN_ON_IPV6", base.with("ELECTRIC_LISTEN_ON_IPV6", "true"), func(c config.Config) bool { return c.ListenIPv6 }},
		{"empty value means default", base.with("ELECTRIC_PORT", "", "ELECTRIC_LONG_POLL_TIMEOUT", " "), func(c config.Config) bool {
			return c.Port == config.DefaultPort && c.LongPollTimeout == config.DefaultLongPollTimeout
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, nil, tt.env)
			if err != nil {
				t.Fatalf("Load(nil, %v) = %v", tt.env, err)
			}
			if !tt.check(c) {
				t.Errorf("Load(nil, %v) = %+v; does not hold the value set", tt.env, c)
			}
		})
	}
}

func TestFlagsBeatEnv(t *testing.T) {
	env := base.with(
		"ELECTRIC_PORT", "8080",
		"ELECTRIC_STORAGE_DIR", "/env",
		"ELECTRIC_LONG_POLL_TIMEOUT", "1s",
		"ELECTRIC_LOG_LEVEL", "error",
	)
	tests := []struct {
		name  string
		args  []string
		check func(c config.Config) bool
	}{
		{"--port", []string{"--port", "9090"}, func(c config.Config) bool { return c.Port == 9090 }},
		{"-port=", []string{"-port=9091"}, func(c config.Config) bool { return c.Port == 9091 }},
		{"unset flag keeps env", []string{"--storage-dir", "/flag"}, func(c config.Config) bool { return c.StorageDir == "/flag" && c.Port == 8080 }},
		{"--database-url", []string{"--database-url", "postgres://u@flag/db"}, func(c config.Config) bool {
			return c.DatabaseURL == "postgres://u@flag/db" && c.PooledDatabaseURL == "postgres://u@flag/db"
		}},
		{"--pooled-database-url", []string{"--pooled-database-url", "postgres://u@pool/db"}, func(c config.Config) bool { return c.PooledDatabaseURL == "postgres://u@pool/db" }},
		{"--secret replaces insecure", []string{"--secret", testSecret, "--insecure=false"}, func(c config.Config) bool { return c.Secret == testSecret && !c.Insecure }},
		{"--replication-stream-id", []string{"--replication-stream-id", "Blue"}, func(c config.Config) bool { return c.ReplicationStreamID == "blue" }},
		{"--long-poll-timeout", []string{"--long-poll-timeout", "250ms"}, func(c config.Config) bool { return c.LongPollTimeout == 250*time.Millisecond }},
		{"--chunk-bytes-threshold", []string{"--chunk-bytes-threshold", "64KiB"}, func(c config.Config) bool { return c.ChunkThreshold == 64<<10 }},
		{"--cache-max-age", []string{"--cache-max-age", "7"}, func(c config.Config) bool { return c.CacheMaxAge == 7 }},
		{"--cache-stale-age", []string{"--cache-stale-age", "8"}, func(c config.Config) bool { return c.CacheStaleAge == 8 }},
		{"--db-pool-size", []string{"--db-pool-size", "4"}, func(c config.Config) bool { return c.DBPoolSize == 4 }},
		{"--enable-integration-testing alone", []string{"--enable-integration-testing"}, func(c config.Config) bool { return c.EnableIntegrationTesting }},
		{"--log-level", []string{"--log-level", "debug"}, func(c config.Config) bool { return c.LogLevel == slog.LevelDebug }},
		{"--listen-on-ipv6=1", []string{"--listen-on-ipv6=1"}, func(c config.Config) bool { return c.ListenIPv6 }},
		{"empty flag restores default", []string{"--port="}, func(c config.Config) bool { return c.Port == config.DefaultPort }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(t, tt.args, env)
			if err != nil {
				t.Fatalf("Load(%q, env) = %v", tt.args, err)
			}
			if !tt.check(c) {
				t.Errorf("Load(%q, env) = %+v; the flag did not win", tt.args, c)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      environ
		wantName string
		wantIs   error
		wantText string // also required in the message, if set
	}{
		{"DATABASE_URL unset", nil, base.with("DATABASE_URL", ""), "DATABASE_URL", config.ErrNotSet, "postgresql://user:pass@host:5432/db"},
		{"DATABASE_URL scheme", nil, base.with("DATABASE_URL", "mysql://u:"+testPassword+"@h/db"), "DATABASE_URL", config.ErrInvalid, `"mysql"`},
		{"DATABASE_URL no host", nil, base.with("DATABASE_URL", "postgresql://u:"+testPassword+"@/db"), "DATABASE_URL", config.ErrInvalid, "no host"},
		{"DATABASE_URL not a URL", nil, base.with("DATABASE_URL", "localhost"), "DATABASE_URL", config.ErrInvalid, "neither"},
		{"DATABASE_URL bad escape", nil, base.with("DATABASE_URL", "postgresql://u:pw%zz@h/db"), "DATABASE_URL", config.ErrInvalid, "percent-encode"},
		{"DATABASE_URL fragment", nil, base.with("DATABASE_URL", "postgresql://u:pa#ss@h/db"), "DATABASE_URL", config.ErrInvalid, "%23"},
		{"DATABASE_URL port", nil, base.with("DATABASE_URL", "postgresql://u@h:99999/db"), "DATABASE_URL", config.ErrInvalid, "port"},
		{"DATABASE_URL verify-full", nil, base.with("DATABASE_URL", testURL+"?sslmode=verify-full"), "DATABASE_URL", config.ErrUnsupported, "sslmode=verify-full"},
		{"DATABASE_URL verify-ca", nil, base.with("DATABASE_URL", testURL+"?sslmode=verify-ca"), "DATABASE_URL", config.ErrUnsupported, "sslmode=verify-ca"},
		{"DATABASE_URL bad sslmode", nil, base.with("DATABASE_URL", testURL+"?sslmode=yesplease"), "DATABASE_URL", config.ErrInvalid, "yesplease"},
		{"DATABASE_URL replication", nil, base.with("DATABASE_URL", testURL+"?replication=database"), "DATABASE_URL", config.ErrUnsupported, "replication"},
		{"DATABASE_URL key=value no host", nil, base.with("DATABASE_URL", "dbname=app password="+testPassword), "DATABASE_URL", config.ErrInvalid, "host="},
		{"DATABASE_URL key=value unterminated", nil, base.with("DATABASE_URL", "host=h password='"+testPassword), "DATABASE_URL", config.ErrInvalid, "closing quote"},
		{"DATABASE_URL key=value bare word", nil, base.with("DATABASE_URL", "host=h password=a "+testPassword), "DATABASE_URL", config.ErrInvalid, "setting 3"},
		{"DATABASE_URL key=value verify-full", nil, base.with("DATABASE_URL", "host=h sslmode=verify-full"), "DATABASE_URL", config.ErrUnsupported, "verify-full"},
		{"DATABASE_URL key=value port", nil, base.with("DATABASE_URL", "host=h port=abc"), "DATABASE_URL", config.ErrInvalid, "port"},
		{"--database-url", []string{"--database-url", "nope"}, base, "DATABASE_URL", config.ErrInvalid, "--database-url"},
		{"ELECTRIC_POOLED_DATABASE_URL", nil, base.with("ELECTRIC_POOLED_DATABASE_URL", "http://pooler"), "ELECTRIC_POOLED_DATABASE_URL", config.ErrInvalid, "scheme"},
		{"ELECTRIC_QUERY_DATABASE_URL named when it is the one set", nil, base.with("ELECTRIC_QUERY_DATABASE_URL", "http://pooler"), "ELECTRIC_QUERY_DATABASE_URL", config.ErrInvalid, "scheme"},
		{"ELECTRIC_PORT not a number", nil, base.with("ELECTRIC_PORT", "http"), "ELECTRIC_PORT", config.ErrInvalid, `"http"`},
		{"ELECTRIC_PORT zero", nil, base.with("ELECTRIC_PORT", "0"), "ELECTRIC_PORT", config.ErrOutOfRange, "1 to 65535"},
		{"ELECTRIC_PORT too large", nil, base.with("ELECTRIC_PORT", "65536"), "ELECTRIC_PORT", config.ErrOutOfRange, "1 to 65535"},
		{"ELECTRIC_PORT overflows", nil, base.with("ELECTRIC_PORT", "99999999999999999999"), "ELECTRIC_PORT", config.ErrOutOfRange, ""},
		{"--port names its flag", []string{"--port", "70000"}, base, "ELECTRIC_PORT", config.ErrOutOfRange, "--port"},
		{"ELECTRIC_INSECURE not a boolean", nil, base.with("ELECTRIC_INSECURE", "yes"), "ELECTRIC_INSECURE", config.ErrInvalid, "true or false"},
		{"--insecure not a boolean", []string{"--insecure=on"}, base, "ELECTRIC_INSECURE", config.ErrInvalid, "--insecure"},
		{"ELECTRIC_STORAGE_DIR blank keeps default", nil, base.with("ELECTRIC_STORAGE_DIR", "   ", "ELECTRIC_PORT", "x"), "ELECTRIC_PORT", config.ErrInvalid, ""},
		{"ELECTRIC_REPLICATION_STREAM_ID dash", nil, base.with("ELECTRIC_REPLICATION_STREAM_ID", "my-stream"), "ELECTRIC_REPLICATION_STREAM_ID", config.ErrInvalid, "identifier"},
		{"ELECTRIC_REPLICATION_STREAM_ID digit first", nil, base.with("ELECTRIC_REPLICATION_STREAM_ID", "1st"), "ELECTRIC_REPLICATION_STREAM_ID", config.ErrInvalid, "identifier"},
		{"ELECTRIC_REPLICATION_STREAM_ID dollar", nil, base.with("ELECTRIC_REPLICATION_STREAM_ID", "a$b"), "ELECTRIC_REPLICATION_STREAM_ID", config.ErrInvalid, "identifier"},
		{"ELECTRIC_REPLICATION_STREAM_ID quoted", nil, base.with("ELECTRIC_REPLICATION_STREAM_ID", `"Foo"`), "ELECTRIC_REPLICATION_STREAM_ID", config.ErrInvalid, "identifier"},
		{"ELECTRIC_REPLICATION_STREAM_ID non-ASCII", nil, base.with("ELECTRIC_REPLICATION_STREAM_ID", "\u212a"), "ELECTRIC_REPLICATION_STREAM_ID", config.ErrInvalid, "identifier"},
		{"ELECTRIC_REPLICATION_STREAM_ID too long", nil, base.with("ELECTRIC_REPLICATION_STREAM_ID", strings.Repeat("a", 43)), "ELECTRIC_REPLICATION_STREAM_ID", config.ErrOutOfRange, "at most 42"},
		{"ELECTRIC_LONG_POLL_TIMEOUT syntax", nil, base.with("ELECTRIC_LONG_POLL_TIMEOUT", "20x"), "ELECTRIC_LONG_POLL_TIMEOUT", config.ErrInvalid, "ms, s, sec, m or min"},
		{"ELECTRIC_LONG_POLL_TIMEOUT zero", nil, base.with("ELECTRIC_LONG_POLL_TIMEOUT", "0"), "ELECTRIC_LONG_POLL_TIMEOUT", config.ErrOutOfRange, "more than zero"},
		{"ELECTRIC_LONG_POLL_TIMEOUT below a millisecond", nil, base.with("ELECTRIC_LONG_POLL_TIMEOUT", "0.5ms"), "ELECTRIC_LONG_POLL_TIMEOUT", config.ErrOutOfRange, "more than zero"},
		{"ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD syntax", nil, base.with("ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", "10 megs"), "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", config.ErrInvalid, "KiB"},
		{"ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD zero", nil, base.with("ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", "0"), "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", config.ErrOutOfRange, "more than zero"},
		{"ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD named when it is the one set", nil, base.with("ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD", "0"), "ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD", config.ErrOutOfRange, ""},
		{"ELECTRIC_CACHE_MAX_AGE negative", nil, base.with("ELECTRIC_CACHE_MAX_AGE", "-1"), "ELECTRIC_CACHE_MAX_AGE", config.ErrOutOfRange, "0 or more"},
		{"ELECTRIC_CACHE_MAX_AGE syntax", nil, base.with("ELECTRIC_CACHE_MAX_AGE", "60s"), "ELECTRIC_CACHE_MAX_AGE", config.ErrInvalid, "whole number"},
		{"ELECTRIC_CACHE_STALE_AGE negative", nil, base.with("ELECTRIC_CACHE_STALE_AGE", "-5"), "ELECTRIC_CACHE_STALE_AGE", config.ErrOutOfRange, "0 or more"},
		{"ELECTRIC_DB_POOL_SIZE one", nil, base.with("ELECTRIC_DB_POOL_SIZE", "1"), "ELECTRIC_DB_POOL_SIZE", config.ErrOutOfRange, "at least 2"},
		{"ELECTRIC_DB_POOL_SIZE syntax", nil, base.with("ELECTRIC_DB_POOL_SIZE", "many"), "ELECTRIC_DB_POOL_SIZE", config.ErrInvalid, ""},
		{"ELECTRIC_ENABLE_INTEGRATION_TESTING", nil, base.with("ELECTRIC_ENABLE_INTEGRATION_TESTING", "enabled"), "ELECTRIC_ENABLE_INTEGRATION_TESTING", config.ErrInvalid, ""},
		{"ELECTRIC_LOG_LEVEL", nil, base.with("ELECTRIC_LOG_LEVEL", "verbose"), "ELECTRIC_LOG_LEVEL", config.ErrInvalid, "debug, info, warning or error"},
		{"ELECTRIC_LISTEN_ON_IPV6", nil, base.with("ELECTRIC_LISTEN_ON_IPV6", "ipv6"), "ELECTRIC_LISTEN_ON_IPV6", config.ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			if err == nil {
				t.Fatalf("Load(%q, %v) = nil error; want one naming %s", tt.args, tt.env, tt.wantName)
			}
			fes := fieldErrors(err)
			if len(fes) != 1 {
				t.Fatalf("Load(%q, %v) = %v; want exactly one FieldError", tt.args, tt.env, err)
			}
			fe := fes[0]
			msg := err.Error()
			if fe.Name != tt.wantName || !strings.HasPrefix(msg, tt.wantName+": ") {
				t.Errorf("Load(…) error = %q (Name %q); want it to start with %q", msg, fe.Name, tt.wantName+": ")
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("Load(…) error = %q; want it to wrap %v", msg, tt.wantIs)
			}
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("Load(…) error = %q; want it to contain %q", msg, tt.wantText)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("Load(…) error = %q; want one line", msg)
			}
		})
	}
}

func TestSecretInsecure(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		secret   string
		insecure string
		wantIs   error // nil: valid
		wantText string
	}{
		{name: "secret only", secret: testSecret},
		{name: "insecure only", insecure: "true"},
		{name: "secret and insecure=false", secret: testSecret, insecure: "false"},
		{name: "both", secret: testSecret, insecure: "true", wantIs: config.ErrConflict,
			wantText: "ELECTRIC_SECRET and ELECTRIC_INSECURE=true are both set: choose one"},
		{name: "neither", wantIs: config.ErrNotSet,
			wantText: "set ELECTRIC_SECRET=<secret> to require it on shape requests, or ELECTRIC_INSECURE=true to serve without one"},
		{name: "insecure=false only", insecure: "false", wantIs: config.ErrNotSet, wantText: "ELECTRIC_SECRET=<secret>"},
		{name: "--secret with env insecure", args: []string{"--secret", testSecret}, insecure: "true", wantIs: config.ErrConflict, wantText: "--secret"},
		{name: "--insecure with env secret", args: []string{"--insecure"}, secret: testSecret, wantIs: config.ErrConflict, wantText: "choose one"},
		{name: "--insecure=false overrides env", args: []string{"--insecure=false"}, secret: testSecret, insecure: "true"},
		{name: "--secret= clears env secret", args: []string{"--secret="}, secret: testSecret, insecure: "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := environ{"DATABASE_URL": testURL, "ELECTRIC_SECRET": tt.secret, "ELECTRIC_INSECURE": tt.insecure}
			c, err := load(t, tt.args, env)
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("Load(%q, secret %q, insecure %q) = %v; want success", tt.args, tt.secret, tt.insecure, err)
				}
				if (c.Secret != "") == c.Insecure {
					t.Errorf("Load(…) = Secret %q, Insecure %v; want exactly one", c.Secret, c.Insecure)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantText) || !strings.HasPrefix(err.Error(), "ELECTRIC_SECRET: ") {
				t.Fatalf("Load(%q, secret %q, insecure %q) = %v; want ELECTRIC_SECRET error wrapping %v containing %q",
					tt.args, tt.secret, tt.insecure, err, tt.wantIs, tt.wantText)
			}
		})
	}
}

// mattering gives, for each unsupported variable, a value that would change
// behaviour. Every name in config.Unsupported must appear here.
var mattering = map[string]string{
	"ELECTRIC_STORAGE":                                    "MEMORY",
	"ELECTRIC_PERSISTENT_STATE":                           "MEMORY",
	"CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN":               "true",
	"ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME": "true",
	"ELECTRIC_REPLICATION_IDLE_TIMEOUT":                   "5min",
	"ELECTRIC_DATABASE_CA_CERTIFICATE_FILE":               "/etc/ssl/ca.pem",
	"ELECTRIC_FEATURE_FLAGS":                              "allow_subqueries",
	"ELECTRIC_STATSD_HOST":                                "statsd:8125",
	"ELECTRIC_OTLP_ENDPOINT":                              "https://api.honeycomb.io",
	"ELECTRIC_HNY_API_KEY":                                testSecret,
	"SENTRY_DSN":                                          "https://" + testSecret + "@sentry.example/1",
}

func TestUnsupportedRejected(t *testing.T) {
	for _, name := range config.Unsupported() {
		t.Run(name, func(t *testing.T) {
			v, ok := mattering[name]
			if !ok {
				t.Fatalf("no test value for unsupported variable %s", name)
			}
			_, err := load(t, nil, base.with(name, v))
			want := name + ": not supported by this version of Galvani ("
			if !errors.Is(err, config.ErrUnsupported) || err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("Load with %s=%q = %v; want error starting %q", name, v, err, want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("Load with %s set: error %q shows its value", name, err)
			}
		})
	}
	if len(mattering) != len(config.Unsupported()) {
		t.Errorf("test lists %d unsupported variables; Unsupported() has %d", len(mattering), len(config.Unsupported()))
	}

	t.Run("all at once", func(t *testing.T) {
		env := base.with()
		for k, v := range mattering {
			env[k] = v
		}
		_, err := load(t, nil, env)
		if got, want := len(fieldErrors(err)), len(mattering); got != want {
			t.Errorf("Load with every unsupported variable = %d errors; want %d: %v", got, want, err)
		}
	})
}

func TestUnsupportedHarmlessValuesAccepted(t *testing.T) {
	harmless := []struct{ name, value string }{
		{"ELECTRIC_STORAGE", "FAST_FILE"},
		{"ELECTRIC_STORAGE", "fast_file"},
		{"ELECTRIC_PERSISTENT_STATE", "FILE"},
		{"CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN", "false"},
		{"ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME", "0"},
		{"ELECTRIC_REPLICATION_IDLE_TIMEOUT", "0"},
		{"ELECTRIC_REPLICATION_IDLE_TIMEOUT", "0s"},
		{"ELECTRIC_FEATURE_FLAGS", " , "},
		{"ELECTRIC_MAX_SHAPES", ""},
		{"SENTRY_DSN", "  "},
	}
	for _, tt := range harmless {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			if _, err := load(t, nil, base.with(tt.name, tt.value)); err != nil {
				t.Errorf("Load with %s=%q = %v; want success", tt.name, tt.value, err)
			}
		})
	}
}

func TestIgnoredAccepted(t *testing.T) {
	env := base.with()
	for _, name := range config.Ignored() {
		env[name] = "anything at all"
	}
	if len(config.Ignored()) == 0 {
		t.Fatal("Ignored() is empty")
	}
	if _, err := load(t, nil, env); err != nil {
		t.Errorf("Load with every ignored variable set = %v; want success", err)
	}
	for _, name := range config.Ignored() {
		for _, u := range config.Unsupported() {
			if name == u {
				t.Errorf("%s is both ignored and unsupported", name)
			}
		}
	}
}

func TestRedaction(t *testing.T) {
	secretEnv := environ{"DATABASE_URL": testURL, "ELECTRIC_SECRET": testSecret}
	tests := []struct {
		name string
		args []string
		env  environ
	}{
		{"both secret and insecure", nil, secretEnv.with("ELECTRIC_INSECURE", "true")},
		{"--secret with insecure", []string{"--secret=" + testSecret, "--insecure"}, environ{"DATABASE_URL": testURL}},
		{"other errors beside a secret", nil, secretEnv.with("ELECTRIC_PORT", "0", "ELECTRIC_DB_POOL_SIZE", "1")},
		{"URL verify-full", nil, secretEnv.with("DATABASE_URL", testURL+"?sslmode=verify-full")},
		{"URL bad sslmode", nil, secretEnv.with("DATABASE_URL", testURL+"?sslmode=nope")},
		{"URL password in query", nil, secretEnv.with("DATABASE_URL", "postgresql://u@h/db?password="+testPassword+"&sslmode=verify-ca")},
		{"URL bad port", nil, secretEnv.with("DATABASE_URL", "postgresql://u:"+testPassword+"@h:0/db")},
		{"URL unparsable port", nil, secretEnv.with("DATABASE_URL", "postgresql://u:"+testPassword+"@h:port/db")},
		{"URL password with slash", nil, secretEnv.with("DATABASE_URL", "postgresql://u:"+testPassword+"/x@h/db")},
		{"URL password with @", nil, secretEnv.with("DATABASE_URL", "postgresql://u:"+testPassword+"@x@h/db?sslmode=bad")},
		{"URL password with #", nil, secretEnv.with("DATABASE_URL", "postgresql://u:"+testPassword+"#@h/db")},
		{"URL bad escape", nil, secretEnv.with("DATABASE_URL", "postgresql://u:"+testPassword+"%zz@h/db")},
		{"URL wrong scheme", nil, secretEnv.with("DATABASE_URL", "mysql://u:"+testPassword+"@h/db")},
		{"URL scheme with password", nil, secretEnv.with("DATABASE_URL", testPassword+":x://h/db")},
		{"URL no host", nil, secretEnv.with("DATABASE_URL", "postgresql://u:"+testPassword+"@/db")},
		{"key=value no host", nil, secretEnv.with("DATABASE_URL", "user=u password="+testPassword)},
		{"key=value unterminated", nil, secretEnv.with("DATABASE_URL", "host=h password='"+testPassword)},
		{"key=value space in password", nil, secretEnv.with("DATABASE_URL", "host=h password=x "+testPassword)},
		{"key=value bad sslmode", nil, secretEnv.with("DATABASE_URL", "host=h password="+testPassword+" sslmode=verify-full")},
		{"password alone", nil, secretEnv.with("DATABASE_URL", testPassword)},
		{"pooled URL", nil, secretEnv.with("ELECTRIC_POOLED_DATABASE_URL", "postgresql://u:"+testPassword+"@h/db?sslmode=bad")},
		{"--database-url", []string{"--database-url", "postgresql://u:" + testPassword + "@h:0/db"}, secretEnv},
		{"unsupported secrets", nil, secretEnv.with("ELECTRIC_HNY_API_KEY", testSecret, "SENTRY_DSN", "https://"+testPassword+"@s/1", "ELECTRIC_OTLP_ENDPOINT", "https://u:"+testPassword+"@otlp")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, tt.env)
			if err == nil {
				t.Fatalf("Load(%q, %v) = nil error; the test needs an error", tt.args, tt.env)
			}
			for _, leak := range []string{testSecret, testPassword} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("Load(…) error = %q; shows %q", err, leak)
				}
				for _, fe := range fieldErrors(err) {
					if strings.Contains(fe.Value, leak) {
						t.Errorf("FieldError{Name: %q}.Value = %q; shows %q", fe.Name, fe.Value, leak)
					}
				}
			}
		})
	}

	t.Run("Value keeps the rest of the URL", func(t *testing.T) {
		_, err := load(t, nil, secretEnv.with("DATABASE_URL", testURL+"?sslmode=verify-full"))
		fes := fieldErrors(err)
		if len(fes) != 1 || fes[0].Value != "postgresql://galvani:xxxxx@localhost:5432/app?sslmode=verify-full" {
			t.Errorf("Load(…) = %v; want one FieldError with the password redacted in Value", err)
		}
	})
}

func TestValidate(t *testing.T) {
	valid := config.Default()
	valid.DatabaseURL, valid.Secret = testURL, testSecret
	if err := valid.Validate(); err != nil {
		t.Errorf("Validate() of a complete Config = %v; want nil", err)
	}

	err := config.Config{}.Validate()
	want := []string{
		"DATABASE_URL", "ELECTRIC_PORT", "ELECTRIC_SECRET", "ELECTRIC_STORAGE_DIR",
		"ELECTRIC_REPLICATION_STREAM_ID", "GALVANI_SCHEMA_CHECK_INTERVAL", "ELECTRIC_LONG_POLL_TIMEOUT",
		"ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", "ELECTRIC_DB_POOL_SIZE",
	}
	var got []string
	for _, fe := range fieldErrors(err) {
		got = append(got, fe.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Config{}.Validate() names %v; want %v", got, want)
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if !strings.Contains(line, ": ") {
			t.Errorf("Config{}.Validate() line %q is not \"<Name>: <message>\"", line)
		}
	}

	upper := valid
	upper.ReplicationStreamID = "Default"
	if err := upper.Validate(); err == nil {
		t.Errorf("Validate() with ReplicationStreamID %q = nil; want an error (Load lowercases, Validate does not)", upper.ReplicationStreamID)
	}

	pooled := valid
	pooled.PooledDatabaseURL = "not a url"
	if err := pooled.Validate(); !strings.HasPrefix(errString(err), "ELECTRIC_POOLED_DATABASE_URL: ") {
		t.Errorf("Validate() with a bad PooledDatabaseURL = %v; want an ELECTRIC_POOLED_DATABASE_URL error", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestDatabaseURLForms(t *testing.T) {
	accepted := []string{
		"postgresql://user:pass@host:5432/db",
		"postgres://user@host/db",
		"POSTGRES://user@host/db",
		"postgresql://host",
		"postgresql://user:p%40ss%2Fword@host/db",
		"postgresql://user@[::1]:5432/db",
		"postgresql://user@host/db?sslmode=disable",
		"postgresql://user@host/db?sslmode=allow",
		"postgresql://user@host/db?sslmode=prefer",
		"postgresql://user@host/db?sslmode=require&application_name=galvani",
		"postgresql:///db?host=/var/run/postgresql",
		"host=localhost",
		"host=localhost port=5432 dbname=app user=u password=pw sslmode=require",
		`host = localhost password = 'it\'s' `,
		`host=localhost password='a \' b'`,
		`host=localhost password=a\ b`,
	}
	for _, url := range accepted {
		if _, err := load(t, nil, base.with("DATABASE_URL", url)); err != nil {
			t.Errorf("Load with DATABASE_URL=%q = %v; want success", url, err)
		}
	}
}

func TestUnexpectedArgument(t *testing.T) {
	_, err := load(t, []string{"--insecure", "false"}, base)
	if err == nil || !strings.Contains(err.Error(), `"false"`) {
		t.Errorf("Load([--insecure false]) = %v; want an unexpected-argument error", err)
	}
}

func TestUnknownFlag(t *testing.T) {
	var stderr bytes.Buffer
	_, err := config.Load([]string{"--no-such-flag"}, base.get, &stderr)
	if err == nil || !strings.Contains(stderr.String(), "no-such-flag") {
		t.Errorf("Load([--no-such-flag]) = %v, stderr %q; want an error reported on stderr", err, stderr.String())
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		t.Run(arg, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := config.Load([]string{arg}, base.get, &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("Load([%s]) = %v; want flag.ErrHelp", arg, err)
			}
			out := stderr.String()
			for _, v := range config.Vars() {
				if !strings.Contains(out, v.Env) || !strings.Contains(out, v.Flag+",") {
					t.Errorf("usage lacks %s / %s:\n%s", v.Flag, v.Env, out)
				}
			}
			for _, name := range append(config.Ignored(), config.Unsupported()...) {
				if !strings.Contains(out, name) {
					t.Errorf("usage lacks %s", name)
				}
			}
			for line := range strings.SplitSeq(out, "\n") {
				if len(line) > 160 {
					t.Errorf("usage line is %d bytes long: %q", len(line), line)
				}
			}
		})
	}
}

func TestVars(t *testing.T) {
	wantEnv := []string{
		"DATABASE_URL", "ELECTRIC_POOLED_DATABASE_URL", "ELECTRIC_PORT", "ELECTRIC_SECRET",
		"ELECTRIC_INSECURE", "ELECTRIC_STORAGE_DIR", "ELECTRIC_REPLICATION_STREAM_ID",
		"ELECTRIC_LONG_POLL_TIMEOUT", "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD", "ELECTRIC_CACHE_MAX_AGE",
		"ELECTRIC_CACHE_STALE_AGE", "ELECTRIC_DB_POOL_SIZE", "ELECTRIC_ENABLE_INTEGRATION_TESTING",
		"ELECTRIC_LOG_LEVEL", "ELECTRIC_LISTEN_ON_IPV6", "ELECTRIC_MAX_SHAPES", "ELECTRIC_EXPERIMENTAL_MAX_TXN_SIZE",
		"ELECTRIC_MANUAL_TABLE_PUBLISHING", "ELECTRIC_MAX_CONCURRENT_REQUESTS", "ELECTRIC_PROMETHEUS_PORT",
		"GALVANI_SCHEMA_CHECK_INTERVAL", "GALVANI_WAL_RETAINED_WARN",
	}
	vars := config.Vars()
	if len(vars) != len(wantEnv) {
		t.Fatalf("Vars() has %d entries; want %d", len(vars), len(wantEnv))
	}
	for i, v := range vars {
		if v.Env != wantEnv[i] {
			t.Errorf("Vars()[%d].Env = %q; want %q", i, v.Env, wantEnv[i])
		}
		if !strings.HasPrefix(v.Flag, "--") || v.Help == "" || strings.Contains(v.Help, "\n") {
			t.Errorf("Vars()[%d] = %+v; want a --flag and a one-line Help", i, v)
		}
		if v.Default == "" {
			continue
		}
		// Setting each default explicitly gives the same Config as leaving it unset.
		secure := environ{"DATABASE_URL": testURL, "ELECTRIC_SECRET": testSecret}
		implicit, err := load(t, nil, secure)
		if err != nil {
			t.Fatal(err)
		}
		explicit, err := load(t, []string{v.Flag + "=" + v.Default}, secure.with(v.Env, v.Default))
		if err != nil || explicit != implicit {
			t.Errorf("Load with %s=%s = %+v, %v; want the defaults %+v", v.Env, v.Default, explicit, err, implicit)
		}
	}
}
