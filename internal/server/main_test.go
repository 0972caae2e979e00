package server_test

import (
	"testing"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// TestMain starts the test binary's Postgres cluster; every integration
// test in this package gets a database of its own from it (harness_test.go).
func TestMain(m *testing.M) { pgtest.Main(m) }
