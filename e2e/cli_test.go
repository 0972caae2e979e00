package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
	"github.com/galvani-sync/galvani/protocol"
)

// cli runs "galvani <args>" (the built binary) to completion and returns
// stdout, stderr and the exit status.
func cli(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("galvani %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// follower is a running "galvani shape follow".
type follower struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	stderr bytes.Buffer // guarded by mu
}

func (f *follower) errText() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stderr.String()
}

func startFollow(t *testing.T, args ...string) *follower {
	t.Helper()
	f := &follower{t: t, lines: make(chan string, 1024)}
	f.cmd = exec.Command(binary, append([]string{"shape", "follow"}, args...)...)
	f.cmd.Stderr = &lockedWriter{mu: &f.mu, w: &f.stderr}
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(f.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { f.cmd.Process.Kill(); f.cmd.Wait() })
	return f
}

// next returns the next message printed.
func (f *follower) next() protocol.Message {
	f.t.Helper()
	select {
	case l, ok := <-f.lines:
		if !ok {
			f.t.Fatalf("follow ended early; stderr:\n%s", f.errText())
		}
		var m protocol.Message
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			f.t.Fatalf("follow printed %q: %v", l, err)
		}
		return m
	case <-time.After(20 * time.Second):
		f.t.Fatalf("follow printed nothing for 20s; stderr:\n%s", f.errText())
	}
	panic("unreachable")
}

// interrupt sends SIGINT and returns the exit status and the resume
// position printed on stderr.
func (f *follower) interrupt() (code int, handle, offset string) {
	f.t.Helper()
	f.cmd.Process.Signal(syscall.SIGINT)
	err := f.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatal(err)
	}
	m := regexp.MustCompile(`resume: --handle (\S+) --offset (\S+)`).FindStringSubmatch(f.errText())
	if m == nil {
		f.t.Fatalf("no resume position on stderr:\n%s", f.errText())
	}
	return code, m[1], m[2]
}

// TestCLIGetFollowDelete drives "galvani shape get|follow|delete" against
// a real server: get prints SELECT's rows; follow prints the snapshot and
// then each change, exits 0 on SIGINT with the resume position, and
// resuming from it prints only what happened since; delete deletes.
func TestCLIGetFollowDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE notes (id int PRIMARY KEY, body text, n int);
		INSERT INTO notes VALUES (1, 'plain', 1), (2, NULL, 2), (3, 'tab	and "quotes" and ünïcode', NULL), (10, 'ten', 10);`)
	srv := startServer(t, dbURL, "ELECTRIC_ENABLE_INTEGRATION_TESTING=true")
	url := srv.url("")
	conn := connect(t, dbURL)

	stdout, stderr, code := cli(t, nil, "shape", "get", "--url", url, "--table", "notes")
	if code != 0 {
		t.Fatalf("shape get: exit %d\n%s", code, stderr)
	}
	got := map[string]Row{}
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r Row
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("shape get printed %q: %v", line, err)
		}
		got[`"public"."notes"/"`+*r["id"]+`"`] = r
		ids = append(ids, *r["id"])
	}
	if want := tableRows(t, conn, "public", "notes", []string{"id"}); !rowsEqual(got, want) {
		t.Errorf("shape get rows differ from SELECT:\n%s", describeDiff(got, want))
	}
	if strings.Join(ids, ",") != "1,2,3,10" {
		t.Errorf("shape get printed ids %v, want 1,2,3,10 in key order", ids)
	}
	if stdout, _, code := cli(t, nil, "shape", "get", "--url", url, "--table", "notes", "--columns", "id,n", "--output", "table"); code != 0 ||
		!strings.HasPrefix(stdout, "id  n\n1   1\n2   2\n3   NULL\n10  10\n(4 rows)") {
		t.Errorf("shape get --output table: exit %d\n%s", code, stdout)
	}

	f := startFollow(t, "--url", url, "--table", "notes")
	for range 4 {
		if m := f.next(); m.Headers.Operation != protocol.OperationInsert {
			t.Fatalf("follow printed %+v first; want the 4 snapshot inserts", m)
		}
	}
	pgtest.Exec(t, dbURL, `INSERT INTO notes VALUES (4, 'four', 4)`)
	pgtest.Exec(t, dbURL, `UPDATE notes SET body = 'PLAIN' WHERE id = 1`)
	pgtest.Exec(t, dbURL, `UPDATE notes SET id = 20 WHERE id = 10`)
	pgtest.Exec(t, dbURL, `DELETE FROM notes WHERE id = 2`)
	want := []struct {
		op  protocol.Operation
		key string
	}{
		{"insert", `"public"."notes"/"4"`},
		{"update", `"public"."notes"/"1"`},
		{"delete", `"public"."notes"/"10"`},
		{"insert", `"public"."notes"/"20"`},
		{"delete", `"public"."notes"/"2"`},
	}
	for _, w := range want {
		m := f.next()
		if m.Headers.Operation != w.op || m.Key != w.key || m.Headers.LSN == "" {
			t.Fatalf("follow printed %s %s (lsn %q); want %s %s with its lsn", m.Headers.Operation, m.Key, m.Headers.LSN, w.op, w.key)
		}
	}
	code, handle, offset := f.interrupt()
	if code != 0 {
		t.Errorf("follow exit status after SIGINT = %d, want 0", code)
	}

	pgtest.Exec(t, dbURL, `INSERT INTO notes VALUES (5, 'while away', 5)`)
	f = startFollow(t, "--url", url, "--table", "notes", "--handle", handle, "--offset", offset)
	if m := f.next(); m.Headers.Operation != protocol.OperationInsert || m.Key != `"public"."notes"/"5"` {
		t.Fatalf("resumed follow printed %+v first; want only the insert made while away", m)
	}
	if code, h, _ := f.interrupt(); code != 0 || h != handle {
		t.Errorf("resumed follow: exit %d, handle %s; want 0 and %s", code, h, handle)
	}

	if _, stderr, code := cli(t, nil, "shape", "delete", "--url", url, "--table", "notes"); code != 0 {
		t.Errorf("shape delete: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := cli(t, nil, "shape", "delete", "--url", url, "--handle", handle); code != 1 || !strings.Contains(stderr, "No existing shape found") {
		t.Errorf("shape delete of a deleted handle: exit %d, stderr %q; want 1 and the server's message", code, stderr)
	}
	if _, _, code := cli(t, nil, "shape", "get", "--url", url); code != 2 {
		t.Errorf("shape get without --table: exit %d, want 2", code)
	}
	if _, stderr, code := cli(t, nil, "shape", "get", "--url", url, "--table", "nope"); code != 1 || !strings.Contains(stderr, `Table "public"."nope" does not exist`) {
		t.Errorf("shape get of a missing table: exit %d, stderr %q; want 1 and the server's message", code, stderr)
	}
}

// TestCLIFollowSSE follows over SSE (skipped while the server answers
// live_sse with "not supported").
func TestCLIFollowSSE(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE ticks (id int PRIMARY KEY); INSERT INTO ticks VALUES (1);`)
	srv := startServer(t, dbURL)
	f := startFollow(t, "--url", srv.url(""), "--table", "ticks", "--sse", "--controls")
	for f.next().Headers.Control != protocol.ControlUpToDate {
	}
	for i := 2; i <= 4; i++ {
		pgtest.Exec(t, dbURL, "INSERT INTO ticks VALUES ("+strconv.Itoa(i)+")")
		m := f.next()
		for m.Headers.Operation == "" { // up-to-date and other controls (--controls)
			m = f.next()
		}
		if want := `"public"."ticks"/"` + strconv.Itoa(i) + `"`; m.Key != want {
			t.Fatalf("follow --sse printed %s, want %s", m.Key, want)
		}
	}
	code, _, offset := f.interrupt()
	if code != 0 || !strings.HasSuffix(offset, "_0") {
		t.Errorf("follow --sse: exit %d, resume offset %s; want 0 and the last change's offset", code, offset)
	}
}

// TestCLISecret: against a server with a secret, get fails with the 401
// without it and works with --secret or $GALVANI_SECRET.
func TestCLISecret(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE s (id int PRIMARY KEY); INSERT INTO s VALUES (1);`)
	srv := startServer(t, dbURL, "ELECTRIC_INSECURE=false", "ELECTRIC_SECRET=hush")
	url := srv.url("")
	if _, stderr, code := cli(t, nil, "shape", "get", "--url", url, "--table", "s"); code != 1 || !strings.Contains(stderr, "401") || strings.Contains(stderr, "hush") {
		t.Errorf("get without the secret: exit %d, stderr %q; want 1 and the 401", code, stderr)
	}
	if stdout, stderr, code := cli(t, nil, "shape", "get", "--url", url, "--table", "s", "--secret", "hush"); code != 0 || stdout != `{"id":"1"}`+"\n" {
		t.Errorf("get --secret: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if stdout, stderr, code := cli(t, []string{"GALVANI_SECRET=hush"}, "shape", "get", "--url", url, "--table", "s"); code != 0 || stdout != `{"id":"1"}`+"\n" {
		t.Errorf("get with $GALVANI_SECRET: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
