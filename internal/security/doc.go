// Package security applies a container process's privileges on the CHILD
// side, inside the container's init, on the OS thread that will call execve:
// resource limits, user and groups, capabilities, no_new_privs and seccomp.
//
// Several of these kernel settings belong to one thread, not to the process:
// capset(2), PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS and a seccomp filter loaded
// without SECCOMP_FILTER_FLAG_TSYNC. The caller must therefore run every
// function of this package, and the final execve, on one goroutine that
// called runtime.LockOSThread and never unlocks it. execve(2) kills the
// process's other threads, so only this thread's settings survive into the
// container's process. setgroups, setresgid and setresuid go through Go's
// syscall package, which applies them to every thread.
//
// The order that works, as containerinit uses it:
//
//  1. ApplyRlimits (raising a hard limit needs CAP_SYS_RESOURCE, so before
//     capabilities are dropped);
//  2. SeccompLoader, for the program the parent compiled before the init
//     started (package internal/seccomp), so a bad profile failed before
//     anything existed;
//  3. if process.noNewPrivileges is false, the seccomp loader now (loading a
//     filter without no_new_privs needs CAP_SYS_ADMIN);
//  4. ChangeUser (user, groups, capabilities, umask);
//  5. SetNoNewPrivileges if asked;
//  6. if process.noNewPrivileges is true, the seccomp loader as late as
//     possible, right before execve, so that the filter does not have to
//     allow the runtime's own system calls.
//
// Errors name the config field they come from as a JSON path, for example
// `process.capabilities.bounding[2]` or `process.rlimits[1]`.
package security
