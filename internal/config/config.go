package config

import (
	"log/slog"
	"time"
)

// Defaults for settings left unset.
const (
	// DefaultPort is the HTTP port when ELECTRIC_PORT is unset.
	DefaultPort = 3000
	// DefaultStorageDir is the storage root when ELECTRIC_STORAGE_DIR is unset.
	DefaultStorageDir = "./persistent"
	// DefaultReplicationStreamID is ELECTRIC_REPLICATION_STREAM_ID's default,
	// giving slot electric_slot_default and publication electric_publication_default.
	DefaultReplicationStreamID = "default"
	// DefaultLongPollTimeout is how long a live request waits for changes when
	// ELECTRIC_LONG_POLL_TIMEOUT is unset.
	DefaultLongPollTimeout = 20 * time.Second
	// DefaultSchemaCheckInterval is how often shapes are checked against
	// the catalog (GALVANI_SCHEMA_CHECK_INTERVAL).
	DefaultSchemaCheckInterval = 10 * time.Second
	// DefaultWALRetainedWarn is the retained-WAL size that triggers a
	// warning (GALVANI_WAL_RETAINED_WARN).
	DefaultWALRetainedWarn = 1 << 30
	// DefaultChunkThreshold is the response chunk size in bytes (10 MiB) when
	// ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD is unset.
	DefaultChunkThreshold = 10 << 20
	// DefaultCacheMaxAge is the cache-control max-age in seconds when
	// ELECTRIC_CACHE_MAX_AGE is unset.
	DefaultCacheMaxAge = 60
	// DefaultCacheStaleAge is the cache-control stale-while-revalidate in
	// seconds when ELECTRIC_CACHE_STALE_AGE is unset.
	DefaultCacheStaleAge = 300
	// DefaultDBPoolSize is the number of pooled Postgres connections when
	// ELECTRIC_DB_POOL_SIZE is unset.
	DefaultDBPoolSize = 20
)

// Names of the replication slot and publication, before the stream id
// (protocol §11.1).
const (
	slotPrefix        = "electric_slot_"
	publicationPrefix = "electric_publication_"
	// maxNameLen is Postgres's limit on slot and publication names (NAMEDATALEN-1).
	maxNameLen = 63
)

// Config is the server's complete configuration. Build one with Load, or
// start from Default and call Validate.
type Config struct {
	// DatabaseURL is the Postgres connection string for the replication
	// connection and the admin pool (DATABASE_URL, --database-url), as a
	// postgres:// or postgresql:// URL or libpq key=value settings. Required.
	DatabaseURL string
	// PooledDatabaseURL is the connection string for the snapshot pool, which
	// may point at a pooler such as pgbouncer (ELECTRIC_POOLED_DATABASE_URL,
	// old name ELECTRIC_QUERY_DATABASE_URL, --pooled-database-url). Load sets
	// it to DatabaseURL when unset; empty here also means DatabaseURL.
	PooledDatabaseURL string
	// Port is the HTTP port, 1 to 65535 (ELECTRIC_PORT, --port; default 3000).
	Port int
	// Secret, when not empty, must be passed as the secret (or api_secret)
	// query parameter on every shape request (ELECTRIC_SECRET, --secret).
	// Exactly one of Secret and Insecure must be set.
	Secret string
	// Insecure serves shape requests without a secret (ELECTRIC_INSECURE,
	// --insecure; default false).
	Insecure bool
	// StorageDir is the root for shape logs and server state
	// (ELECTRIC_STORAGE_DIR, --storage-dir; default "./persistent"). Must not
	// be empty.
	StorageDir string
	// ReplicationStreamID suffixes the slot and publication names: lowercase
	// letters, digits and underscores, not starting with a digit, at most 42
	// characters (ELECTRIC_REPLICATION_STREAM_ID, --replication-stream-id;
	// default "default"). Load lowercases it, as Postgres does an unquoted
	// identifier.
	ReplicationStreamID string
	// LongPollTimeout is how long a live request waits for changes before
	// answering up-to-date (ELECTRIC_LONG_POLL_TIMEOUT, --long-poll-timeout;
	// default 20s). Must be positive.
	LongPollTimeout time.Duration
	// ChunkThreshold is the response chunk size in bytes: a chunk closes after
	// the entry that reaches it (ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD, old name
	// ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD, --chunk-bytes-threshold; default
	// 10485760). Must be positive.
	ChunkThreshold int64
	// CacheMaxAge is the cache-control max-age, in seconds, of non-live
	// responses (ELECTRIC_CACHE_MAX_AGE, --cache-max-age; default 60). Zero is
	// allowed and means responses go stale at once.
	CacheMaxAge int
	// CacheStaleAge is the cache-control stale-while-revalidate, in seconds,
	// of non-live responses (ELECTRIC_CACHE_STALE_AGE, --cache-stale-age;
	// default 300). Zero is allowed.
	CacheStaleAge int
	// DBPoolSize is the total of pooled Postgres connections, split between
	// admin and snapshot queries (ELECTRIC_DB_POOL_SIZE, --db-pool-size;
	// default 20). At least 2; the replication connection is extra.
	DBPoolSize int
	// EnableIntegrationTesting enables DELETE /v1/shape
	// (ELECTRIC_ENABLE_INTEGRATION_TESTING, --enable-integration-testing;
	// default false).
	EnableIntegrationTesting bool
	// LogLevel is the lowest level logged (ELECTRIC_LOG_LEVEL, --log-level:
	// debug, info, warning or error; default info, the zero value).
	LogLevel slog.Level
	// ListenIPv6 makes the HTTP server listen on IPv6 (::) instead of IPv4
	// only (ELECTRIC_LISTEN_ON_IPV6, --listen-on-ipv6; default false).
	ListenIPv6 bool
	// SchemaCheckInterval is how often shapes are checked against the
	// catalog for DDL the replication stream does not announce
	// (GALVANI_SCHEMA_CHECK_INTERVAL, --schema-check-interval; default 10s).
	SchemaCheckInterval time.Duration
	// WALRetainedWarn is the retained-WAL size, in bytes, above which a
	// warning is logged (GALVANI_WAL_RETAINED_WARN, --wal-retained-warn;
	// default 1 GiB).
	WALRetainedWarn int64
	// MaxShapes is the number of shapes above which the least recently used
	// are evicted (ELECTRIC_MAX_SHAPES, old ELECTRIC_EXPERIMENTAL_MAX_SHAPES,
	// --max-shapes; 0, the default, means no limit).
	MaxShapes int
	// MaxTxnSize is the size in bytes of a transaction's values above which
	// the shapes it touches are invalidated
	// (ELECTRIC_EXPERIMENTAL_MAX_TXN_SIZE, --max-txn-size; 0, the default,
	// means no limit).
	MaxTxnSize int64
	// ManualTablePublishing stops Galvani from altering the publication or
	// tables (ELECTRIC_MANUAL_TABLE_PUBLISHING; default false).
	ManualTablePublishing bool
	// MaxInitialRequests and MaxExistingRequests bound concurrent shape
	// requests for new and known shapes (ELECTRIC_MAX_CONCURRENT_REQUESTS;
	// defaults 300 and 10000); 0 means no limit.
	MaxInitialRequests, MaxExistingRequests int
	// PrometheusPort serves /metrics when positive
	// (ELECTRIC_PROMETHEUS_PORT; default unset).
	PrometheusPort int
}

// Default returns a Config holding every default. It is not valid as it
// stands: DatabaseURL and one of Secret or Insecure still need to be set.
func Default() Config {
	return Config{
		Port:                DefaultPort,
		StorageDir:          DefaultStorageDir,
		ReplicationStreamID: DefaultReplicationStreamID,
		LongPollTimeout:     DefaultLongPollTimeout,
		SchemaCheckInterval: DefaultSchemaCheckInterval,
		WALRetainedWarn:     DefaultWALRetainedWarn,
		MaxInitialRequests:  300,
		MaxExistingRequests: 10000,
		ChunkThreshold:      DefaultChunkThreshold,
		CacheMaxAge:         DefaultCacheMaxAge,
		CacheStaleAge:       DefaultCacheStaleAge,
		DBPoolSize:          DefaultDBPoolSize,
		LogLevel:            slog.LevelInfo,
	}
}

// SlotName returns the logical replication slot's name,
// electric_slot_<ReplicationStreamID> (protocol §11.1).
func (c Config) SlotName() string {
	return slotPrefix + c.ReplicationStreamID
}

// PublicationName returns the publication's name,
// electric_publication_<ReplicationStreamID> (protocol §11.1).
func (c Config) PublicationName() string {
	return publicationPrefix + c.ReplicationStreamID
}
