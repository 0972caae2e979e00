package client

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry defaults, those of the TypeScript client.
const (
	DefaultBackoffInitial    = 1 * time.Second  // first retry waits up to this long
	DefaultBackoffMax        = 32 * time.Second // no backoff wait exceeds this (before Retry-After)
	DefaultBackoffMultiplier = 2.0
	DefaultMaxRetryAfter     = time.Hour // a longer Retry-After is capped to this
)

// Backoff says how the client waits between retries of 429s, 5xx and
// network errors: exponential backoff with full jitter (a uniformly random
// wait between 0 and min(Max, Initial·Multiplier^n) before retry n+1), but
// never less than the response's Retry-After (seconds or an HTTP date,
// capped at MaxRetryAfter). Zero fields take the Default* values.
type Backoff struct {
	Initial       time.Duration
	Max           time.Duration
	Multiplier    float64
	MaxRetryAfter time.Duration
	// MaxRetries is how many retries follow a failed request before its
	// error is returned; 0 retries forever (until the context ends).
	MaxRetries int
}

func (b Backoff) withDefaults() Backoff {
	if b.Initial <= 0 {
		b.Initial = DefaultBackoffInitial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoffMax
	}
	if b.Multiplier < 1 {
		b.Multiplier = DefaultBackoffMultiplier
	}
	if b.MaxRetryAfter <= 0 {
		b.MaxRetryAfter = DefaultMaxRetryAfter
	}
	return b
}

// ceiling is the upper bound of the jittered wait before retry attempt+1.
func (b Backoff) ceiling(attempt int) time.Duration {
	c := float64(b.Initial) * math.Pow(b.Multiplier, float64(attempt))
	if c > float64(b.Max) || math.IsInf(c, 0) || math.IsNaN(c) {
		return b.Max
	}
	return time.Duration(c)
}

// delay returns the wait before retry attempt+1 (attempt counts from 0),
// given the failed response's headers (nil for network errors).
func (b Backoff) delay(attempt int, h http.Header, now time.Time) time.Duration {
	d := time.Duration(rand.Int64N(int64(b.ceiling(attempt)) + 1))
	if ra := retryAfter(h, now); ra > 0 {
		d = max(d, min(ra, b.MaxRetryAfter))
	}
	return d
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
// It returns 0 when the header is absent, malformed or in the past.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
