package config

import (
	"strconv"
)

// Validate checks every field and returns nil, or one *FieldError per bad
// setting joined with errors.Join. Each names the setting's environment
// variable and says how to fix it, on one line.
func (c Config) Validate() error {
	return joinFieldErrors(c.check())
}

// check returns the problems Validate reports, in field order.
func (c Config) check() []*FieldError {
	var errs []*FieldError
	add := func(name, value string, err error) {
		errs = append(errs, &FieldError{Name: name, Value: value, Err: err})
	}

	if c.DatabaseURL == "" {
		add(envDatabaseURL, "", reason(ErrNotSet, "not set: set it to the Postgres connection URL, for example %s", connExample))
	} else if err := checkConnString(c.DatabaseURL); err != nil {
		add(envDatabaseURL, redactConnString(c.DatabaseURL), err)
	}
	if c.PooledDatabaseURL != "" && c.PooledDatabaseURL != c.DatabaseURL {
		if err := checkConnString(c.PooledDatabaseURL); err != nil {
			add(envPooledDatabaseURL, redactConnString(c.PooledDatabaseURL), err)
		}
	}

	if c.Port < 1 || c.Port > 65535 {
		add(envPort, strconv.Itoa(c.Port), reason(ErrOutOfRange, "%d is not a port number: use 1 to 65535, such as %d", c.Port, DefaultPort))
	}

	// Exactly one of secret and insecure (protocol §1.2).
	switch {
	case c.Secret != "" && c.Insecure:
		add(envSecret, redacted, reason(ErrConflict,
			"%s and %s=true are both set: choose one (unset %s to serve without a secret, or %s to require it)",
			envSecret, envInsecure, envSecret, envInsecure))
	case c.Secret == "" && !c.Insecure:
		add(envSecret, "", reason(ErrNotSet,
			"not set: set %s=<secret> to require it on shape requests, or %s=true to serve without one",
			envSecret, envInsecure))
	}

	if c.StorageDir == "" {
		add(envStorageDir, "", reason(ErrNotSet, "empty: set a directory, such as %s", DefaultStorageDir))
	}
	if err := checkStreamID(c.ReplicationStreamID); err != nil {
		add(envReplicationStreamID, c.ReplicationStreamID, err)
	}
	if c.PrometheusPort < 0 || c.PrometheusPort > 65535 || (c.PrometheusPort != 0 && c.PrometheusPort == c.Port) {
		add(envPrometheusPort, strconv.Itoa(c.PrometheusPort), reason(ErrOutOfRange, "%d is not a free port number: use 1-65535, other than ELECTRIC_PORT", c.PrometheusPort))
	}
	if c.MaxInitialRequests < 0 || c.MaxExistingRequests < 0 {
		add(envMaxConcurrent, "", reason(ErrOutOfRange, "limits must not be negative (0: no limit)"))
	}
	if c.MaxShapes < 0 {
		add(envMaxShapes, strconv.Itoa(c.MaxShapes), reason(ErrOutOfRange, "%d is negative: use 0 for no limit", c.MaxShapes))
	}
	if c.SchemaCheckInterval <= 0 {
		add(envSchemaCheckInterval, c.SchemaCheckInterval.String(), reason(ErrOutOfRange,
			"%s is not a positive duration: use more than zero, such as 10s", c.SchemaCheckInterval))
	}
	if c.LongPollTimeout <= 0 {
		add(envLongPollTimeout, c.LongPollTimeout.String(), reason(ErrOutOfRange,
			"%s is not a positive duration: use more than zero, such as 20s", c.LongPollTimeout))
	}
	if c.ChunkThreshold <= 0 {
		add(envChunkThreshold, strconv.FormatInt(c.ChunkThreshold, 10), reason(ErrOutOfRange,
			"%d bytes is not a positive size: use more than zero, such as 10MiB", c.ChunkThreshold))
	}
	if c.CacheMaxAge < 0 {
		add(envCacheMaxAge, strconv.Itoa(c.CacheMaxAge), reason(ErrOutOfRange,
			"%d is negative: use 0 or more seconds, such as %d", c.CacheMaxAge, DefaultCacheMaxAge))
	}
	if c.CacheStaleAge < 0 {
		add(envCacheStaleAge, strconv.Itoa(c.CacheStaleAge), reason(ErrOutOfRange,
			"%d is negative: use 0 or more seconds, such as %d", c.CacheStaleAge, DefaultCacheStaleAge))
	}
	if c.DBPoolSize < 2 {
		add(envDBPoolSize, strconv.Itoa(c.DBPoolSize), reason(ErrOutOfRange,
			"%d is too small: use at least 2 (one admin and one snapshot connection), such as %d", c.DBPoolSize, DefaultDBPoolSize))
	}
	return errs
}
