// Package prestack gives the main goroutine, once and at the start of the
// package inits, the stack that a `hako run` ends up needing.
//
// A goroutine starts with 2 KiB of stack. Each time a call does not fit,
// the runtime allocates a stack twice the size and copies the old one,
// walking every frame on it and looking up each frame's stack map in the
// binary's pclntab: in `run`, four copies (2 → 32 KiB), the last ones with
// the CLI, the validator and the spawner's frames on the stack, and with
// pclntab pages not yet touched. Growing it here, where the stack holds
// only the runtime's init frames, is one copy of a few frames. The stack is
// not shrunk again: that only happens at a garbage collection, and a
// runtime command ends before its heap reaches the first one.
//
// The package imports nothing, so its init runs before those of the
// standard library's packages that have one (inits run in dependency
// order, ties broken by import path). Import it for its side effect only,
// from package main.
package prestack

// frame is the size of grow's frame. With the runtime's frames below it,
// the stack doubles from 2 KiB until it fits: 32 KiB.
const frame = 20 << 10

var sink byte

func init() { grow(0) }

// grow needs a frame of the given size; the array is indexed by a value
// the compiler cannot know, so the frame is not optimised away.
//
//go:noinline
func grow(i int) {
	var b [frame]byte
	b[i] = 1
	sink = b[(i+1)%frame]
}
