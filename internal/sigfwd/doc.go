// Package sigfwd catches the signals sent to hako, for forwarding to a
// container's process (`run` and `exec` in the foreground).
//
// os/signal would do, but signal.Notify costs one round trip between two
// threads of the Go runtime per signal (its signal thread updates its own
// signal mask each time): for the 60 signals a runtime forwards, several
// milliseconds of context switches on every `run`. Here a handler of a
// dozen instructions, installed with one rt_sigaction(2) per signal, writes
// the signal's number into a pipe, and a goroutine turns the bytes back
// into signals.
//
// The signals the Go runtime needs keep its handler: SIGURG (goroutine
// preemption) and SIGPROF, and signals 32 and 33, which the C library
// uses. The synchronous ones (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
// SIGSYS) are forwarded only when a process sent them (si_code <= 0); a
// fault the kernel raised goes on to the Go runtime's handler, which turns
// it into a panic as before. SIGKILL and SIGSTOP cannot be caught; SIGCHLD
// and SIGPIPE are not forwarded.
//
// This package is a leaf: it imports only the standard library and
// golang.org/x/sys/unix.
package sigfwd
