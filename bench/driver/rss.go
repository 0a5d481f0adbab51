package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// timeBinary is GNU time, which forks the command it measures.
const timeBinary = "/usr/bin/time"

// rss prints the peak resident set size, in KiB, of `run` (the runtime and
// every process it waits for, such as a re-executed init) and of `create`
// alone (the init it leaves behind is not waited for by create), each the
// largest of k runs.
//
// The runtime is started by GNU time, not by us: Go starts a command with
// vfork (CLONE_VM), and the kernel records in the new process's ru_maxrss
// the peak RSS of the memory it had before its execve — ours, which would
// then hide a runtime smaller than this driver. GNU time forks, so the
// floor it leaves is its own small RSS.
func rss(r runtime, id string, k int) error {
	if _, err := os.Stat(timeBinary); err != nil {
		return fmt.Errorf("%s: %w — hint: apt-get install time", timeBinary, err)
	}
	var runMax, createMax int64
	for i := 0; i < k; i++ {
		kb, err := r.peakRSS("run", "--bundle", r.bundle, id)
		if err != nil {
			return err
		}
		runMax = max(runMax, kb)
		if kb, err = r.peakRSS("create", "--bundle", r.bundle, id); err != nil {
			return err
		}
		createMax = max(createMax, kb)
		if err := r.do("delete", "--force", id); err != nil {
			return err
		}
		reapAll()
	}
	fmt.Printf("%d %d\n", runMax, createMax)
	return nil
}

// peakRSS runs the runtime with args under GNU time and returns its
// ru_maxrss in KiB.
func (r runtime) peakRSS(args ...string) (int64, error) {
	c, stderr, err := r.cmd(args...)
	if err != nil {
		return 0, err
	}
	return underTime(c, func() error { return r.run(c, stderr) })
}

// underTime makes c run under GNU time, calls run (which runs c) and
// returns the ru_maxrss in KiB that GNU time reported.
func underTime(c *exec.Cmd, run func() error) (int64, error) {
	out, err := os.CreateTemp("", "driver-rss-")
	if err != nil {
		return 0, err
	}
	out.Close()
	defer os.Remove(out.Name())
	c.Args = append([]string{timeBinary, "-f", "%M", "-o", out.Name()}, c.Args...)
	c.Path = timeBinary
	if err := run(); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return 0, err
	}
	kb, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s printed %q, not a size in KiB", timeBinary, b)
	}
	return kb, nil
}
