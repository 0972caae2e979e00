package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/galvani-sync/galvani/internal/config"
)

// TestREADMEListsEverySetting: the README's configuration section names
// every variable Galvani reads, ignores or refuses, so the docs cannot
// drift from the code.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var names []string
	for _, v := range config.Vars() {
		names = append(names, v.Env, v.Flag)
	}
	names = append(names, config.Unsupported()...)
	for _, n := range config.Ignored() {
		if strings.HasPrefix(n, "ELECTRIC_DATABASE_TCP_KEEPALIVE_") {
			n = "ELECTRIC_DATABASE_TCP_KEEPALIVE_*"
		}
		names = append(names, n)
	}
	for _, n := range names {
		if !strings.Contains(readme, "`"+n+"`") {
			t.Errorf("README.md does not mention `%s`", n)
		}
	}
}
