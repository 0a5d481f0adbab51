// Package bundle turns an image into an OCI bundle: DIR/rootfs unpacked
// from the image's layers (by internal/unpack, each layer checked against
// its digest) and DIR/config.json derived from the image's configuration.
//
// The configuration starts from `hako spec`'s defaults (internal/spec:
// runc's namespaces, mounts, masked paths, three capabilities and no
// inheritable or ambient ones), and takes from the image:
//   - process.args: Entrypoint followed by Cmd. Options.Entrypoint replaces
//     the Entrypoint and drops the image's Cmd (as docker run --entrypoint
//     does); Options.Args, when given, replace Cmd. An empty result is an
//     error.
//   - process.env: a default PATH, then the image's Env, then Options.Env,
//     later values replacing earlier ones of the same name.
//   - process.cwd: WorkingDir made absolute, "/" when empty; a directory
//     under /proc is refused (a working directory such as /proc/self/fd/N
//     can reach the runtime's descriptors: CVE-2024-21626).
//   - process.user: User as uid, uid:gid, name, name:group (or mixed),
//     resolved with the root filesystem's own /etc/passwd and /etc/group,
//     opened inside the root filesystem so that a symlink cannot make
//     them host files. The primary gid is always in additionalGids,
//     followed by the groups /etc/group lists the user in.
//
// process.terminal is false unless Options.Terminal: a bundle made from an
// image usually runs a command whose output is read by a program (`hako
// run` in a script, a test, containerd), and a terminal would need a
// console socket or an interactive shell. TERM=xterm is set only with a
// terminal. root.readonly is false unless Options.Readonly, as images are
// usually run with a writable root.
package bundle
