// Package server is Galvani's HTTP surface: the Electric shape API v1
// (GET/HEAD/OPTIONS /v1/shape), /v1/health and /.
//
// Routing and authentication use one normalised path (percent-decoded,
// empty segments removed), so /v1//shape or /v1/%73hape cannot bypass the
// secret (protocol §1.2). Handlers return errors; one adapter (errors.go)
// turns them into the protocol's status, headers and error body, logging the
// cause without exposing it.
//
// A shape response is read from the shape's log by (handle, offset): the
// snapshot chunk or the change-log chunk after the offset, ending with an
// up-to-date control message when it reaches the log's durable end (§6).
// Live requests wait on the log's change channel, never on a per-client
// queue, so a slow client costs replication nothing (architecture
// invariant 4).
package server
