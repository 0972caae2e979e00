package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// VersionCommand prints the version, commit and Go version.
type VersionCommand struct{ main *Main }

// Run prints the version.
func (c *VersionCommand) Run(_ context.Context, _ []string) error {
	commit := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	fmt.Fprintf(c.main.Stdout, "galvani %s (commit %s, %s)\n", version, commit, runtime.Version())
	return nil
}
