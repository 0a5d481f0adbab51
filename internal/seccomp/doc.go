// Package seccomp turns a container's seccomp profile (linux.seccomp) into
// the BPF program and flags that seccomp(2) loads, for the pure-Go runtime
// binary.
//
// libseccomp does the compiling, in the helper binary hako-seccomp
// (cmd/hako-seccomp, package internal/libseccomp), which hako runs with the
// profile on its stdin. The helper is $HAKO_SECCOMP_BINARY if set, else
// the one `make build` embeds in hako (the tag hako_embed_seccomp, see
// embedded.go), run from a sealed memfd, else hako-seccomp next to the
// running executable, else in $PATH. Programs are kept in a cache
// directory (the state root's "@seccomp", a name no container id can
// have), under a key made of the profile, the helper's identity (the
// SHA-256 of the embedded one, computed when hako was built; the device,
// inode, size and times of one on disk) and the kernel's release and
// machine: a create, run or exec with a profile compiled before reads one
// small file, runs no helper and does not read the embedded one's bytes.
//
// Why a helper: linking libseccomp needs cgo and static glibc, whose
// start-up (CPU feature probing, IRELATIVE relocations, the cgo runtime's
// thread and signal set-up) cost about 1 ms of CPU in every hako process
// on the benchmark machine — four processes per container lifecycle —
// while a profile changes rarely.
//
// The cache is trusted only if it is a directory owned by the effective
// user and writable by nobody else, and each entry repeats its own key;
// anything else is ignored and recompiled. Entries are written to a
// temporary file and renamed.
//
// This package is a leaf: it imports only the standard library, the
// runtime spec, golang.org/x/sys/unix and internal/helperbin.
package seccomp
