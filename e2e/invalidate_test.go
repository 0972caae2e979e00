package e2e

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/e2e/nodeclient"
	"github.com/galvani-sync/galvani/internal/pgtest"
)

// TestInvalidationMakesOfficialClientRefetch: DELETE /v1/shape and TRUNCATE
// each invalidate the shape; the official client gets must-refetch, syncs
// the new shape under a new handle and ends equal to SELECT.
func TestInvalidationMakesOfficialClientRefetch(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and node")
	}
	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE inv (id int PRIMARY KEY, v text);
		INSERT INTO inv SELECT i, 'v' || i FROM generate_series(1, 20) i;`)
	srv := startServer(t, dbURL, "ELECTRIC_ENABLE_INTEGRATION_TESTING=true")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client, err := nodeclient.Start(ctx, nodeclient.Config{
		URL:    srv.url("/v1/shape"),
		Shapes: []nodeclient.ShapeConfig{{Name: "inv", Params: map[string]string{"table": "inv"}}},
	}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Stop()
	conn := connect(t, dbURL)
	want := func() map[string]Row { return tableRows(t, conn, "public", "inv", []string{"id"}) }
	first, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
		return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want())
	})
	if err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name   string
		action func()
	}{
		{"delete", func() {
			req, _ := http.NewRequest(http.MethodDelete, srv.url("/v1/shape?table=inv"), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("DELETE /v1/shape = %d, want 202", resp.StatusCode)
			}
			pgtest.Exec(t, dbURL, `INSERT INTO inv VALUES (100, 'after delete')`)
		}},
		{"truncate", func() {
			pgtest.Exec(t, dbURL, `TRUNCATE inv; INSERT INTO inv VALUES (7, 'after truncate')`)
		}},
	}
	handle := first.Handle
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.action()
			if _, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool { return ev.Event == nodeclient.EventMustRefetch }); err != nil {
				t.Fatalf("no must-refetch after %s: %v", step.name, err)
			}
			ev, err := client.WaitFor(ctx, func(ev nodeclient.Event) bool {
				return ev.Event == nodeclient.EventUpToDate && rowsEqual(ev.Rows, want()) && rowsEqual(ev.ShapeRows, want())
			})
			if err != nil {
				t.Fatalf("client did not converge after %s: %v", step.name, err)
			}
			if ev.Handle == handle {
				t.Errorf("handle %s reused after %s", handle, step.name)
			}
			handle = ev.Handle
		})
	}
}
