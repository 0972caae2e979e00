package server

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// cursorEpoch is the origin of electric-cursor values (protocol §7.2).
var cursorEpoch = time.Date(2024, 10, 9, 0, 0, 0, 0, time.UTC)

// nextCursor returns the electric-cursor for a live response: the end of
// the current long-poll window, so clients polling the same position in
// the same window share one URL (and one cache entry), bumped past the
// client's previous cursor when that is already ahead.
func nextCursor(now time.Time, timeout time.Duration, prev string) string {
	t := int64(timeout / time.Second)
	if t == 0 {
		return "0"
	}
	s := int64(now.Sub(cursorEpoch) / time.Second)
	next := (s + t - 1) / t * t
	p, err := strconv.ParseInt(prev, 10, 64)
	if err != nil {
		p = 0
	}
	if next > p {
		return strconv.FormatInt(next, 10)
	}
	return strconv.FormatInt(p+1+rand.Int64N(3600), 10)
}
