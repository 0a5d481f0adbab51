// Package libseccomp compiles an OCI seccomp profile (linux.seccomp) into a
// classic BPF program with libseccomp.
//
// It is the only package of hako that needs cgo, and only the helper binary
// hako-seccomp (cmd/hako-seccomp) links it: the runtime binary hako is pure
// Go, so that its every start — one per create, start, delete, exec —
// skips static glibc's start-up and the cgo runtime (about 1 ms of CPU per
// process on the benchmark machine, see the README's Performance section).
// hako asks the helper through package internal/seccomp, which caches the
// programs it gets back.
//
// Errors name the field of the profile they come from as a JSON path, for
// example `linux.seccomp.syscalls[3].args[0].op`.
package libseccomp
