package shapelog

import (
	"os"
	"path/filepath"
)

// SizeOnDisk returns the bytes of the snapshot and change log files in dir,
// for a log that is not open; missing files count as empty.
func SizeOnDisk(dir string) int64 {
	var n int64
	for _, name := range []string{snapshotFile, changesFile} {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil {
			n += st.Size()
		}
	}
	return n
}
