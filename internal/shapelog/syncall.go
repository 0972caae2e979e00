package shapelog

import "sync"

// syncfsMin is the number of logs from which SyncAll makes them durable
// with one syncfs(2) of their file system rather than one fdatasync each:
// a group commit whose transactions touched thousands of shapes then
// costs one system call, not thousands.
const syncfsMin = 32

// syncParallelism bounds the fdatasync calls SyncAll runs at once.
const syncParallelism = 16

// SyncAll makes everything written to logs durable and returns each log's
// error (nil for success), in the order of logs. Many logs on one file
// system are synced together by syncfs where the kernel reports its
// write-back errors reliably (Linux 5.8 and later); when it fails, or
// elsewhere, each log is synced on its own, so an error is attributed to
// the log it belongs to.
func SyncAll(logs []*Log) []error {
	errs := make([]error, len(logs))
	switch {
	case len(logs) == 1:
		// The common case on the replication path: no goroutine needed.
		errs[0] = logs[0].SyncData()
		return errs
	case len(logs) >= syncfsMin && sameFilesystem(logs) && syncFilesystem(logs[0].f) == nil:
		return errs
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, syncParallelism)
	for i, l := range logs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = l.SyncData()
		}()
	}
	wg.Wait()
	return errs
}

// sameFilesystem reports whether every log's file is on one known file
// system, so one syncfs covers them all.
func sameFilesystem(logs []*Log) bool {
	for _, l := range logs {
		if l.dev == 0 || l.dev != logs[0].dev {
			return false
		}
	}
	return true
}
