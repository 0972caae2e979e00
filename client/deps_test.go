package client_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: package client imports only package protocol and the
// standard library (architecture.md), so any Go program can use it
// without pulling in the server.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/galvani-sync/galvani/client":   true,
		"github.com/galvani-sync/galvani/protocol": true,
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] {
			t.Errorf("client depends on %s; it may import only protocol and the standard library", p)
		}
	}
}
