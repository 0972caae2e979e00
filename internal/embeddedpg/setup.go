package embeddedpg

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// binaries holds the paths of the server programs.
type binaries struct {
	initdb, postgres string
}

// versionedBinGlob matches the binary directories of Debian's Postgres
// packages.
const versionedBinGlob = "/usr/lib/postgresql/*/bin"

// findBinaries locates initdb and postgres: in binDir when it is set,
// otherwise on PATH, otherwise in the highest-version directory matching
// versionedBinGlob that holds both.
func findBinaries(binDir string) (binaries, error) {
	if binDir != "" {
		b := binaries{initdb: filepath.Join(binDir, "initdb"), postgres: filepath.Join(binDir, "postgres")}
		for _, path := range []string{b.initdb, b.postgres} {
			if !isExecutable(path) {
				return binaries{}, missingBinary(filepath.Base(path), binDir)
			}
		}
		return b, nil
	}

	initdb, errInitdb := exec.LookPath("initdb")
	postgres, errPostgres := exec.LookPath("postgres")
	if errInitdb == nil && errPostgres == nil {
		return binaries{initdb: initdb, postgres: postgres}, nil
	}
	for _, dir := range versionedBinDirs() {
		b := binaries{initdb: filepath.Join(dir, "initdb"), postgres: filepath.Join(dir, "postgres")}
		if isExecutable(b.initdb) && isExecutable(b.postgres) {
			return b, nil
		}
	}
	where := "PATH or " + versionedBinGlob
	if errInitdb != nil {
		return binaries{}, missingBinary("initdb", where)
	}
	return binaries{}, missingBinary("postgres", where)
}

func missingBinary(name, where string) error {
	return fmt.Errorf("start postgres: the Postgres server binary %q is not in %s: install the Postgres server binaries (Debian package postgresql) or set the binary directory", name, where)
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// versionedBinDirs lists the directories matching versionedBinGlob, highest
// Postgres version first.
func versionedBinDirs() []string {
	dirs, _ := filepath.Glob(versionedBinGlob) // the pattern is valid
	version := func(dir string) []int {
		var v []int
		for _, part := range strings.Split(filepath.Base(filepath.Dir(dir)), ".") {
			n, err := strconv.Atoi(part)
			if err != nil {
				n = -1
			}
			v = append(v, n)
		}
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool {
		a, b := version(dirs[i]), version(dirs[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return len(a) > len(b)
	})
	return dirs
}

// osUser is the OS user the server runs as when this process is root.
type osUser struct {
	name     string
	uid, gid uint32
	groups   []uint32 // supplementary groups, including gid
}

// serverUser returns the OS user to run initdb and postgres as: nil (this
// process's user) unless this process runs as root, which Postgres refuses;
// then the "postgres" user.
func serverUser() (*osUser, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	const name = "postgres"
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("start postgres: running as root, which Postgres refuses, and there is no %q OS user to run it as instead (%v): create that user (the Debian package postgresql does) or run as an ordinary user", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("start postgres: OS user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("start postgres: OS user %q: gid %q: %w", name, u.Gid, err)
	}
	owner := &osUser{name: name, uid: uint32(uid), gid: uint32(gid), groups: []uint32{uint32(gid)}}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.ParseUint(id, 10, 32); err == nil && uint32(g) != uint32(gid) {
				owner.groups = append(owner.groups, uint32(g))
			}
		}
	}
	return owner, nil
}

// ErrUnreachableDataDir is returned by Start, running as root, when the
// postgres OS user cannot reach the data directory.
var ErrUnreachableDataDir = errors.New("data directory unreachable by the postgres user")

// checkReachable reports an error when owner lacks search permission on a
// directory on the way to dataDir. Directories that do not exist yet are
// created later, searchable by everyone.
func checkReachable(dataDir string, owner *osUser) error {
	var ancestors []string
	for dir := filepath.Dir(dataDir); ; dir = filepath.Dir(dir) {
		ancestors = append(ancestors, dir)
		if dir == filepath.Dir(dir) {
			break
		}
	}
	for i := len(ancestors) - 1; i >= 0; i-- {
		dir := ancestors[i]
		fi, err := os.Stat(dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("start postgres: data directory %s: %w", dataDir, err)
		}
		if !canSearch(fi, owner) {
			return fmt.Errorf("start postgres: data directory %s is not reachable by the %q OS user that runs Postgres (Postgres refuses to run as root): directory %s lacks search permission for it; choose a data directory the %s user can reach (e.g. under /tmp or /var/lib/postgresql): %w", dataDir, owner.name, dir, owner.name, ErrUnreachableDataDir)
		}
	}
	return nil
}

// canSearch reports whether owner may search (traverse) directory fi, by
// its permission bits (ACLs are not considered).
func canSearch(fi fs.FileInfo, owner *osUser) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == owner.uid:
		return perm&0o100 != 0
	case containsGroup(owner.groups, st.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func containsGroup(groups []uint32, gid uint32) bool {
	for _, g := range groups {
		if g == gid {
			return true
		}
	}
	return false
}

// initDataDir runs initdb unless the data directory already holds a
// cluster.
func (c *Cluster) initDataDir(ctx context.Context, durable bool) error {
	_, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION"))
	if err == nil {
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("start postgres: data directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(c.dataDir), 0o755); err != nil {
		return fmt.Errorf("start postgres: create data directory: %w", err)
	}
	if err := os.Mkdir(c.dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("start postgres: create data directory: %w", err)
	}
	if c.owner != nil {
		if err := os.Chown(c.dataDir, int(c.owner.uid), int(c.owner.gid)); err != nil {
			return fmt.Errorf("start postgres: data directory: %w", err)
		}
	}

	args := []string{"-D", c.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"}
	if !durable {
		args = append(args, "--no-sync")
	}
	out := newOutput(c.log)
	cmd := exec.CommandContext(ctx, c.bins.initdb, args...)
	cmd.Dir = c.dataDir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr(c.owner)
	// On cancellation let initdb clean up its half-made data directory
	// (a PG_VERSION left behind would make the next Start reuse it).
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start postgres: initdb: %w; its last output:\n%s", err, out.tail())
	}
	return nil
}
