// Package embeddedpg runs private Postgres clusters from the system's
// Postgres server binaries (initdb and postgres, e.g. from the Debian
// package postgresql).
//
// A cluster is a postgres process owned by this process: Start runs initdb
// when the data directory is new, launches postgres directly (not through
// pg_ctl) with the settings Galvani needs for logical replication, and waits
// until it accepts connections on 127.0.0.1. The same code serves the
// long-lived database of `galvani dev` (Config.Durable set, data directory
// kept between runs) and throwaway clusters for tests.
//
// Postgres refuses to run as root. When this process runs as root, initdb
// and postgres run as the "postgres" OS user instead, so the data directory
// must be reachable by that user.
//
// The postmaster is started in its own process group, so a terminal's
// Ctrl-C reaches only this process, which decides when to call
// Cluster.Stop. If this process dies without stopping the cluster, the
// postmaster receives SIGQUIT (immediate shutdown) from the kernel, so no
// orphaned server keeps running.
package embeddedpg
