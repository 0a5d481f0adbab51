// Package sysprog runs a container's setup without a second Go runtime.
//
// The parent compiles every step of the setup into a Program: a list of
// raw system calls whose arguments are constants, registers (the results
// of earlier calls: file descriptors) or pointers into memory the parent
// prepared beforehand (paths, mount options, capability sets, a seccomp
// BPF program, argv and envp). [Program.Start] clones the parent into a
// single-threaded child that shares the parent's memory (CLONE_VM) but runs
// on a stack of its own, with every signal blocked; the child runs the
// program with nothing but raw syscalls — no allocation, no scheduler, no
// stack growth, no use of the parent's g — and finally execve(2)s the
// container's process (through the trampoline, which unblocks signals).
// The parent leaves the program's memory alone until then.
//
// Why: runc re-executes itself inside the container, so every start pays
// for a second Go runtime booting, for decoding the configuration again,
// and for protecting the host binary against being reached from the
// container (CVE-2019-5736). Here the host binary is never executed inside
// the container: the only executable the container sees before its own is
// a tiny trampoline held in a sealed memfd (see [Trampoline]).
//
// The child talks to the parent over a SOCK_SEQPACKET socket: one-byte
// tokens for synchronisation points ([Program.Signal], [Program.Wait]) and
// an 8-byte record (op index, errno) when an op fails, after which the
// child exits with status 1. The parent turns the record back into the
// error its compiler attached to that op, so that a failure names the
// configuration field that caused it.
//
// Everything the child runs is marked //go:nosplit: after the clone, the
// Go runtime must not be entered.
//
// This package is a leaf: it imports only the standard library and
// golang.org/x/sys/unix.
package sysprog
