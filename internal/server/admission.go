package server

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/galvani-sync/galvani/protocol"
)

// admit takes a permit for a shape request (protocol §12.4): "initial"
// for a request that may create a shape (no handle, or one this server does
// not know), "existing" otherwise. Over the limit it answers 503 at once,
// creating nothing, so a saturated database turns into fast retries rather
// than a queue. release returns the permit.
func (s *Server) admit(initial bool) (release func(), err error) {
	counter, limit, kind := &s.existing, s.cfg.MaxExistingRequests, "existing"
	if initial {
		counter, limit, kind = &s.initial, s.cfg.MaxInitialRequests, "initial"
	}
	if n := counter.Add(1); limit > 0 && n > limit {
		counter.Add(-1)
		return func() {}, &httpError{
			status: http.StatusServiceUnavailable,
			body: map[string]string{
				"code":    "concurrent_request_limit_exceeded",
				"message": "Concurrent " + kind + " request limit exceeded (limit: " + strconv.FormatInt(limit, 10) + "), please retry",
			},
			headers: map[string]string{
				"retry-after":             strconv.Itoa(5 + rand.IntN(6)),
				protocol.HeaderKnownError: "true",
				"surrogate-control":       "no-store",
			},
		}
	}
	return onceFunc(func() { counter.Add(-1) }), nil
}

// hold takes a permit without checking the limit (an admitted request
// moving from initial to existing).
func (s *Server) hold(counter *atomic.Int64) func() {
	counter.Add(1)
	return onceFunc(func() { counter.Add(-1) })
}

func onceFunc(f func()) func() {
	var done atomic.Bool
	return func() {
		if done.CompareAndSwap(false, true) {
			f()
		}
	}
}
