//go:build !linux

package shapelog

import (
	"errors"
	"os"
)

func fdatasync(f *os.File) error { return f.Sync() }

// syncFilesystem is unavailable: every log is synced on its own.
func syncFilesystem(*os.File) error { return errors.New("syncfs is Linux only") }

func deviceOf(*os.File) uint64 { return 0 }
