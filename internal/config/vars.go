package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Environment variable names of the settings Galvani implements.
const (
	envDatabaseURL           = "DATABASE_URL"
	envPooledDatabaseURL     = "ELECTRIC_POOLED_DATABASE_URL"
	envPort                  = "ELECTRIC_PORT"
	envSecret                = "ELECTRIC_SECRET"
	envInsecure              = "ELECTRIC_INSECURE"
	envStorageDir            = "ELECTRIC_STORAGE_DIR"
	envReplicationStreamID   = "ELECTRIC_REPLICATION_STREAM_ID"
	envLongPollTimeout       = "ELECTRIC_LONG_POLL_TIMEOUT"
	envChunkThreshold        = "ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD"
	envCacheMaxAge           = "ELECTRIC_CACHE_MAX_AGE"
	envCacheStaleAge         = "ELECTRIC_CACHE_STALE_AGE"
	envDBPoolSize            = "ELECTRIC_DB_POOL_SIZE"
	envEnableIntegrationTest = "ELECTRIC_ENABLE_INTEGRATION_TESTING"
	envLogLevel              = "ELECTRIC_LOG_LEVEL"
	envListenIPv6            = "ELECTRIC_LISTEN_ON_IPV6"
	envSchemaCheckInterval   = "GALVANI_SCHEMA_CHECK_INTERVAL"
	envWALRetainedWarn       = "GALVANI_WAL_RETAINED_WARN"
	envMaxShapes             = "ELECTRIC_MAX_SHAPES"
	envMaxTxnSize            = "ELECTRIC_EXPERIMENTAL_MAX_TXN_SIZE"
	envManualPublishing      = "ELECTRIC_MANUAL_TABLE_PUBLISHING"
	envMaxConcurrent         = "ELECTRIC_MAX_CONCURRENT_REQUESTS"
	envPrometheusPort        = "ELECTRIC_PROMETHEUS_PORT"
)

// Var describes one supported setting, for the README table and --help.
type Var struct {
	// Env is the environment variable, as Electric names it.
	Env string
	// Flag is the command-line flag, with its leading dashes ("--port").
	Flag string
	// Default is the default as it would be written in Env, or "" when the
	// setting has none.
	Default string
	// Help says in one line what the setting means; it mentions older names.
	Help string
}

// Vars returns every supported setting, in a fixed order.
func Vars() []Var {
	table := settings()
	vars := make([]Var, len(table))
	for i, s := range table {
		vars[i] = Var{Env: s.env, Flag: "--" + s.flag, Default: s.def, Help: s.help}
	}
	return vars
}

// How a setting's value may be shown in FieldError.Value.
type display int

const (
	displayPlain  display = iota // as given
	displaySecret                // never: always "xxxxx"
	displayConn                  // with the password redacted
)

// setting is one row of the settings table: where a Config field comes from
// and how its text becomes a value.
type setting struct {
	env     string   // environment variable
	oldEnvs []string // older names, read when env is unset
	flag    string   // flag name without dashes
	def     string   // default, as text
	help    string
	isBool  bool // flag may be given without a value
	display display
	// apply parses a non-blank value into c; Validate checks ranges later.
	apply func(c *Config, v string) error
}

// names returns env followed by its older names.
func (s setting) names() []string {
	return append([]string{s.env}, s.oldEnvs...)
}

// shown returns v as it may appear in a FieldError.
func (s setting) shown(v string) string {
	switch s.display {
	case displaySecret:
		return redacted
	case displayConn:
		return redactConnString(strings.TrimSpace(v))
	}
	return v
}

// settings is the table behind Load, Vars and the usage text, one row per
// Config field.
func settings() []setting {
	return []setting{
		{
			env: envDatabaseURL, flag: "database-url",
			help:    "Postgres connection URL (" + connExample + ", or key=value settings) for replication and admin queries; required",
			display: displayConn,
			apply:   func(c *Config, v string) error { c.DatabaseURL = strings.TrimSpace(v); return nil },
		},
		{
			env: envPooledDatabaseURL, oldEnvs: []string{"ELECTRIC_QUERY_DATABASE_URL"}, flag: "pooled-database-url",
			help:    "Connection URL for snapshot queries, such as a pooler; defaults to DATABASE_URL (old name ELECTRIC_QUERY_DATABASE_URL)",
			display: displayConn,
			apply:   func(c *Config, v string) error { c.PooledDatabaseURL = strings.TrimSpace(v); return nil },
		},
		{
			env: envPort, flag: "port", def: strconv.Itoa(DefaultPort),
			help: "HTTP port",
			apply: func(c *Config, v string) (err error) {
				c.Port, err = parseInt(v, strconv.Itoa(DefaultPort))
				return err
			},
		},
		{
			env: envSecret, flag: "secret",
			help:    "Secret every shape request must pass as ?secret=; set this or ELECTRIC_INSECURE (prefer the variable: flags show in ps)",
			display: displaySecret,
			apply:   func(c *Config, v string) error { c.Secret = v; return nil },
		},
		{
			env: envInsecure, flag: "insecure", def: "false", isBool: true,
			help: "Serve shape requests without a secret (development only)",
			apply: func(c *Config, v string) (err error) {
				c.Insecure, err = parseBool(v)
				return err
			},
		},
		{
			env: envStorageDir, flag: "storage-dir", def: DefaultStorageDir,
			help:  "Directory for shape logs and server state",
			apply: func(c *Config, v string) error { c.StorageDir = strings.TrimSpace(v); return nil },
		},
		{
			env: envReplicationStreamID, flag: "replication-stream-id", def: DefaultReplicationStreamID,
			help:  "Names the replication slot electric_slot_<id> and publication electric_publication_<id>",
			apply: func(c *Config, v string) error { c.ReplicationStreamID = asciiLower(strings.TrimSpace(v)); return nil },
		},
		{
			env: envLongPollTimeout, flag: "long-poll-timeout", def: "20s",
			help: "How long a live request waits for changes (milliseconds, or a number with ms, s, sec, m or min)",
			apply: func(c *Config, v string) (err error) {
				c.LongPollTimeout, err = parseDuration(v)
				return err
			},
		},
		{
			env: envChunkThreshold, oldEnvs: []string{"ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD"}, flag: "chunk-bytes-threshold",
			def:  strconv.Itoa(DefaultChunkThreshold),
			help: "Response chunk size (bytes, or a number with KB, KiB, MB, MiB, GB or GiB) (old name ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD)",
			apply: func(c *Config, v string) (err error) {
				c.ChunkThreshold, err = parseSize(v)
				return err
			},
		},
		{
			env: envCacheMaxAge, flag: "cache-max-age", def: strconv.Itoa(DefaultCacheMaxAge),
			help: "cache-control max-age of non-live responses, in seconds",
			apply: func(c *Config, v string) (err error) {
				c.CacheMaxAge, err = parseInt(v, strconv.Itoa(DefaultCacheMaxAge))
				return err
			},
		},
		{
			env: envCacheStaleAge, flag: "cache-stale-age", def: strconv.Itoa(DefaultCacheStaleAge),
			help: "cache-control stale-while-revalidate of non-live responses, in seconds",
			apply: func(c *Config, v string) (err error) {
				c.CacheStaleAge, err = parseInt(v, strconv.Itoa(DefaultCacheStaleAge))
				return err
			},
		},
		{
			env: envDBPoolSize, flag: "db-pool-size", def: strconv.Itoa(DefaultDBPoolSize),
			help: "Pooled Postgres connections for admin and snapshot queries (at least 2)",
			apply: func(c *Config, v string) (err error) {
				c.DBPoolSize, err = parseInt(v, strconv.Itoa(DefaultDBPoolSize))
				return err
			},
		},
		{
			env: envEnableIntegrationTest, flag: "enable-integration-testing", def: "false", isBool: true,
			help: "Enable DELETE /v1/shape",
			apply: func(c *Config, v string) (err error) {
				c.EnableIntegrationTesting, err = parseBool(v)
				return err
			},
		},
		{
			env: envLogLevel, flag: "log-level", def: "info",
			help: "Lowest level logged: debug, info, warning or error",
			apply: func(c *Config, v string) (err error) {
				c.LogLevel, err = parseLogLevel(v)
				return err
			},
		},
		{
			env: envListenIPv6, flag: "listen-on-ipv6", def: "false", isBool: true,
			help: "Listen on IPv6 (::) instead of IPv4 only",
			apply: func(c *Config, v string) (err error) {
				c.ListenIPv6, err = parseBool(v)
				return err
			},
		},
		{
			env: envMaxShapes, oldEnvs: []string{"ELECTRIC_EXPERIMENTAL_MAX_SHAPES"}, flag: "max-shapes", def: "0",
			help: "Evict the least recently used shapes above this many (0: no limit) (old name ELECTRIC_EXPERIMENTAL_MAX_SHAPES)",
			apply: func(c *Config, v string) (err error) {
				c.MaxShapes, err = parseInt(v, "0")
				return err
			},
		},
		{
			env: envMaxTxnSize, flag: "max-txn-size", def: "0",
			help: "Invalidate the shapes a transaction larger than this touches (bytes or with a size suffix; 0: no limit; memory stays bounded either way)",
			apply: func(c *Config, v string) (err error) {
				if strings.TrimSpace(v) == "0" {
					c.MaxTxnSize = 0
					return nil
				}
				c.MaxTxnSize, err = parseSize(v)
				return err
			},
		},
		{
			env: envManualPublishing, flag: "manual-table-publishing", def: "false", isBool: true,
			help: "Never alter the publication or tables: shapes need their table already published with REPLICA IDENTITY FULL",
			apply: func(c *Config, v string) (err error) {
				c.ManualTablePublishing, err = parseBool(v)
				return err
			},
		},
		{
			env: envMaxConcurrent, flag: "max-concurrent-requests", def: `{"initial":300,"existing":10000}`,
			help: "Admission control: concurrent shape requests for new shapes (initial) and known ones (existing), as JSON; over it, 503 with retry-after",
			apply: func(c *Config, v string) error {
				var lim struct {
					Initial  *int `json:"initial"`
					Existing *int `json:"existing"`
				}
				if err := json.Unmarshal([]byte(v), &lim); err != nil {
					return fmt.Errorf("%w: want JSON such as {\"initial\":300,\"existing\":10000}", ErrInvalid)
				}
				if lim.Initial != nil {
					c.MaxInitialRequests = *lim.Initial
				}
				if lim.Existing != nil {
					c.MaxExistingRequests = *lim.Existing
				}
				return nil
			},
		},
		{
			env: envPrometheusPort, flag: "prometheus-port", def: "",
			help: "Serve Prometheus metrics at /metrics on this port (unset: no metrics server)",
			apply: func(c *Config, v string) (err error) {
				c.PrometheusPort, err = parseInt(v, "9090")
				return err
			},
		},
		{
			env: envSchemaCheckInterval, flag: "schema-check-interval", def: "10s",
			help: "How often shapes are checked against the catalog for dropped, renamed or altered tables (Galvani only)",
			apply: func(c *Config, v string) (err error) {
				c.SchemaCheckInterval, err = parseDuration(v)
				return err
			},
		},
		{
			env: envWALRetainedWarn, flag: "wal-retained-warn", def: "1GiB",
			help: "Log a warning when the replication slot retains more WAL than this (bytes or with a size suffix; Galvani only)",
			apply: func(c *Config, v string) (err error) {
				c.WALRetainedWarn, err = parseSize(v)
				return err
			},
		},
	}
}
