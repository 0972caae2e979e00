//go:build !linux

package shapelog

import "os"

func fdatasync(f *os.File) error { return f.Sync() }
