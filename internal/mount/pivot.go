package mount

import (
	"errors"
	"sort"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// pivotRoot makes rootfs the root with pivot_root(2) and detaches the old
// root, so that the host's mounts are gone from the container's view.
func pivotRoot(rootfs string) error {
	fail := func(what string, err error) error {
		e := &Error{Step: "pivot_root", Destination: rootfs, Field: "root.path", Err: err}
		if what != "" {
			e.Step = what
		}
		if errors.Is(err, unix.EINVAL) && what == "" {
			e.Hint = "pivot_root needs the rootfs to be a mount point whose parent is not shared, and a root that is not the initramfs; use --no-pivot when running from an initramfs"
		}
		return e
	}
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("opening the old root", err)
	}
	defer unix.Close(oldroot)
	newroot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("opening the rootfs", err)
	}
	defer unix.Close(newroot)
	if err := unix.Fchdir(newroot); err != nil {
		return fail("entering the rootfs", err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one, at
	// the same place; no directory for it is needed in the image.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fail("", err)
	}
	if err := unix.Fchdir(oldroot); err != nil {
		return fail("entering the old root", err)
	}
	// A slave's unmount never propagates back: detaching the old root
	// cannot unmount anything on the host.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fail("making the old root a slave", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fail("unmounting the old root", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fail("entering the new root", err)
	}
	return nil
}

// moveRoot is the --no-pivot way: unmount what of the host can be
// unmounted, move the rootfs mount onto "/" and chroot into it. It is for
// roots where pivot_root is impossible (an initramfs); a chroot can be
// escaped by a process holding CAP_SYS_CHROOT, so pivot_root is preferred.
func moveRoot(rootfs string) error {
	fail := func(what string, err error) error {
		return &Error{Step: what, Destination: rootfs, Field: "root.path", Err: err}
	}
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return fail("reading the mount table", err)
	}
	// Deepest first, so that children go before their parents.
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i].Mountpoint) > len(mounts[j].Mountpoint) })
	for _, m := range mounts {
		p := m.Mountpoint
		if inside(rootfs, p) || p == "/" || strings.HasPrefix(rootfs, p+"/") {
			continue // the rootfs, what is in it, and what holds it stay
		}
		// Best effort: a user namespace may not unmount what the host
		// locked; those stay reachable only outside the chroot.
		_ = unix.Unmount(p, unix.MNT_DETACH)
	}
	if err := unix.Chdir(rootfs); err != nil {
		return fail("entering the rootfs", err)
	}
	if err := unix.Mount(rootfs, "/", "", unix.MS_MOVE, ""); err != nil {
		return fail("moving the rootfs onto /", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fail("chroot", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fail("entering the new root", err)
	}
	return nil
}
