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
	_ "github.com/hako-dev/hako/internal/firstinit" // the first init: see the package
	"github.com/hako-dev/hako/internal/goinit"
)

func main() {
	// GOMAXPROCS is 1 and the stack already grown: internal/firstinit did
	// both in the first package init, where they cost least. The Go init
	// (hako-init) takes the same path.
	if goinit.IsInit() {
		goinit.Main()
	}
	os.Exit(cli.Execute())
}
