package spawn

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// SafeExecutable returns an fd of this binary that the init can be executed
// from without ever exposing the host file for writing: a read-only,
// detached bind mount of /proc/self/exe (open_tree + mount_setattr). Nothing
// is mounted anywhere; the mount lives only as long as the fd and the
// processes executing it. A write through /proc/PID/exe then fails with
// EROFS (CVE-2019-5736). Kernels without the new mount API fall back to a
// sealed memfd copy.
func SafeExecutable() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		if err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err == nil {
			// The O_PATH fd of the detached mount's root is the file itself;
			// execve through /proc/self/fd/N runs it.
			return os.NewFile(uintptr(fd), "hako-exe"), nil
		}
		unix.Close(fd)
	}
	return memfdCopy()
}

func memfdCopy() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("opening own executable: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("hako-exe", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hako-exe")
	st, _ := src.Stat()
	if _, err := unix.Sendfile(fd, int(src.Fd()), nil, int(st.Size())); err != nil {
		f.Close()
		return nil, fmt.Errorf("copying own executable: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing own executable copy: %w", err)
	}
	return f, nil
}
