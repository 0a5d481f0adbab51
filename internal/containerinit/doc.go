// Package containerinit is the CHILD side of container creation: the code
// that runs as the container's init, inside its new namespaces, and ends in
// execve(process.args). It talks to the parent only through initproto and
// never imports the parent side (internal/spawn).
//
// Order of work (each step reports its name on failure):
//
//  1. receive the Config; set sysctls, hostname and domainname
//  2. wait until the parent has put us in our cgroup; unshare the cgroup
//     namespace so that its root is the container's cgroup
//  3. mount.Prepare: propagation, rootfs bind, config mounts, devices
//  4. PrePivot: the parent runs createRuntime hooks; then createContainer hooks
//  5. start waiting on the exec fifo (resolved before the host root goes away)
//  6. pivot_root, masked and read-only paths, read-only root
//  7. new session, terminal (the pty master goes to the parent), rlimits
//  8. seccomp (early when it needs privileges), user, groups, capabilities, cwd
//  9. Ready; block until `start` opens the fifo; startContainer hooks
//  10. no_new_privs and seccomp, close every fd not preserved, execve
//
// The init runs on one locked OS thread: capabilities, no_new_privs, the
// seccomp filter and the cgroup namespace are per-thread, and the thread
// that sets them is the one that calls execve.
package containerinit
