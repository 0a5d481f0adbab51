package mount

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// missing reports whether err means "there is nothing at this path", which
// masked and read-only paths skip.
func missing(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)
}

// maskPaths hides each of c.MaskedPaths: /dev/null bound over a file, an
// empty read-only tmpfs over a directory.
func maskPaths(c *Config, r *root) error {
	if len(c.MaskedPaths) == 0 {
		return nil
	}
	var null *os.File
	defer func() {
		if null != nil {
			null.Close()
		}
	}()
	for i, p := range c.MaskedPaths {
		fail := func(err error) error {
			return &Error{Step: "masking", Destination: p, Field: fmt.Sprintf("linux.maskedPaths[%d]", i), Err: err, inUserNS: c.InUserNS}
		}
		f, err := r.open(cleanDest(p))
		if missing(err) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		err = maskOne(r, f, &null)
		f.Close()
		if err != nil {
			return fail(err)
		}
	}
	return nil
}

func maskOne(r *root, f *os.File, null **os.File) error {
	if err := r.checkProc(); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.Mount("tmpfs", procPath(f), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755")
	}
	if *null == nil {
		n, err := openNull(r)
		if err != nil {
			return err
		}
		*null = n
	}
	return unix.Mount(procPath(*null), procPath(f), "", unix.MS_BIND, "")
}

// openNull opens the container's /dev/null and checks that it is the real
// character device 1:3: a file or a symlink the image planted there must
// not be what masked paths show (CVE-2025-52565 class).
func openNull(r *root) (*os.File, error) {
	f, err := r.open("/dev/null")
	if err != nil {
		return nil, fmt.Errorf("opening /dev/null to mask with: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		f.Close()
		return nil, reasonf(unix.ENODEV, "/dev/null in the container is not the null device (char 1:3)")
	}
	return f, nil
}

// readonlyPaths bind-mounts each of c.ReadonlyPaths onto itself
// (recursively) and makes the result read-only, keeping its other flags.
func readonlyPaths(c *Config, r *root) error {
	for i, p := range c.ReadonlyPaths {
		fail := func(err error) error {
			return &Error{Step: "making read-only", Destination: p, Field: fmt.Sprintf("linux.readonlyPaths[%d]", i), Err: err, inUserNS: c.InUserNS}
		}
		dest := cleanDest(p)
		f, err := r.open(dest)
		if missing(err) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		err = r.checkProc()
		if err == nil {
			err = unix.Mount(procPath(f), procPath(f), "", unix.MS_BIND|unix.MS_REC, "")
		}
		f.Close()
		if err != nil {
			return fail(err)
		}
		// Act on the new mount, not on the one below it.
		if err := r.at(dest, func(t string, fd int) error { return makeReadonly(t, fd) }); err != nil {
			return fail(err)
		}
	}
	return nil
}

// makeReadonly makes the mount at fd (path t) read-only with everything
// below it; without mount_setattr (before Linux 5.12) only the top mount.
func makeReadonly(t string, fd int) error {
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr)
	if !errors.Is(err, unix.ENOSYS) {
		return err
	}
	return remountReadonly(t)
}

// remountReadonly remounts the mount at p read-only, repeating its other
// flags (a user namespace may not drop nosuid, nodev, noexec).
func remountReadonly(p string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return err
	}
	flags := statfsToMS(int64(st.Flags)) | unix.MS_RDONLY | unix.MS_REMOUNT | unix.MS_BIND
	return unix.Mount("", p, "", flags, "")
}
