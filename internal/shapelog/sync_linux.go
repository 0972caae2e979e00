package shapelog

import (
	"os"
	"syscall"
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
