package config

import (
	"strings"
)

// electricVar is an Electric environment variable that Galvani does not
// implement, either harmlessly ignored or refused.
type electricVar struct {
	name string
	// ignored marks a variable that is accepted and ignored whatever its value.
	ignored bool
	// harmless, for a refused variable, reports values that behave like
	// Galvani does anyway (so they are accepted); nil means only unset or
	// empty is harmless.
	harmless func(value string) bool
	// fix is the advice in the error; "" means "unset it".
	fix string
	// secret marks a value that may hold credentials (an API key, a DSN), so
	// it is never copied into FieldError.Value.
	secret bool
}

// electricVars lists Electric's variables (protocol §14) that Galvani ignores
// or refuses. The settings Galvani implements are in settings.
func electricVars() []electricVar {
	return []electricVar{
		// Refused: Galvani cannot honour these yet, and silently running
		// without them would change what the deployment does.
		{name: "ELECTRIC_STORAGE", harmless: equalFold("FAST_FILE"), fix: "unset it, or set it to FAST_FILE"},
		{name: "ELECTRIC_PERSISTENT_STATE", harmless: equalFold("FILE"), fix: "unset it, or set it to FILE"},
		{name: "CLEANUP_REPLICATION_SLOTS_ON_SHUTDOWN", harmless: isFalse, fix: "unset it, or set it to false"},
		{name: "ELECTRIC_TEMPORARY_REPLICATION_SLOT_USE_RANDOM_NAME", harmless: isFalse, fix: "unset it, or set it to false"},
		{name: "ELECTRIC_REPLICATION_IDLE_TIMEOUT", harmless: isZeroDuration, fix: "unset it, or set it to 0"},
		{name: "ELECTRIC_DATABASE_CA_CERTIFICATE_FILE"},
		{name: "ELECTRIC_FEATURE_FLAGS", harmless: isEmptyList},
		{name: "ELECTRIC_STATSD_HOST"},
		{name: "ELECTRIC_OTLP_ENDPOINT", secret: true},
		{name: "ELECTRIC_HNY_API_KEY", secret: true},
		{name: "SENTRY_DSN", secret: true},

		// Ignored: Elixir runtime tuning, log colours, telemetry identity and
		// socket options whose absence changes nothing a client can see.
		{name: "ELECTRIC_LOG_COLORS", ignored: true},
		{name: "ELECTRIC_INSTANCE_ID", ignored: true},
		{name: "ELECTRIC_SERVICE_NAME", ignored: true},
		{name: "ELECTRIC_DATABASE_ID", ignored: true},
		{name: "ELECTRIC_SHAPE_HIBERNATE_AFTER", ignored: true},
		{name: "ELECTRIC_SHAPE_SUSPEND_CONSUMER", ignored: true},
		{name: "ELECTRIC_SHAPE_SUSPEND_AFTER", ignored: true},
		{name: "ELECTRIC_LIVE_DASHBOARD_PORT", ignored: true},
		{name: "ELECTRIC_TCP_SEND_TIMEOUT", ignored: true},
		{name: "ELECTRIC_TCP_READ_TIMEOUT", ignored: true},
		{name: "ELECTRIC_PUBLICATION_ALTER_DEBOUNCE_TIME", ignored: true},
		{name: "ELECTRIC_FLUSH_STALL_GRACE_PERIOD", ignored: true},
		{name: "ELECTRIC_DATABASE_USE_IPV6", ignored: true},
		{name: "ELECTRIC_DATABASE_TCP_KEEPALIVE_IDLE", ignored: true},
		{name: "ELECTRIC_DATABASE_TCP_KEEPALIVE_INTERVAL", ignored: true},
		{name: "ELECTRIC_DATABASE_TCP_KEEPALIVE_COUNT", ignored: true},
		{name: "ELECTRIC_DATABASE_TCP_USER_TIMEOUT", ignored: true},
		// Only read by Electric together with ELECTRIC_OTLP_ENDPOINT, which is refused.
		{name: "ELECTRIC_HNY_DATASET", ignored: true},
	}
}

// Ignored returns the Electric environment variables Galvani accepts and
// ignores, whatever their value, in a fixed order.
func Ignored() []string {
	var names []string
	for _, v := range electricVars() {
		if v.ignored {
			names = append(names, v.name)
		}
	}
	return names
}

// Unsupported returns the Electric environment variables that make Load fail
// when set to a value that would change behaviour, in a fixed order. A few
// accept the value that matches Galvani's behaviour (ELECTRIC_STORAGE=FAST_FILE,
// ELECTRIC_PERSISTENT_STATE=FILE, false for the boolean ones, 0 for
// ELECTRIC_REPLICATION_IDLE_TIMEOUT, an empty ELECTRIC_FEATURE_FLAGS).
func Unsupported() []string {
	var names []string
	for _, v := range electricVars() {
		if !v.ignored {
			names = append(names, v.name)
		}
	}
	return names
}

// checkElectricVars returns an error for each refused variable set to a value
// that matters.
func checkElectricVars(getenv func(string) string) []*FieldError {
	var errs []*FieldError
	for _, v := range electricVars() {
		if v.ignored {
			continue
		}
		val := getenv(v.name)
		if strings.TrimSpace(val) == "" || v.harmless != nil && v.harmless(val) {
			continue
		}
		fix := v.fix
		if fix == "" {
			fix = "unset it"
		}
		shown := val
		if v.secret {
			shown = redacted
		}
		errs = append(errs, &FieldError{
			Name:  v.name,
			Value: shown,
			Err:   reason(ErrUnsupported, "not supported by this version of Galvani (%s)", fix),
		})
	}
	return errs
}

func equalFold(want string) func(string) bool {
	return func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), want) }
}

func isFalse(v string) bool {
	b, err := parseBool(v)
	return err == nil && !b
}

func isZeroDuration(v string) bool {
	d, err := parseDuration(v)
	return err == nil && d == 0
}

// isEmptyList reports whether a comma-separated list names nothing.
func isEmptyList(v string) bool {
	return strings.Trim(v, ", \t") == ""
}
