package e2e

// Helpers that run the Node drivers of e2e/compat (client.mjs, tanstack.mjs,
// pglite.mjs) as subprocesses. Each prints one JSON object per line on
// stdout and takes commands as JSON lines on stdin (e2e/compat/lib.mjs).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// compatInstallHint tells how to install the Node packages the compat tests use.
const compatInstallHint = "run: npm ci --prefix e2e/compat (make test-deps does it)"

// compatEvent is one line printed by a compat driver. Fields not used by an
// event are zero; Raw is the whole line.
type compatEvent struct {
	Event   string                     `json:"event"`
	Shape   *string                    `json:"shape"`
	Table   string                     `json:"table"`
	Handle  *string                    `json:"handle"`
	Offset  *string                    `json:"offset"`
	LSN     *string                    `json:"lsn"`
	Status  *int                       `json:"status"`
	Message string                     `json:"message"`
	URL     string                     `json:"url"`
	Rows    map[string]json.RawMessage `json:"rows"`
	ID      int                        `json:"id"`
	OK      bool                       `json:"ok"`
	Error   string                     `json:"error"`
	Value   json.RawMessage            `json:"value"`
	RID     int                        `json:"rid"`
	Muts    json.RawMessage            `json:"mutations"`
	Raw     string                     `json:"-"`
}

func (e compatEvent) String() string {
	s := e.Raw
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func (e compatEvent) shape() string {
	if e.Shape == nil {
		return ""
	}
	return *e.Shape
}

// nodeProc is a running compat driver.
type nodeProc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}

	mu       sync.Mutex
	events   []compatEvent
	cursor   int    // events before it are all consumed by waitEvent
	consumed []bool // per event: returned by waitEvent
	notify   chan struct{}
	stderr   bytes.Buffer
	nextID   int
	stopped  bool
}

// compatDir is the absolute path of e2e/compat.
func compatDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("compat: runtime.Caller failed")
	}
	return filepath.Join(filepath.Dir(file), "compat")
}

// startNode runs `node <script> '<cfg json>'` in e2e/compat. A missing node
// or node_modules fails the test: these tests are part of `make test`.
func startNode(t *testing.T, script string, cfg any) *nodeProc {
	t.Helper()
	nodePath, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH; Node.js ≥ 18 is needed for the compat tests (%s): %v", compatInstallHint, err)
	}
	dir := compatDir(t)
	for _, pkg := range []string{"@electric-sql/client", "@tanstack/db", "@tanstack/electric-db-collection", "@electric-sql/pglite", "@electric-sql/pglite-sync"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s/node_modules/%s is missing; %s", dir, pkg, compatInstallHint)
		}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{t: t, name: script, notify: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.Command(nodePath, script, string(b))
	p.cmd.Dir = dir
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.stderr}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	go p.read(stdout)
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			p.mu.Lock()
			var b strings.Builder
			from := max(0, len(p.events)-40)
			for _, e := range p.events[from:] {
				b.WriteString(e.String())
				b.WriteByte('\n')
			}
			t.Logf("%s: last %d events:\n%s\nstderr:\n%s", script, len(p.events)-from, b.String(), p.stderr.String())
			p.mu.Unlock()
		}
	})
	return p
}

func (p *nodeProc) read(r io.Reader) {
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if l := bytes.TrimSpace(line); len(l) > 0 {
			var ev compatEvent
			if derr := json.Unmarshal(l, &ev); derr != nil {
				ev = compatEvent{Event: "decode-error", Message: derr.Error()}
			}
			ev.Raw = string(l)
			p.mu.Lock()
			p.events = append(p.events, ev)
			p.consumed = append(p.consumed, false)
			close(p.notify)
			p.notify = make(chan struct{})
			p.mu.Unlock()
		}
		if err != nil {
			break
		}
	}
	p.cmd.Wait()
	close(p.exited)
	p.mu.Lock()
	close(p.notify)
	p.notify = make(chan struct{})
	p.mu.Unlock()
}

// stop closes stdin (the drivers exit when it ends), then SIGTERM, then SIGKILL.
func (p *nodeProc) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	p.mu.Unlock()
	p.stdin.Close()
	select {
	case <-p.exited:
		return
	case <-time.After(3 * time.Second):
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// waitEvent returns the earliest event not yet returned by waitEvent for
// which match is true, and marks it consumed (events that do not match stay
// available to later calls). A "fatal" or "decode-error" event fails the
// test. ok is false on timeout or when the process exited.
func (p *nodeProc) waitEvent(timeout time.Duration, match func(compatEvent) bool) (compatEvent, bool) {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for i := p.cursor; i < len(p.events); i++ {
			if p.consumed[i] {
				continue
			}
			ev := p.events[i]
			if ev.Event == "fatal" || ev.Event == "decode-error" {
				p.mu.Unlock()
				p.t.Fatalf("%s: %s", p.name, ev)
			}
			if match(ev) {
				p.consumed[i] = true
				for p.cursor < len(p.events) && p.consumed[p.cursor] {
					p.cursor++
				}
				p.mu.Unlock()
				return ev, true
			}
		}
		n := len(p.events)
		ch := p.notify
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.exited:
			// Look once more at what was printed before the exit.
			p.mu.Lock()
			more := len(p.events) > n
			p.mu.Unlock()
			if !more {
				return compatEvent{}, false
			}
		case <-deadline:
			return compatEvent{}, false
		}
	}
}

// lastEvent returns the last event matching match, without consuming anything.
func (p *nodeProc) lastEvent(match func(compatEvent) bool) (compatEvent, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.events) - 1; i >= 0; i-- {
		if match(p.events[i]) {
			return p.events[i], true
		}
	}
	return compatEvent{}, false
}

// allEvents returns a copy of every event printed so far.
func (p *nodeProc) allEvents() []compatEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]compatEvent(nil), p.events...)
}

// send writes a command and returns its id.
func (p *nodeProc) send(cmd map[string]any) int {
	p.t.Helper()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.mu.Unlock()
	cmd["id"] = id
	b, err := json.Marshal(cmd)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("%s: writing command: %v", p.name, err)
	}
	return id
}

// result waits for the result of command id (not consuming other events).
func (p *nodeProc) result(id int, timeout time.Duration) (compatEvent, error) {
	deadline := time.After(timeout)
	seen := 0
	for {
		p.mu.Lock()
		for ; seen < len(p.events); seen++ {
			if ev := p.events[seen]; ev.Event == "result" && ev.ID == id {
				p.mu.Unlock()
				return ev, nil
			}
		}
		ch := p.notify
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.exited:
			p.mu.Lock()
			more := seen < len(p.events)
			p.mu.Unlock()
			if !more {
				return compatEvent{}, fmt.Errorf("%s exited before answering command %d", p.name, id)
			}
		case <-deadline:
			return compatEvent{}, fmt.Errorf("%s: no answer to command %d within %v", p.name, id, timeout)
		}
	}
}

// call sends a command and waits for its result; a failed command is an error.
func (p *nodeProc) call(cmd map[string]any, timeout time.Duration) (json.RawMessage, error) {
	ev, err := p.result(p.send(cmd), timeout)
	if err != nil {
		return nil, err
	}
	if !ev.OK {
		st := "none"
		if ev.Status != nil {
			st = fmt.Sprint(*ev.Status)
		}
		return nil, fmt.Errorf("%s %v failed (status %s): %s", p.name, cmd["cmd"], st, ev.Error)
	}
	return ev.Value, nil
}

// isFailure reports events that mean a client gave up or saw an HTTP error.
func isFailure(ev compatEvent) bool {
	return ev.Event == "error" || ev.Event == "fetch-failed"
}

// failures lists the error and fetch-failed events printed so far.
func (p *nodeProc) failures() []compatEvent {
	var out []compatEvent
	for _, ev := range p.allEvents() {
		if isFailure(ev) {
			out = append(out, ev)
		}
	}
	return out
}
