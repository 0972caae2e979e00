// Command galvani is the Galvani sync engine: it serves Postgres shapes over
// the Electric HTTP shape protocol. See "galvani help".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := NewMain(os.Stdout, os.Stderr).Run(ctx, os.Args[1:])
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Main holds the program's outputs; tests build one by hand.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// NewMain returns a Main writing to the given streams and reading the
// process environment.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
}

// usageError is a command-line mistake: exit status 2 and a usage hint.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const usage = `Galvani: real-time partial replication of Postgres over HTTP.

Usage:
  galvani serve [flags]   run the server (configured by ELECTRIC_* env vars or flags)
  galvani dev [flags]     start a private Postgres with demo data and serve it
  galvani shape <cmd>     get | follow | delete a shape as a client (print rows, stream changes)
  galvani version         print the version

Run "galvani <command> -h" for a command's flags.
`

// Run runs the subcommand named by args[0].
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return &usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return (&ServeCommand{main: m}).Run(ctx, args[1:])
	case "dev":
		return (&DevCommand{main: m}).Run(ctx, args[1:])
	case "shape":
		return (&ShapeCommand{main: m}).Run(ctx, args[1:])
	case "version":
		return (&VersionCommand{main: m}).Run(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
		return nil
	default:
		fmt.Fprint(m.Stderr, usage)
		return &usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
}

// exitCode prints err and returns the process exit status: 0 on success or
// an interrupt, 2 for usage errors, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "galvani:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "galvani:", err)
		return 1
	}
}
