// Package security compiles a container process's privileges into a setup
// program (package sysprog): resource limits (CompileRlimits), user,
// groups and capabilities (CompileUser), no_new_privs
// (CompileNoNewPrivileges) and loading a seccomp program compiled
// beforehand (CompileSeccomp; package internal/seccomp compiles profiles).
// The checks that need only the configuration and the runtime's own
// credentials run at compile time, in the parent, and name the field to
// fix: `process.capabilities.bounding[2]`, `process.rlimits[1]`; the
// runner's failures come back with the same words.
//
// Several of these settings belong to one thread: capset(2),
// PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS and a seccomp filter loaded without
// SECCOMP_FILTER_FLAG_TSYNC. Either runner runs the ops on the one thread
// that executes the process (the raw child has one; the Go runner locks
// its thread); execve kills every other thread.
//
// The order the compiler (internal/spawn) uses:
//
//  1. every fd above the preserved ones close-on-exec, before any filter;
//  2. rlimits (raising a hard limit needs CAP_SYS_RESOURCE);
//  3. without no_new_privs, the seccomp filter now (loading it needs
//     CAP_SYS_ADMIN, which the process is about to lose);
//  4. user, groups, capabilities, umask;
//  5. no_new_privs if asked;
//  6. with no_new_privs, the filter last: the trampoline loads it right
//     before its execve, so that the profile need not allow hako's own
//     steps.
package security
