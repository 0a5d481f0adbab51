// Command driver is the benchmark's helper. It runs the runtimes the way a
// client does (their CLI, in separate processes) and does the few things a
// shell cannot do well on this machine:
//
//	driver reaper CMD ARGS...            run CMD as a child subreaper and reap orphans
//	driver bundle [--seccomp] DIR        write the busybox bundle (rootfs/ + config.json), with the bench's seccomp profile
//	driver cycle RUNTIME ROOT BUNDLE ID  create, start, wait for the process, delete
//	driver many N RUNTIME ROOT BUNDLE ID N cycles at once (ids ID-0 ... ID-N-1)
//	driver rss RUNTIME ROOT BUNDLE ID K  peak RSS (KiB) of `run` and of `create`, max of K runs
//	driver floor SPEC CGROUP BUNDLE K    peak RSS (KiB) of the two floor programs (bench/floor), max of K runs
//	driver report DIR MACHINE.md [OUT]   table of medians and ratios; writes OUT (BENCHMARKS.md)
//
// PID 1 on the benchmark machine never reaps orphans, and a created
// container's process is orphaned when `create` exits, so every command
// that detaches runs below a child subreaper (PR_SET_CHILD_SUBREAPER).
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "reaper":
		if len(args) < 1 {
			usage()
		}
		os.Exit(reaper(args))
	case "bundle":
		withSeccomp := len(args) == 2 && args[0] == "--seccomp"
		if withSeccomp {
			args = args[1:]
		}
		if len(args) != 1 {
			usage()
		}
		err = bundle(args[0], "/bin/busybox", withSeccomp)
	case "cycle":
		if len(args) != 4 {
			usage()
		}
		err = withSubreaper(func() error { return cycle(rt(args), args[3]) })
	case "many":
		if len(args) != 5 {
			usage()
		}
		n, e := strconv.Atoi(args[0])
		if e != nil || n < 1 {
			usage()
		}
		err = withSubreaper(func() error { return many(n, rt(args[1:]), args[4]) })
	case "rss":
		if len(args) != 5 {
			usage()
		}
		k, e := strconv.Atoi(args[4])
		if e != nil || k < 1 {
			usage()
		}
		err = withSubreaper(func() error { return rss(rt(args), args[3], k) })
	case "floor":
		if len(args) != 4 {
			usage()
		}
		k, e := strconv.Atoi(args[3])
		if e != nil || k < 1 {
			usage()
		}
		err = floor(args[0], args[1], args[2], k)
	case "report":
		if len(args) != 2 && len(args) != 3 {
			usage()
		}
		machine, e := os.ReadFile(args[1])
		if e != nil {
			err = e
			break
		}
		out := ""
		if len(args) == 3 {
			out = args[2]
		}
		err = report(args[0], string(machine), out)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "driver:", err)
		os.Exit(1)
	}
}

func rt(a []string) runtime { return runtime{bin: a[0], root: a[1], bundle: a[2]} }

func usage() {
	fmt.Fprintln(os.Stderr, "usage: driver reaper CMD... | bundle [--seccomp] DIR | cycle RUNTIME ROOT BUNDLE ID | many N RUNTIME ROOT BUNDLE ID | rss RUNTIME ROOT BUNDLE ID K | floor SPEC CGROUP BUNDLE K | report DIR MACHINE.md [OUT]")
	os.Exit(2)
}
