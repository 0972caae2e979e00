package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/galvani-sync/galvani/client"
	"github.com/galvani-sync/galvani/protocol"
)

// ShapeCommand is "galvani shape get|follow|delete": the Go client as a
// command.
type ShapeCommand struct{ main *Main }

// DefaultShapeURL is the server "galvani shape" talks to without --url.
const DefaultShapeURL = "http://localhost:3000"

// secretEnv is read when --secret is not given, so the secret need not
// appear in the process list.
const secretEnv = "GALVANI_SECRET"

const shapeUsage = `Usage:
  galvani shape get    --table T [flags]   sync a shape once and print its rows
  galvani shape follow --table T [flags]   print every change as a JSON line until interrupted
  galvani shape delete --table T [flags]   delete a shape (the server must run with
                                           ELECTRIC_ENABLE_INTEGRATION_TESTING=true)

get prints one JSON object per row (columns in table order), or an aligned
table when stdout is a terminal; --output chooses. While a long initial
sync runs, a progress line (rows, rows/s) is shown on stderr if it is a
terminal.

follow prints each message of the shape's log as the server sent it, one
JSON object per line: the initial rows as inserts (none with --offset now),
then every insert, update and delete, and a must-refetch control message
when the server invalidated the shape (discard what you have; the rows
follow again). With --controls it also prints up-to-date and snapshot-end
messages. On Ctrl-C it prints the position to resume from on stderr:
    resume: --handle <handle> --offset <offset>

Exit status:
  0  success; for follow, also when interrupted
  1  an error, including a request the server rejected (its message is printed)
  2  a usage error

Run "galvani shape <command> -h" for the command's flags.
`

// Run runs the shape subcommand named by args[0].
func (c *ShapeCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.main.Stderr, shapeUsage)
		return &usageError{"galvani shape needs a command: get, follow or delete"}
	}
	switch args[0] {
	case "get":
		return c.get(ctx, args[1:])
	case "follow":
		return c.follow(ctx, args[1:])
	case "delete":
		return c.delete(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(c.main.Stdout, shapeUsage)
		return nil
	default:
		fmt.Fprint(c.main.Stderr, shapeUsage)
		return &usageError{fmt.Sprintf("unknown shape command %q", args[0])}
	}
}

// shapeFlags are the flags of the shape commands.
type shapeFlags struct {
	url, table, where, columns, replica, secret string
	params                                      stringList
	offset, handle                              string
	output                                      string
	sse, changesOnly, controls                  bool
	retries                                     int
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// parseFlags parses the flags of "galvani shape <cmd>".
func (c *ShapeCommand) parseFlags(cmd string, args []string) (*shapeFlags, error) {
	fl := &shapeFlags{}
	fs := flag.NewFlagSet("galvani shape "+cmd, flag.ContinueOnError)
	fs.SetOutput(c.main.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(c.main.Stderr, "Usage: galvani shape %s --table T [flags]\n\nFlags:\n", cmd)
		fs.PrintDefaults()
		fmt.Fprint(c.main.Stderr, "\nExit status: 0 success, 1 error (including requests the server rejected), 2 usage error.\n")
	}
	fs.StringVar(&fl.url, "url", DefaultShapeURL, "server `URL`")
	fs.StringVar(&fl.table, "table", "", "root `table` of the shape: name or schema.name (required unless delete gets --handle)")
	fs.StringVar(&fl.where, "where", "", "row filter, a Postgres boolean `expression` ($1, $2… take --param values)")
	fs.Var(&fl.params, "param", "`value` of the next $n in --where (repeat for $1, $2, …)")
	fs.StringVar(&fl.columns, "columns", "", "comma-separated exact column `names` to sync (must include the primary key; default all)")
	fs.StringVar(&fl.replica, "replica", "", "`mode` of update messages: default (changed columns) or full (whole rows)")
	fs.StringVar(&fl.secret, "secret", "", "the server's secret (default $"+secretEnv+")")
	fs.StringVar(&fl.handle, "handle", "", "shape `handle` to resume (or, for delete, to delete)")
	fs.BoolVar(&fl.changesOnly, "changes-only", false, "sync no initial rows, only changes after the shape was created (log=changes_only)")
	if cmd != "delete" {
		fs.StringVar(&fl.offset, "offset", "", "`offset` to resume from, with --handle; \"now\" to skip existing rows")
	}
	switch cmd {
	case "get":
		fs.StringVar(&fl.output, "output", "", "output `format`: json or table (default table on a terminal, else json)")
		fs.IntVar(&fl.retries, "retries", 5, "retries of a failed request (5xx, network) before giving up; 0 retries forever")
	case "follow":
		fs.BoolVar(&fl.sse, "sse", false, "follow live changes over Server-Sent Events instead of long-polling")
		fs.BoolVar(&fl.controls, "controls", false, "also print up-to-date and snapshot-end control messages")
		fs.StringVar(&fl.output, "output", "json", "output `format`: json")
		fs.IntVar(&fl.retries, "retries", 0, "retries of a failed request (5xx, network) before giving up; 0 retries forever")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, &usageError{fmt.Sprintf("galvani shape %s takes no arguments, got %q", cmd, fs.Args())}
	}
	if fl.table == "" && (cmd != "delete" || fl.handle == "") {
		return nil, &usageError{"--table is required"}
	}
	if fl.secret == "" && c.main.Getenv != nil {
		fl.secret = c.main.Getenv(secretEnv)
	}
	switch {
	case cmd == "get" && fl.output != "" && fl.output != "json" && fl.output != "table":
		return nil, &usageError{fmt.Sprintf("--output %q: want json or table", fl.output)}
	case cmd == "follow" && fl.output != "json":
		return nil, &usageError{fmt.Sprintf("--output %q: follow prints json only", fl.output)}
	case fl.retries < 0:
		return nil, &usageError{"--retries must not be negative"}
	}
	return fl, nil
}

// request returns the shape request the flags describe.
func (fl *shapeFlags) request() (client.ShapeRequest, error) {
	req := client.ShapeRequest{
		Table: fl.table, Where: fl.where, Params: fl.params, Replica: fl.replica,
		ChangesOnly: fl.changesOnly, LiveSSE: fl.sse, Offset: fl.offset, Handle: fl.handle,
	}
	if fl.columns != "" {
		for c := range strings.SplitSeq(fl.columns, ",") {
			req.Columns = append(req.Columns, strings.TrimSpace(c))
		}
	}
	if len(fl.params) > 0 && fl.where == "" {
		return req, &usageError{"--param needs --where"}
	}
	return req, nil
}

// client returns a client for the flags; close releases its connections.
func (fl *shapeFlags) client(stderr io.Writer) (c *client.Client, close func()) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	c = &client.Client{
		BaseURL:    fl.url,
		HTTPClient: &http.Client{Transport: tr},
		Backoff:    client.Backoff{MaxRetries: fl.retries},
		OnRetry: func(err error, retry int, wait time.Duration) {
			fmt.Fprintf(stderr, "galvani: retry %d in %v: %v\n", retry, wait.Round(time.Millisecond), err)
		},
	}
	if fl.secret != "" {
		c.Params = url.Values{protocol.ParamSecret: {fl.secret}}
	}
	return c, tr.CloseIdleConnections
}

// usageIfInvalid turns the client's request validation errors into usage
// errors (exit status 2).
func usageIfInvalid(err error) error {
	if errors.Is(err, client.ErrInvalidRequest) {
		return &usageError{err.Error()}
	}
	return err
}

// get syncs the shape until it is up to date and prints its rows.
func (c *ShapeCommand) get(ctx context.Context, args []string) error {
	fl, err := c.parseFlags("get", args)
	if err != nil {
		return err
	}
	req, err := fl.request()
	if err != nil {
		return err
	}
	cl, closeClient := fl.client(c.main.Stderr)
	defer closeClient()
	st, err := cl.Stream(req)
	if err != nil {
		return usageIfInvalid(err)
	}
	defer st.Close()
	shape := client.NewShape(st, nil)
	prog := newProgress(c.main.Stderr, isTerminal(c.main.Stderr))
	for {
		b, err := st.Next(ctx)
		if err != nil {
			prog.finish()
			if ctx.Err() != nil {
				return errors.New("interrupted before the shape was up to date")
			}
			return err
		}
		shape.Apply(b)
		prog.update(shape.Received())
		if b.UpToDate {
			break
		}
	}
	prog.finish()

	rows := shape.Rows()
	cols := shape.Schema().Names()
	if len(cols) == 0 {
		set := map[string]bool{}
		for _, r := range rows {
			for k := range r {
				set[k] = true
			}
		}
		cols = slices.Sorted(maps.Keys(set))
	}
	keys := slices.SortedFunc(maps.Keys(rows), naturalCompare)
	format := fl.output
	if format == "" {
		format = "json"
		if isTerminal(c.main.Stdout) {
			format = "table"
		}
	}
	if format == "table" {
		return writeTable(c.main.Stdout, cols, keys, rows)
	}
	for _, k := range keys {
		if err := writeJSONRow(c.main.Stdout, cols, rows[k]); err != nil {
			return err
		}
	}
	return nil
}

// follow prints the shape's messages until ctx ends, then the position to
// resume from.
func (c *ShapeCommand) follow(ctx context.Context, args []string) error {
	fl, err := c.parseFlags("follow", args)
	if err != nil {
		return err
	}
	req, err := fl.request()
	if err != nil {
		return err
	}
	cl, closeClient := fl.client(c.main.Stderr)
	defer closeClient()
	st, err := cl.Stream(req)
	if err != nil {
		return usageIfInvalid(err)
	}
	defer st.Close()
	enc := json.NewEncoder(c.main.Stdout)
	enc.SetEscapeHTML(false)
	for {
		b, err := st.Next(ctx)
		if err != nil {
			fmt.Fprintf(c.main.Stderr, "resume: --handle %s --offset %s\n", st.Handle(), st.Offset())
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for i := range b.Messages {
			m := &b.Messages[i]
			if m.IsData() || m.IsControl(protocol.ControlMustRefetch) || fl.controls {
				if err := enc.Encode(m); err != nil {
					return fmt.Errorf("write: %w", err)
				}
			}
		}
	}
}

// delete deletes the shape.
func (c *ShapeCommand) delete(ctx context.Context, args []string) error {
	fl, err := c.parseFlags("delete", args)
	if err != nil {
		return err
	}
	req, err := fl.request()
	if err != nil {
		return err
	}
	cl, closeClient := fl.client(c.main.Stderr)
	defer closeClient()
	if err := cl.DeleteShape(ctx, req); err != nil {
		return usageIfInvalid(err)
	}
	fmt.Fprintln(c.main.Stderr, "galvani: shape deleted")
	return nil
}

// writeJSONRow writes row as one JSON object, columns in cols' order.
func writeJSONRow(w io.Writer, cols []string, row client.Row) error {
	var b strings.Builder
	b.WriteByte('{')
	for i, col := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, col)
		b.WriteByte(':')
		if v := row[col]; v == nil {
			b.WriteString("null")
		} else {
			writeJSONString(&b, *v)
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeJSONString(b *strings.Builder, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// writeTable writes the rows as an aligned table; NULL is shown as NULL.
func writeTable(w io.Writer, cols, keys []string, rows map[string]client.Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, k := range keys {
		vals := make([]string, len(cols))
		for i, col := range cols {
			if v := rows[k][col]; v == nil {
				vals[i] = "NULL"
			} else {
				vals[i] = strings.NewReplacer("\t", `\t`, "\n", `\n`).Replace(*v)
			}
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	fmt.Fprintf(tw, "(%d rows)\n", len(keys))
	return tw.Flush()
}

// naturalCompare orders strings with runs of digits compared as numbers,
// so row keys …/"2" sort before …/"10".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := digitRun(a)
			nb, rb := digitRun(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if c := len(ta) - len(tb); c != 0 {
				return c
			}
			if c := strings.Compare(ta, tb); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digitRun(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress shows "N rows, R rows/s" on one terminal line during a long
// initial sync.
type progress struct {
	w            io.Writer
	on           bool
	start, shown time.Time
	n            int
}

// progressDelay is how long a sync runs before progress is shown, and
// progressEvery how often it is redrawn.
const (
	progressDelay = 500 * time.Millisecond
	progressEvery = 200 * time.Millisecond
)

func newProgress(w io.Writer, on bool) *progress {
	return &progress{w: w, on: on, start: time.Now()}
}

func (p *progress) update(n int) {
	p.n = n
	now := time.Now()
	if !p.on || now.Sub(p.start) < progressDelay || now.Sub(p.shown) < progressEvery {
		return
	}
	p.shown = now
	fmt.Fprintf(p.w, "\r\033[Ksyncing: %d rows, %.0f rows/s", n, float64(n)/now.Sub(p.start).Seconds())
}

// finish ends the progress line, if one was shown.
func (p *progress) finish() {
	if p.shown.IsZero() {
		return
	}
	d := time.Since(p.start)
	fmt.Fprintf(p.w, "\r\033[Ksynced %d rows in %v (%.0f rows/s)\n", p.n, d.Round(time.Millisecond), float64(p.n)/d.Seconds())
	p.shown = time.Time{}
}
