package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
)

// RunMicro runs the micro-benchmarks of micro_test.go (`go test -bench`
// with -benchmem), copying their output to w, and parses the results.
func RunMicro(ctx context.Context, e *Env, w io.Writer) ([]Micro, error) {
	e.Logf("micro-benchmarks: go test -run '^$' -bench . -benchmem -benchtime 200ms ./bench/")
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "200ms", "-count", "1", "./bench/")
	cmd.Dir = e.Root
	cmd.Stdout = io.MultiWriter(&out, w)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	return ParseMicro(&out)
}
