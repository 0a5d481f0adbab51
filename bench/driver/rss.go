package main

import (
	"fmt"
	"syscall"
)

// rss prints the peak resident set size, in KiB, of `run` (the runtime and
// every process it waits for, such as a re-executed init, as wait4 reports
// it) and of `create` alone (the init it leaves behind is not waited for
// by create), each the largest of k runs.
func rss(r runtime, id string, k int) error {
	var runMax, createMax int64
	for i := 0; i < k; i++ {
		c, stderr, err := r.cmd("run", "--bundle", r.bundle, id)
		if err != nil {
			return err
		}
		if err := r.run(c, stderr); err != nil {
			return err
		}
		runMax = max(runMax, c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)

		c, stderr, err = r.cmd("create", "--bundle", r.bundle, id)
		if err != nil {
			return err
		}
		if err := r.run(c, stderr); err != nil {
			return err
		}
		createMax = max(createMax, c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		if err := r.do("delete", "--force", id); err != nil {
			return err
		}
		reapAll()
	}
	fmt.Printf("%d %d\n", runMax, createMax)
	return nil
}
