// Package config turns Electric's environment variables and Galvani's
// command-line flags into a validated Config.
//
// It is the only package that reads settings: cmd/galvani calls Load with the
// process's arguments and os.Getenv, and hands the resulting Config (or parts
// of it) to the components it starts. Nothing else reads the environment.
//
// # Sources and precedence
//
// Every setting has an environment variable, named as in Electric (see Vars),
// and a kebab-case flag of the same meaning (--port, --database-url, …). A
// flag given on the command line wins over its variable; a variable wins over
// the default. Two settings also honour Electric's older names
// (ELECTRIC_QUERY_DATABASE_URL, ELECTRIC_LOG_CHUNK_BYTES_THRESHOLD), consulted
// only when the current name is unset. An empty or blank value counts as
// unset, so --secret= clears a secret that came from the environment.
//
// # Value formats
//
// Durations are a bare number of milliseconds or a number with one of the
// units ms, msec, s, sec, m or min ("20000", "20s", "1.5min"); sizes are a
// bare number of bytes or a number with KB, KiB, MB, MiB, GB or GiB (KB is
// 1000, KiB 1024). Booleans are true, false, 1 or 0 in any case. These follow
// Electric's parsers, except that Galvani rejects boolean spellings Electric
// would quietly read as true.
//
// # Validation
//
// Load returns a Config only after Config.Validate accepts it, so a server
// never starts with a setting it would misread. Each problem is a *FieldError
// naming the environment variable and saying how to fix it, on one line; when
// several settings are wrong, Load and Validate report all of them (joined
// with errors.Join, one per line). Secret values and database passwords never
// appear in an error.
//
// # Electric variables Galvani does not implement
//
// Electric variables that only tune Elixir internals or telemetry identity are
// accepted and ignored (Ignored). Variables whose effect Galvani cannot honour
// yet make Load fail when set to a value that would change behaviour
// (Unsupported), so a deployment never silently loses a feature it relied on.
package config
