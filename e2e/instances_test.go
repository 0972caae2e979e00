package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// TestSecondInstanceWaitsForTheSlot: a second server on the same stream id
// does not fight for the replication slot; it reports "waiting" until the
// first one goes away, then takes over.
func TestSecondInstanceWaitsForTheSlot(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres and the galvani binary")
	}
	_, dbURL := pgtest.NewDatabase(t)
	first := startServer(t, dbURL)
	second := &server{t: t, port: freePort(t), storage: t.TempDir()}
	second.env = append(append([]string{}, first.env...), "ELECTRIC_PORT="+itoaPort(second.port), "ELECTRIC_STORAGE_DIR="+second.storage)
	second.startNoWait()
	t.Cleanup(second.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, status := health(t, second)
		if code == http.StatusAccepted && status == "waiting" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second instance health = %d %q, want 202 waiting", code, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if code, status := health(t, second); status != "waiting" {
		t.Fatalf("second instance went %d %q while the first holds the slot", code, status)
	}
	first.kill()
	deadline = time.Now().Add(20 * time.Second)
	for {
		if code, status := health(t, second); code == http.StatusOK && status == "active" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second instance did not take over after the first died")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
