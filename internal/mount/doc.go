// Package mount sets up a container's root filesystem from inside the
// container's init, in its new (private) mount namespace, before the user
// process is executed. It imports no other hako package but logging.
//
// # Sequence
//
// [Prepare], before pivot_root:
//
//  1. Refuse to run in PID 1's mount namespace (every later step would
//     change the host's mounts).
//  2. Make "/" recursively private, or a recursive slave when
//     linux.rootfsPropagation asks for slave or shared propagation (a
//     slave receives mount events from the host but never sends any).
//     Either way nothing mounted from here on, and no failure half-way,
//     can appear on the host, even where the host's mounts are shared. It
//     also makes pivot_root possible, which refuses shared mounts.
//  3. Bind-mount the rootfs onto itself, so that it is a mount point
//     (pivot_root and MS_MOVE need one) and a mount of its own whose
//     flags can change without touching the host's.
//  4. Perform mounts[] in order: proc, sysfs, tmpfs, devpts, mqueue,
//     bind/rbind, cgroup and any other type the kernel knows, with the
//     options of mount(8); binds get a second, remounting call for
//     ro/nosuid/..., propagation options a call each, r* options (rro,
//     rnosuid, ...) one mount_setattr(2).
//  5. Create the default devices (null, zero, full, random, urandom, tty)
//     unless /dev is a bind mount, then linux.devices; in a user namespace
//     (or on EPERM) by bind-mounting the host's node over an empty file.
//  6. Create /dev/fd, stdin, stdout, stderr, ptmx (-> pts/ptmx) and core.
//
// [PivotRoot]: pivot_root(".", ".") stacks the old root on the new one;
// it is made a recursive slave, so that unmounting it cannot propagate to
// the host, and lazily unmounted, leaving no trace of the host. With
// NoPivot (for an initramfs root, where pivot_root is impossible) the
// host's mounts outside the rootfs are unmounted where possible and the
// rootfs is moved onto "/" and chrooted into; a chroot is weaker, as a
// process with CAP_SYS_CHROOT can leave it. Then a non-empty
// linux.rootfsPropagation is applied to the new root; when it is empty the
// root stays rprivate from step 2, and the propagation options of single
// mounts (an rslave bind for HostToContainer, say) stay as they were.
//
// [Finish]: masked paths get /dev/null (files) or an empty read-only tmpfs
// (directories); read-only paths are bound onto themselves and made
// read-only recursively; then "/" is remounted read-only if asked. Paths
// that do not exist are skipped, as runc does.
//
// # Defences
//
// The image is untrusted: it may hold symlinks pointing anywhere, and the
// configuration's paths are resolved through it. Each defence answers a
// known attack on container runtimes:
//
//   - Every destination is resolved inside the rootfs as if chrooted
//     there (filepath-securejoin's pathrs-lite: openat2 RESOLVE_IN_ROOT
//     where the kernel has it), and created the same way, so that a
//     symlink like /mnt -> /etc or ../../.. never leads onto the host.
//     Missing components are created as directories (or, for a bind of a
//     file, an empty file), never through a symlink.
//   - mount(2) targets an O_PATH handle on the resolved file, through its
//     /proc/self/fd/N magic link, never the path again: a symlink swapped
//     in between resolution and mount (runc CVE-2021-30465) cannot
//     redirect the mount. Before use the kernel's name of the handle is
//     read back and must lie inside the rootfs. /proc itself is checked to
//     be a procfs, so that the image cannot fake /proc/self/fd.
//   - A destination at or below /proc or /sys with a symlink on its way is
//     refused: a symlinked /proc would let the image choose where the
//     container's procfs is, so that the LSM's and masked paths' files are
//     not where they are expected (CVE-2019-16884, CVE-2019-19921). A
//     mount at /proc must be a procfs, and inside /proc only the files
//     that tools like lxcfs replace (/proc/cpuinfo, /proc/meminfo, ...)
//     may be overmounted.
//   - Remounts repeat the flags the mount already has (read with statfs),
//     because in a user namespace the kernel locks nosuid, nodev, noexec,
//     ro and the atime mode of mounts inherited from the host and fails a
//     remount that drops one with EPERM.
//   - Masked paths use the container's /dev/null only after checking that
//     it is the character device 1:3, so that the image cannot make a
//     masked path show a file of its choosing (CVE-2025-52565 class).
//   - Device paths must lie below /dev after cleaning; device nodes are
//     created relative to a handle on their directory, and their owner and
//     mode are set through a handle that does not follow symlinks.
//
// # Errors
//
// Every error is an [*Error] naming the step, the object as written in
// config.json with its JSON path (mounts[3], linux.devices[0],
// linux.maskedPaths[2]), the errno by name, and a hint; errors.Is works on
// the errno.
//
// Relative bind sources are taken relative to the working directory: the
// caller resolves them against the bundle.
package mount
