package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/galvani-sync/galvani/internal/pgtest"
)

// TestDiskFull runs the server on a 4 MiB tmpfs and writes more than fits:
// the shape that cannot be written is invalidated, recreating it fails with
// a 503 that says to retry, the server stays up, and once space returns the
// shape is rebuilt whole; a restart afterwards finds no corruption.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Postgres, the galvani binary and root (to mount a tmpfs)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("TestDiskFull mounts a tmpfs and must run as root")
	}
	storage := filepath.Join(t.TempDir(), "store")
	os.MkdirAll(storage, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", storage).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", storage).Run() })

	_, dbURL := pgtest.NewDatabase(t)
	pgtest.Exec(t, dbURL, `CREATE TABLE df (id int PRIMARY KEY, blob text)`)
	srv := startServer(t, dbURL, "ELECTRIC_STORAGE_DIR="+storage)
	handle, offset := syncToEnd(t, srv, "df")
	for i := range 8 {
		pgtest.Exec(t, dbURL, `INSERT INTO df SELECT `+itoa(i)+`, string_agg(md5(g::text), '') FROM generate_series(1, 20000) g`)
	}
	get := func(q string) int {
		resp, err := http.Get(srv.url("/v1/shape?table=df&" + q))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The old handle is no longer served: 409, or 503 while the shape
	// cannot be recreated for lack of space.
	deadline := time.Now().Add(20 * time.Second)
	for code := 0; code != http.StatusConflict && code != http.StatusServiceUnavailable; code = get("handle=" + handle + "&offset=" + offset) {
		if time.Now().After(deadline) {
			t.Fatalf("the shape that could not be written is still served (%d)", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := get("offset=-1"); code != http.StatusServiceUnavailable {
		t.Errorf("creating the shape on a full disk = %d, want 503", code)
	}
	if code, status := health(t, srv); code != http.StatusOK || status != "active" {
		t.Errorf("health on a full disk = %d %q, want 200 active", code, status)
	}

	if out, err := exec.Command("mount", "-o", "remount,size=64m", storage).CombinedOutput(); err != nil {
		t.Fatalf("grow tmpfs: %v: %s", err, out)
	}
	h2, _ := syncToEnd(t, srv, "df")
	srv.kill()
	srv.start()
	msgs, _ := fetchChanges(t, srv, "df", h2, "-1")
	rows := 0
	for _, m := range msgs {
		if m.Headers.Operation == "insert" {
			rows++
		}
	}
	if rows != 8 {
		t.Errorf("after space returned and a restart the shape has %d rows, want 8", rows)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }
