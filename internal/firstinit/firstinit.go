// Package firstinit runs the first package init of hako's binary and sets
// up, once and while the process is still small, what a command that lives
// for milliseconds needs from the Go runtime. Import it for its side
// effect only, from package main.
//
// The package imports only runtime (which is initialised before any
// package), so its init runs before those of the standard library's
// packages that have one: inits run in dependency order, ties broken by
// import path. test: firstinit_test.go reads the order in the built binary.
//
// It does two things:
//
//   - The main goroutine's stack is grown to the 32 KiB a `hako run` ends
//     up needing. A goroutine starts with 2 KiB; each time a call does not
//     fit, the runtime allocates a stack twice the size and copies the old
//     one, walking every frame and looking up its stack map in the
//     binary's pclntab. A `run` used to copy four times, the last ones
//     with the CLI's, the validator's and the spawner's frames on the
//     stack and pclntab pages not yet touched; here it is one copy of a few
//     frames. The stack is not shrunk again: that only happens at a garbage
//     collection, and a runtime command ends before its heap reaches the
//     first one.
//
//   - GOMAXPROCS is set to 1, overriding the environment. hako's work is
//     one sequence of system calls plus a few goroutines that wait, and a
//     second P only gives the scheduler spinning and hand-offs to do
//     (measured: `run` and a create/start/delete cycle faster, 20 at once
//     unchanged; see the README). Doing it here, before the package inits
//     start goroutines, costs one stop-the-world with a single thread
//     running; where GOMAXPROCS=1 is already in the environment (the Go
//     init, see internal/spawn) the call has nothing to do.
package firstinit

import "runtime"

// frame is the size of grow's frame. With the runtime's frames below it,
// the stack doubles from 2 KiB until it fits: 32 KiB.
const frame = 20 << 10

var sink byte

func init() {
	grow(0)
	runtime.GOMAXPROCS(1)
}

// grow needs a frame of the given size; the array is indexed by a value
// the compiler cannot know, so the frame is not optimised away.
//
//go:noinline
func grow(i int) {
	var b [frame]byte
	b[i] = 1
	sink = b[(i+1)%frame]
}
