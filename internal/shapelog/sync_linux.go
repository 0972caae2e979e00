package shapelog

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdatasync flushes file data and the size, skipping other metadata, which
// is all a reader after a crash needs.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// errNoSyncfs means syncfs is not used on this kernel.
var errNoSyncfs = errors.New("syncfs does not report write-back errors on this kernel")

// syncFilesystem syncs the whole file system holding f. Before Linux 5.8
// syncfs returned success even when write-back failed, so it is used only
// from 5.8 on.
func syncFilesystem(f *os.File) error {
	if !syncfsReliable() {
		return errNoSyncfs
	}
	for {
		err := unix.Syncfs(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}

// syncfsReliable reports whether the running kernel is Linux 5.8 or later.
// (uname costs far less than the syncfs it guards, so it is not cached.)
func syncfsReliable() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 5, 8)
}

// kernelAtLeast reports whether a kernel release string such as
// "6.1.0-18-amd64" is major.minor or later.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	minStr := parts[1]
	if i := strings.IndexFunc(minStr, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minStr = minStr[:i]
	}
	mn, err2 := strconv.Atoi(minStr)
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || maj == major && mn >= minor
}

// deviceOf returns the device holding f, or 0 when unknown.
func deviceOf(f *os.File) uint64 {
	var st syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &st) != nil {
		return 0
	}
	return st.Dev
}
