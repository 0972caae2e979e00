package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is a galvani serve process with its own storage directory,
// replication stream (slot and publication) and ports.
type Server struct {
	env         *Env
	Name        string
	DBURL       string
	StreamID    string
	Storage     string
	Port        int
	MetricsPort int
	extraEnv    []string

	cmd     *exec.Cmd
	exited  chan struct{}
	serving chan time.Time
	// Started is when the process was started; Serving when it logged
	// that it serves (shapes loaded, replication about to start).
	Started, Serving time.Time

	logMu sync.Mutex
	tail  []string // last lines of the server's log
}

// NewServer prepares (does not start) a server on dbURL. Its slot is
// electric_slot_<streamID>.
func (e *Env) NewServer(name, dbURL, streamID string, extraEnv ...string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	mport, err := freePort()
	if err != nil {
		return nil, err
	}
	storage := filepath.Join(e.Dir, "storage-"+name)
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, err
	}
	return &Server{env: e, Name: name, DBURL: dbURL, StreamID: streamID, Storage: storage, Port: port, MetricsPort: mport, extraEnv: extraEnv}, nil
}

// Slot is the server's replication slot.
func (s *Server) Slot() string { return "electric_slot_" + s.StreamID }

// URL returns the server's URL for path.
func (s *Server) URL(path string) string { return "http://127.0.0.1:" + strconv.Itoa(s.Port) + path }

// Start runs the process and waits until it logs that it serves.
func (s *Server) Start(ctx context.Context) error {
	if err := waitSlotInactive(ctx, s.DBURL, s.Slot()); err != nil {
		return err
	}
	s.cmd = exec.Command(s.env.Binary, "serve")
	s.cmd.Env = append(os.Environ(),
		"DATABASE_URL="+s.DBURL,
		"ELECTRIC_PORT="+strconv.Itoa(s.Port),
		"ELECTRIC_PROMETHEUS_PORT="+strconv.Itoa(s.MetricsPort),
		"ELECTRIC_STORAGE_DIR="+s.Storage,
		"ELECTRIC_INSECURE=true",
		"ELECTRIC_REPLICATION_STREAM_ID="+s.StreamID,
		"ELECTRIC_LOG_LEVEL=info",
		`ELECTRIC_MAX_CONCURRENT_REQUESTS={"initial":100000,"existing":1000000}`,
		"ELECTRIC_ENABLE_INTEGRATION_TESTING=true",
	)
	s.cmd.Env = append(s.cmd.Env, s.extraEnv...)
	// The server must not die with a terminal's Ctrl-C before we stop it,
	// and must die if this process dies.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	s.serving = make(chan time.Time, 1)
	s.exited = make(chan struct{})
	s.Started = time.Now()
	if err := s.cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return fmt.Errorf("start galvani: %w", err)
	}
	pw.Close()
	go s.readLog(pr)
	go func(cmd *exec.Cmd, done chan struct{}) {
		cmd.Wait()
		close(done)
	}(s.cmd, s.exited)
	select {
	case t := <-s.serving:
		s.Serving = t
		return nil
	case <-s.exited:
		return fmt.Errorf("galvani %s exited during startup:\n%s", s.Name, s.LogTail())
	case <-time.After(5 * time.Minute):
		s.Kill()
		return fmt.Errorf("galvani %s not serving after 5 minutes:\n%s", s.Name, s.LogTail())
	case <-ctx.Done():
		s.Kill()
		return ctx.Err()
	}
}

func (s *Server) readLog(r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "galvani serving") {
			select {
			case s.serving <- time.Now():
			default:
			}
		}
		s.logMu.Lock()
		s.tail = append(s.tail, line)
		if len(s.tail) > 400 {
			s.tail = append(s.tail[:0], s.tail[200:]...)
		}
		s.logMu.Unlock()
	}
}

// LogTail returns the last lines the server logged.
func (s *Server) LogTail() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	lines := s.tail
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}

// Running reports whether the process runs.
func (s *Server) Running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// PID returns the process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after a
// minute).
func (s *Server) Stop() error {
	if !s.Running() {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(time.Minute):
		s.Kill()
		return fmt.Errorf("galvani %s did not exit a minute after SIGTERM", s.Name)
	}
}

// Kill sends SIGKILL and waits.
func (s *Server) Kill() {
	if !s.Running() {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// Health is /v1/health's body.
type Health struct {
	Status      string `json:"status"`
	Replication struct {
		GlobalLSN string `json:"global_lsn"`
	} `json:"replication"`
}

// Health reads /v1/health.
func (s *Server) Health(ctx context.Context, c *http.Client) (Health, error) {
	var h Health
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL("/v1/health"), nil)
	resp, err := c.Do(req)
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&h)
	return h, err
}

// WaitActive polls /v1/health until the status is active.
func (s *Server) WaitActive(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		h, err := s.Health(ctx, http.DefaultClient)
		if err == nil && h.Status == "active" {
			return nil
		}
		if !s.Running() {
			return fmt.Errorf("galvani %s exited:\n%s", s.Name, s.LogTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("galvani %s not active after 5 minutes (%v):\n%s", s.Name, err, s.LogTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// metricsClient asks for uncompressed metrics: gzip would cost the server
// more than the scrape itself while it is being measured.
var metricsClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// Metrics reads the Prometheus metrics as name → value (labels dropped
// for unlabelled series only).
func (s *Server) Metrics(ctx context.Context) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(s.MetricsPort)+"/metrics", nil)
	resp, err := metricsClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = f
		}
	}
	return out, sc.Err()
}

// Metric reads one metric.
func (s *Server) Metric(ctx context.Context, name string) (float64, error) {
	m, err := s.Metrics(ctx)
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("metric %s not exported", name)
	}
	return v, nil
}

// RSS returns the server's resident set size in bytes.
func (s *Server) RSS() (int64, error) { return procRSS(s.PID()) }

// CPUSeconds returns the user+system CPU time the server used so far.
func (s *Server) CPUSeconds() float64 { return procCPU(s.PID()) }

// procRSS reads VmRSS of pid.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// procCPU reads utime+stime of pid in seconds (USER_HZ = 100 on Linux).
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces; fields start after the last ')'.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
