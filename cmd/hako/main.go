// hako lives for milliseconds in whatever cgroup its caller is in: its
// GOMAXPROCS does not follow that cgroup's CPU limit, and no background
// re-reading of it. (go1.26 still opens the CPU cgroup files once in
// schedinit whatever this says: it counts non-default uses of the setting.)
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

	"github.com/hako-dev/hako/internal/cli"
	"github.com/hako-dev/hako/internal/containerinit"
	_ "github.com/hako-dev/hako/internal/prestack" // before any other init: see the package
)

func main() {
	// No runtime.GOMAXPROCS(1) here any more: it cost a stop-the-world
	// and a P's teardown (~0.2 ms) in every process, and since hako is pure
	// Go it no longer paid for itself (interleaved, medians: 20 containers
	// at once 238 -> 232 ms, a create/start/delete cycle 20.7 -> 19.8 ms
	// of CPU, run unchanged). The Go init gets GOMAXPROCS=1 from its
	// environment instead (internal/spawn).
	if containerinit.IsInit() {
		containerinit.Main()
	}
	os.Exit(cli.Execute())
}
