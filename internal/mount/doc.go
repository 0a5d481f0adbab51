// Package mount compiles the setup of a container's root filesystem into
// a setup program (package sysprog): [Compile] appends the ops, and
// either runner executes them in the container's new mount namespace. It
// imports no hako package but sysprog and stage.
//
// # Sequence
//
//  1. Make "/" recursively private, or a recursive slave when
//     linux.rootfsPropagation asks for slave or shared propagation (a
//     slave receives mount events from the host but never sends any).
//     Either way nothing mounted from here on, and no failure half-way,
//     can appear on the host, even where the host's mounts are shared. It
//     also makes pivot_root possible, which refuses shared mounts.
//  2. Bind-mount the rootfs onto itself, so that it is a mount point
//     (pivot_root and MS_MOVE need one) and a mount of its own whose
//     flags can change without touching the host's; open it (O_PATH): every
//     destination is resolved from that fd.
//  3. Perform mounts[] in order: a new filesystem instance with
//     fsopen/fsconfig/fsmount (the options of mount(8): superblock flags
//     and data through fsconfig, mount flags through fsmount), a bind with
//     open_tree (flags with mount_setattr), each attached with move_mount
//     onto the fd of its destination; propagation options and r* options
//     (rro, rnosuid, ...) with mount_setattr; "remount" through
//     mount_setattr and fspick + FSCONFIG_CMD_RECONFIGURE on the mount
//     already there; tmpcopyup fills the new tmpfs, still detached, from
//     the image's directory in a Go stage (package stage, CopyUp).
//     A "cgroup" mount is, on a v1 or hybrid host, a tmpfs with one
//     directory per hierarchy: a fresh mount of it in a cgroup namespace,
//     a bind of the process's own cgroup directory without one.
//  4. Create the default devices (null, zero, full, random, urandom, tty)
//     unless /dev is a bind mount, then linux.devices; in a user namespace
//     by binding the host's node over an empty file (mknod is refused
//     there); then /dev/fd, stdin, stdout, stderr, ptmx (-> pts/ptmx) and
//     core.
//  5. pivot_root(".", ".") stacks the old root on the new one; it is made
//     a recursive slave, so that unmounting it cannot propagate to the
//     host, and detached, leaving no trace of the host. With NoPivot (an
//     initramfs root, where pivot_root is impossible) the host's mounts
//     outside the rootfs are detached where possible and the rootfs is
//     moved onto "/" and chrooted into; a chroot is weaker, as a process
//     with CAP_SYS_CHROOT can leave it. A non-empty
//     linux.rootfsPropagation then applies to the new root.
//  6. Masked paths get /dev/null (files) or an empty read-only tmpfs
//     (directories); read-only paths are cloned onto themselves
//     (open_tree) and made read-only recursively; then "/" is made
//     read-only if asked. Paths that do not exist are skipped, as runc
//     does.
//
// # Defences
//
// The image is untrusted: it may hold symlinks pointing anywhere, and the
// configuration's paths are resolved through it. Each defence answers a
// known attack on container runtimes:
//
//   - Every destination is resolved from the rootfs fd with
//     openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), as if chrooted
//     there, and created component by component the same way, so that a
//     symlink like /mnt -> /etc or ../../.. never leads onto the host.
//   - Mounts are attached with move_mount onto the fd that resolution
//     returned, never onto a path that could be swapped between resolution
//     and mount (runc CVE-2021-30465).
//   - Below /proc and /sys, resolution also refuses every symlink
//     (RESOLVE_NO_SYMLINKS): a symlinked /proc would let the image choose
//     where the container's procfs is, so that the LSM's and masked paths'
//     files are not where they are expected (CVE-2019-16884,
//     CVE-2019-19921). A mount at /proc must be a procfs, and inside /proc
//     only the files that tools like lxcfs replace (/proc/cpuinfo,
//     /proc/meminfo, ...) may be overmounted.
//   - Mount flags are changed with mount_setattr's set and clear masks:
//     a flag the host locked in a user namespace is never dropped by
//     accident.
//   - Masked paths use the container's /dev/null only after checking that
//     it is the character device 1:3, so that the image cannot make a
//     masked path show a file of its choosing (CVE-2025-52565 class).
//   - Device paths must lie below /dev after cleaning; device nodes are
//     created relative to an fd on their directory, and their owner is set
//     without following symlinks.
//
// # Errors
//
// Every error is an [*Error] naming the step, the object as written in
// config.json with its JSON path (mounts[3], linux.devices[0],
// linux.maskedPaths[2]), the errno by name, and a hint; errors.Is works on
// the errno. Relative bind sources are taken relative to the bundle
// ([FromSpec]).
package mount
