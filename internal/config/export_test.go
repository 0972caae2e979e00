package config

import "time"

// ParseDuration exposes parseDuration to the external tests.
func ParseDuration(s string) (time.Duration, error) { return parseDuration(s) }

// ParseSize exposes parseSize to the external tests.
func ParseSize(s string) (int64, error) { return parseSize(s) }
