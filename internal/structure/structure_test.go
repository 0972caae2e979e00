package structure

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Doc        string
	Imports    []string
	Deps       []string
	Name       string
}

func list(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "github.com/galvani-sync/galvani/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestEveryPackageHasADocComment: a package says what it owns.
func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range list(t) {
		if p.Doc == "" {
			t.Errorf("package %s has no package doc comment", p.ImportPath)
		}
	}
}

// TestPublicPackagesStayLean: protocol and client depend on the standard
// library (and protocol) only, so any Go program can import them.
func TestPublicPackagesStayLean(t *testing.T) {
	const mod = "github.com/galvani-sync/galvani/"
	allowed := map[string][]string{
		mod + "protocol": nil,
		mod + "client":   {mod + "protocol"},
	}
	for _, p := range list(t) {
		ok, public := allowed[p.ImportPath]
		if !public {
			continue
		}
		for _, d := range p.Deps {
			if strings.Contains(strings.SplitN(d, "/", 2)[0], ".") && !contains(ok, d) {
				t.Errorf("%s depends on %s; public packages may use only the standard library and %v", p.ImportPath, d, ok)
			}
		}
	}
}

// TestLayering: the import rules of the architecture (pure packages do no
// I/O through pgx; replication knows nothing of shapes or HTTP).
func TestLayering(t *testing.T) {
	const mod = "github.com/galvani-sync/galvani/"
	forbidden := map[string][]string{
		mod + "internal/shapelog":    {"github.com/jackc/", mod + "internal/shapes", mod + "internal/server"},
		mod + "internal/pg":          {"github.com/jackc/"},
		mod + "internal/replication": {mod + "internal/shapes", mod + "internal/server"},
		mod + "internal/shapes":      {mod + "internal/server"},
		mod + "internal/where":       {"github.com/jackc/"},
		mod + "internal/router":      {"github.com/jackc/"},
	}
	for _, p := range list(t) {
		for _, prefix := range forbidden[p.ImportPath] {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, prefix) {
					t.Errorf("%s imports %s, which the architecture forbids", p.ImportPath, imp)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
