package embeddedpg

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pipeDrainDelay bounds how long waiting for a dead postmaster also waits
// for its children to close the inherited output pipe. Children notice the
// postmaster's death and exit on their own, normally at once.
const pipeDrainDelay = 10 * time.Second

// process is one run of the postmaster.
type process struct {
	cmd  *exec.Cmd
	out  *output
	done chan struct{} // closed once the process has exited and its output is drained
	err  error         // result of cmd.Wait; read only after done is closed

	// socketDir is a temporary unix socket directory to remove once the
	// process is gone; "" when the socket lives in the data directory.
	socketDir string
}

// startProcess starts the postmaster and the goroutine that waits for it.
//
// The goroutine starts the process from a locked OS thread and keeps that
// thread until the process has exited: the kernel sends the parent-death
// signal (SIGQUIT, immediate shutdown) when the thread that forked the
// child exits, so it must be this long-lived thread and not an arbitrary
// one the Go runtime might retire. The goroutine ends when the process ends.
func startProcess(bin string, args []string, dir string, owner *osUser, out *output) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = pipeDrainDelay
	attr := sysProcAttr(owner)
	attr.Setpgid = true
	attr.Pdeathsig = syscall.SIGQUIT
	cmd.SysProcAttr = attr

	p := &process{cmd: cmd, out: out, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// kill sends SIGKILL to the postmaster and waits until it has exited and
// its children have closed the output pipe (that is, exited too).
func (p *process) kill() {
	// The only possible error is that the process is already gone.
	_ = p.cmd.Process.Kill()
	<-p.done
}

// removeSocketDir removes the temporary unix socket directory, if any.
func (p *process) removeSocketDir() {
	if p.socketDir != "" {
		os.RemoveAll(p.socketDir)
	}
}

// sysProcAttr returns the process attributes that run a child as owner
// (nil: as this process's user).
func sysProcAttr(owner *osUser) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if owner != nil {
		attr.Credential = &syscall.Credential{Uid: owner.uid, Gid: owner.gid, Groups: owner.groups}
	}
	return attr
}

const (
	tailLines   = 20
	maxLineSize = 4096
)

// output receives a child's stdout and stderr: it forwards everything to
// the configured log writer and keeps the last lines for error messages.
type output struct {
	mu      sync.Mutex
	log     io.Writer
	lines   []string // at most tailLines complete lines
	partial []byte   // incomplete last line, at most maxLineSize bytes
}

func newOutput(log io.Writer) *output { return &output{log: log} }

// Write implements io.Writer. It never fails: a failing log writer must not
// stop the copying of the child's output, or the child would block.
func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.log != nil {
		_, _ = o.log.Write(p)
	}
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		o.addLine(string(o.partial) + string(rest[:i]))
		o.partial = o.partial[:0]
		rest = rest[i+1:]
	}
	if room := maxLineSize - len(o.partial); room > 0 {
		o.partial = append(o.partial, rest[:min(len(rest), room)]...)
	}
	return len(p), nil
}

func (o *output) addLine(line string) {
	if len(line) > maxLineSize {
		line = line[:maxLineSize]
	}
	if len(o.lines) == tailLines {
		copy(o.lines, o.lines[1:])
		o.lines = o.lines[:tailLines-1]
	}
	o.lines = append(o.lines, line)
}

// tail returns the last lines written, indented for an error message.
func (o *output) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	lines := o.lines
	if len(o.partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(o.partial))
	}
	if len(lines) == 0 {
		return "\t(no output)"
	}
	return "\t" + strings.Join(lines, "\n\t")
}
