package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// floor prints the peak RSS, in KiB, of the two floor programs
// (bench/floor/spec and bench/floor/cgroup) run on the bundle, each the
// largest of k runs: what a Go runtime process needs at least on this
// machine before it does any work of its own, with only the spec decoded,
// and with the container's cgroup made by the chosen cgroups library.
func floor(specBin, cgroupBin, bundle string, k int) error {
	var specMax, cgroupMax int64
	for i := 0; i < k; i++ {
		kb, err := floorRun(specBin, bundle)
		if err != nil {
			return err
		}
		specMax = max(specMax, kb)
		if kb, err = floorRun(cgroupBin, bundle); err != nil {
			return err
		}
		cgroupMax = max(cgroupMax, kb)
	}
	fmt.Printf("%d %d\n", specMax, cgroupMax)
	return nil
}

// floorRun runs one floor program under GNU time. The cgroup program
// prints the directories of the cgroup it made, one per line; they are
// removed (with their parent, once empty) when it has exited, whether or
// not it succeeded.
func floorRun(bin, bundle string) (int64, error) {
	var stdout, stderr bytes.Buffer
	c := exec.Command(bin, bundle)
	c.Stdout, c.Stderr = &stdout, &stderr
	kb, err := underTime(c, c.Run)
	var rmErr error
	for _, dir := range strings.Fields(stdout.String()) {
		if !strings.HasPrefix(dir, "/sys/fs/cgroup/") {
			continue
		}
		if e := os.Remove(dir); e != nil && !errors.Is(e, os.ErrNotExist) {
			rmErr = errors.Join(rmErr, e)
		}
		os.Remove(filepath.Dir(dir)) // the shared parent: fails while others remain
	}
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v: %s", bin, bundle, err, strings.TrimSpace(stderr.String()))
	}
	return kb, rmErr
}
