// The container's CPU limit is not ours to follow (hako runs in the
// host's cgroup and lives for milliseconds): skip the runtime's reading of
// /proc/self/cgroup and mountinfo at every start.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command hako is an OCI container runtime with a runc-compatible command
// line and an image-to-bundle toolkit. main only dispatches: a process
// started as a container init (argv[0] "hako-init") goes straight to the
// child side and never reaches the CLI.
package main

import (
	"os"
	"runtime"

	"github.com/hako-dev/hako/internal/cli"
	"github.com/hako-dev/hako/internal/containerinit"
)

func main() {
	// One P: hako is a short-lived process that mostly waits in system
	// calls; a second P only woke spinning threads. With 20 containers
	// created at once on 2 CPUs, 302 -> 274 ms; a single run: 0.9 ms less
	// CPU, 0.1 ms more wall (the cgroup setup that overlaps the compile
	// then runs when the main goroutine blocks). Measured with hyperfine
	// and interleaved runs, medians.
	runtime.GOMAXPROCS(1)
	if containerinit.IsInit() {
		containerinit.Main()
	}
	os.Exit(cli.Execute())
}
