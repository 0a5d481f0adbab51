// Package sysprog holds setup programs and their two runners.
//
// A Program is a container's setup compiled by the parent (package
// internal/spawn): a list of raw system calls whose arguments are
// constants, registers (the results of earlier calls: file descriptors)
// or the program's own memory (paths, mount options, capability sets, a
// seccomp BPF program, argv and envp), and a few decision ops (mask a
// path, find the executable, check the working directory, fork into a pid
// namespace). Everything an op points at lives in one byte slice whose
// inner pointers are relocated where the program runs, so a program is
// plain data: it can be marshalled ([Program.Marshal], [Unmarshal]).
//
// The raw child ([Program.Start]) clones the parent into a child that
// shares the parent's memory (CLONE_VM) but runs on a stack of its own,
// with every signal blocked; it runs the program with nothing but raw
// syscalls — no allocation, no scheduler, no stack growth, no use of the
// parent's g — and finally executes the container's process through the
// trampoline (see [Trampoline]). The parent leaves the program's memory
// alone until then.
//
// The Go runner ([Program.Run]) runs the same ops with the same
// interpreter on its locked OS thread, in a process of its own, and stops
// at Stage ops for what needs Go. The raw child starts it
// ([Program.StartGo]): at the program's Handover op, once it is in the
// container's namespaces, it executes the Go runner's binary with the
// program.
//
// Why: runc re-executes itself inside the container, so every start pays
// for a second Go runtime booting, for decoding the configuration again,
// and for protecting the host binary against being reached from the
// container (CVE-2019-5736). Here the host binary is never the
// container's process: the only executable the container sees before its
// own is a tiny trampoline held in a sealed memfd.
//
// A runner talks to the parent over a SOCK_SEQPACKET socket: one-byte
// tokens for synchronisation points ([Program.Signal], [Program.Wait]), an
// fd with a token ([Program.SendFD]; a pidfd of a process the program
// spawned or forked), an 8-byte record (op index, errno) when an op fails,
// or a stage's failure in words, after which the runner exits. The parent
// ([Child]) turns the record back into the error its compiler attached to
// that op, so that a failure names the configuration field that caused it.
//
// Everything the raw child runs is marked //go:nosplit: after the
// clone, the Go runtime must not be entered.
//
// This package is a leaf: it imports only the standard library and
// golang.org/x/sys/unix.
package sysprog
