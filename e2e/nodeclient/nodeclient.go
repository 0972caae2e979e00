// Package nodeclient runs e2e/node/sync.mjs (the official @electric-sql/client) as a subprocess and decodes its events.
//
// The Node program prints one JSON object per line on stdout; Start launches it,
// and Process delivers the decoded lines as Events. The program keeps running
// (following the shapes live) until Stop is called, its stdin is closed, or the
// context given to Start ends.
package nodeclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// InstallHint is the command that installs the Node dependencies of the harness.
const InstallHint = "run: npm ci --prefix e2e/node"

// Event names printed by sync.mjs (the Event field of Event).
const (
	// EventStarted is printed once every stream has been created.
	EventStarted = "started"
	// EventUpToDate is printed after every batch that contains an up-to-date control message.
	EventUpToDate = "up-to-date"
	// EventShape is printed whenever the official Shape notifies its subscribers.
	EventShape = "shape"
	// EventMustRefetch is printed when the stream publishes a must-refetch control message.
	EventMustRefetch = "must-refetch"
	// EventMessage is printed for every raw message when Config.Verbose is set.
	EventMessage = "message"
	// EventError is printed when the client reports an error to onError (the stream then
	// stops), or for harness-level failures (then Shape is empty).
	EventError = "error"
	// EventFetchFailed is printed for each failed HTTP attempt (network error or non-2xx
	// status); the client retries 429, 5xx and network errors by itself.
	EventFetchFailed = "fetch-failed"
	// EventDecodeError is produced on the Go side for a stdout line that is not a valid
	// event; Text holds the line and the decoding error.
	EventDecodeError = "decode-error"
)

// ShapeConfig describes one shape to sync.
type ShapeConfig struct {
	// Name identifies the shape in events; it is not sent to the server.
	Name string `json:"name"`
	// Params are the shape parameters (table, where, columns, replica, …). A "log"
	// entry is passed to the client as its `log` option.
	Params map[string]string `json:"params"`
	// LiveSSE makes the client use Server-Sent Events for live mode.
	LiveSSE bool `json:"liveSse"`
	// Offset, with Handle, resumes a shape from a previous position.
	Offset string `json:"offset,omitempty"`
	// Handle is the shape handle to resume with (required with a non-initial Offset).
	Handle string `json:"handle,omitempty"`
}

// Config is the configuration passed to sync.mjs.
type Config struct {
	// URL is the shape endpoint, e.g. http://127.0.0.1:3000/v1/shape.
	URL string `json:"url"`
	// Secret, when set, is sent as the `secret` parameter of every shape.
	Secret string `json:"secret,omitempty"`
	// Shapes lists the shapes to sync, each with its own ShapeStream.
	Shapes []ShapeConfig `json:"shapes"`
	// Verbose makes sync.mjs report every raw message as an EventMessage.
	Verbose bool `json:"verbose,omitempty"`
}

// Event is one decoded line of sync.mjs output.
type Event struct {
	// Event is the event name (see the Event* constants).
	Event string
	// Shape is the shape name from ShapeConfig ("" for events not tied to a shape).
	Shape string
	// Handle is the stream's shape handle (up-to-date and shape events).
	Handle string
	// Offset is the stream's last offset (up-to-date and shape events).
	Offset string
	// LSN is global_last_seen_lsn of the up-to-date message, nil when absent.
	LSN *string
	// Rows is the harness's own materialisation from raw messages, keyed by row key
	// (up-to-date events). A row maps column names to values; nil means SQL NULL. A value
	// that was not a JSON string (e.g. an array produced by the client's array parser)
	// holds its JSON text.
	Rows map[string]map[string]*string
	// ShapeRows is the official Shape's currentValue, in the same form as Rows
	// (up-to-date and shape events).
	ShapeRows map[string]map[string]*string
	// Status is the HTTP status of error and fetch-failed events, nil when there is none.
	Status *int
	// Message is the raw message of a message event, as JSON.
	Message json.RawMessage
	// Text is the error message of error, fetch-failed and decode-error events.
	Text string
}

// String summarises the event on one line (row counts rather than rows).
func (e Event) String() string {
	var b strings.Builder
	b.WriteString(e.Event)
	if e.Shape != "" {
		fmt.Fprintf(&b, " shape=%s", e.Shape)
	}
	if e.Handle != "" {
		fmt.Fprintf(&b, " handle=%s", e.Handle)
	}
	if e.Offset != "" {
		fmt.Fprintf(&b, " offset=%s", e.Offset)
	}
	if e.LSN != nil {
		fmt.Fprintf(&b, " lsn=%s", *e.LSN)
	}
	if e.Rows != nil {
		fmt.Fprintf(&b, " rows=%d", len(e.Rows))
	}
	if e.ShapeRows != nil {
		fmt.Fprintf(&b, " shapeRows=%d", len(e.ShapeRows))
	}
	if e.Status != nil {
		fmt.Fprintf(&b, " status=%d", *e.Status)
	}
	if e.Text != "" {
		fmt.Fprintf(&b, " text=%q", e.Text)
	}
	if len(e.Message) > 0 {
		m := string(e.Message)
		if len(m) > 200 {
			m = m[:200] + "…"
		}
		fmt.Fprintf(&b, " message=%s", m)
	}
	return b.String()
}

type wireEvent struct {
	Event     string                                `json:"event"`
	Shape     *string                               `json:"shape"`
	Handle    *string                               `json:"handle"`
	Offset    *string                               `json:"offset"`
	LSN       *string                               `json:"lsn"`
	Rows      map[string]map[string]json.RawMessage `json:"rows"`
	ShapeRows map[string]map[string]json.RawMessage `json:"shapeRows"`
	Status    *int                                  `json:"status"`
	Message   json.RawMessage                       `json:"message"`
}

// DecodeEvent decodes one line printed by sync.mjs.
//
// For error, fetch-failed (and any event whose "message" is a JSON string) the
// string goes to Text and Message stays nil; otherwise a non-null "message" is kept
// verbatim in Message.
func DecodeEvent(line []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(line, &w); err != nil {
		return Event{}, fmt.Errorf("nodeclient: decoding event %q: %w", line, err)
	}
	if w.Event == "" {
		return Event{}, fmt.Errorf("nodeclient: event without name: %q", line)
	}
	ev := Event{
		Event:  w.Event,
		Shape:  deref(w.Shape),
		Handle: deref(w.Handle),
		Offset: deref(w.Offset),
		LSN:    w.LSN,
		Status: w.Status,
	}
	if m := bytes.TrimSpace(w.Message); len(m) > 0 && !bytes.Equal(m, []byte("null")) {
		if m[0] == '"' {
			if err := json.Unmarshal(m, &ev.Text); err != nil {
				return Event{}, fmt.Errorf("nodeclient: decoding message of %q: %w", line, err)
			}
		} else {
			ev.Message = append(json.RawMessage(nil), m...)
		}
	}
	var err error
	if ev.Rows, err = decodeRows(w.Rows); err != nil {
		return Event{}, fmt.Errorf("nodeclient: decoding rows of %q: %w", line, err)
	}
	if ev.ShapeRows, err = decodeRows(w.ShapeRows); err != nil {
		return Event{}, fmt.Errorf("nodeclient: decoding shapeRows of %q: %w", line, err)
	}
	return ev, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func decodeRows(in map[string]map[string]json.RawMessage) (map[string]map[string]*string, error) {
	if in == nil {
		return nil, nil
	}
	out := make(map[string]map[string]*string, len(in))
	for key, row := range in {
		r := make(map[string]*string, len(row))
		for col, raw := range row {
			v, err := decodeValue(raw)
			if err != nil {
				return nil, fmt.Errorf("row %q column %q: %w", key, col, err)
			}
			r[col] = v
		}
		out[key] = r
	}
	return out, nil
}

func decodeValue(raw json.RawMessage) (*string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return nil, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return &s, nil
	default:
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, err
		}
		s := buf.String()
		return &s, nil
	}
}

// Dir returns the absolute path of e2e/node, located from this source file's directory (runtime.Caller) so tests in any package can find it.
func Dir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("nodeclient: cannot determine source location (runtime.Caller failed)")
	}
	dir, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "node"))
	if err != nil {
		return "", fmt.Errorf("nodeclient: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sync.mjs")); err != nil {
		return "", fmt.Errorf("nodeclient: e2e/node/sync.mjs not found: %w", err)
	}
	return dir, nil
}

// Process is a running sync.mjs. Its goroutines end when the Node process ends.
type Process struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	events   chan Event
	exited   chan struct{} // closed after cmd.Wait returned
	stopping chan struct{} // closed by Stop: undelivered events are dropped
	stopOnce sync.Once
	stopErr  error

	queue eventQueue

	mu      sync.Mutex
	waitErr error
	last    map[string]Event // last event seen by WaitFor, per shape
}

// Start launches `node sync.mjs '<config json>'` in Dir(); fails with a clear error if node is missing or node_modules is missing ("run: npm ci --prefix e2e/node").
//
// The program's stderr is copied to stderr (discarded when nil). When ctx ends the
// process is sent SIGTERM, and killed 5 s later if still running.
func Start(ctx context.Context, cfg Config, stderr io.Writer) (*Process, error) {
	nodePath, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("nodeclient: node not found in PATH (Node.js ≥ 18 is needed to run @electric-sql/client): %w", err)
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@electric-sql", "client", "package.json")); err != nil {
		return nil, fmt.Errorf("nodeclient: %s/node_modules/@electric-sql/client is missing; %s", dir, InstallHint)
	}
	if cfg.Shapes == nil {
		cfg.Shapes = []ShapeConfig{}
	}
	for i := range cfg.Shapes {
		if cfg.Shapes[i].Params == nil {
			cfg.Shapes[i].Params = map[string]string{}
		}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("nodeclient: encoding config: %w", err)
	}
	if stderr == nil {
		stderr = io.Discard
	}

	cmd := exec.CommandContext(ctx, nodePath, "sync.mjs", string(cfgJSON))
	cmd.Dir = dir
	cmd.Stderr = stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("nodeclient: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("nodeclient: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("nodeclient: starting node: %w", err)
	}
	p := &Process{
		cmd:      cmd,
		stdin:    stdin,
		events:   make(chan Event),
		exited:   make(chan struct{}),
		stopping: make(chan struct{}),
		last:     map[string]Event{},
	}
	p.queue.init()
	go p.read(stdout)
	go p.forward()
	return p, nil
}

// read decodes stdout until EOF, then reaps the process. It never blocks on the
// consumer, so Node is never stalled by a full pipe.
func (p *Process) read(stdout io.Reader) {
	br := bufio.NewReaderSize(stdout, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if l := bytes.TrimSpace(line); len(l) > 0 {
			ev, derr := DecodeEvent(l)
			if derr != nil {
				ev = Event{Event: EventDecodeError, Text: derr.Error()}
			}
			p.queue.push(ev)
		}
		if err != nil {
			break
		}
	}
	werr := p.cmd.Wait()
	p.mu.Lock()
	p.waitErr = werr
	p.mu.Unlock()
	p.queue.close()
	close(p.exited)
}

// forward delivers queued events to the Events channel; it closes the channel once
// the process has exited and every event was delivered (or Stop was called).
func (p *Process) forward() {
	defer func() {
		<-p.exited
		close(p.events)
	}()
	for {
		ev, ok := p.queue.pop(p.stopping)
		if !ok {
			return
		}
		select {
		case p.events <- ev:
		case <-p.stopping:
			return
		}
	}
}

// Events returns the decoded events in output order. The channel is closed when the
// process has exited and all its events were received, or after Stop.
func (p *Process) Events() <-chan Event { return p.events }

// Err returns the result of waiting for the process (nil while it runs or after a clean exit).
func (p *Process) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Stop closes stdin, sends SIGTERM, and waits for the process to exit (killing it
// after 5 s). Events not yet received are dropped. It returns the process's exit
// error (nil for exit status 0) and is safe to call more than once.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		close(p.stopping)
		_ = p.stdin.Close()
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
		for range p.events { // wait for the forwarder to finish
		}
		p.stopErr = p.Err()
	})
	return p.stopErr
}

// WaitFor reads events until pred returns true (returns that event) or ctx ends (returns an error naming the last event seen per shape).
//
// It also fails when the process exits first. Events read while waiting are consumed.
func (p *Process) WaitFor(ctx context.Context, pred func(Event) bool) (Event, error) {
	for {
		select {
		case <-ctx.Done():
			return Event{}, fmt.Errorf("nodeclient: condition not met: %w; %s", ctx.Err(), p.lastSeen())
		case ev, ok := <-p.events:
			if !ok {
				return Event{}, fmt.Errorf("nodeclient: process ended (%v) before condition was met; %s", p.Err(), p.lastSeen())
			}
			p.mu.Lock()
			p.last[ev.Shape] = ev
			p.mu.Unlock()
			if pred(ev) {
				return ev, nil
			}
		}
	}
}

func (p *Process) lastSeen() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.last) == 0 {
		return "no event seen"
	}
	names := make([]string, 0, len(p.last))
	for n := range p.last {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		label := n
		if label == "" {
			label = "(no shape)"
		}
		parts = append(parts, fmt.Sprintf("%s: [%s]", label, p.last[n]))
	}
	return "last event per shape: " + strings.Join(parts, "; ")
}

// eventQueue is an unbounded FIFO between the stdout reader and the forwarder.
type eventQueue struct {
	mu     sync.Mutex
	items  []Event
	closed bool
	signal chan struct{} // capacity 1: "something changed"
}

func (q *eventQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *eventQueue) notify() {
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	q.items = append(q.items, ev)
	q.mu.Unlock()
	q.notify()
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.notify()
}

// pop returns the next event; ok is false once the queue is closed and empty, or
// when cancel is closed.
func (q *eventQueue) pop(cancel <-chan struct{}) (Event, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			ev := q.items[0]
			q.items[0] = Event{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return ev, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return Event{}, false
		}
		select {
		case <-q.signal:
		case <-cancel:
			return Event{}, false
		}
	}
}
