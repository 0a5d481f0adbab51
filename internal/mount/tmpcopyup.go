package mount

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sysprog"
)

// CopyUpStage runs the CopyUp stage of a compiled program (args: the
// image's directory, the detached tmpfs, the mount's index), as the Go
// runner does.
func CopyUpStage(a sysprog.StageArgs) error {
	from, err := unix.Openat(int(a.Int(0)), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tmpcopyup (mounts[%d]): %w", a.Int(2), err)
	}
	defer unix.Close(from)
	to, err := unix.Openat(int(a.Int(1)), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tmpcopyup (mounts[%d]): %w", a.Int(2), err)
	}
	defer unix.Close(to)
	if err := CopyUp(from, to); err != nil {
		return fmt.Errorf("tmpcopyup (mounts[%d]): copying the image's files into the tmpfs: %w", a.Int(2), err)
	}
	return nil
}

// CopyUp fills the new tmpfs to (a directory fd on its root, still
// detached) with what the image has in the directory from: the
// "tmpcopyup" option of runc and podman, run by the Go runner's CopyUp
// stage. Every step is relative to a directory fd and never follows a
// symlink of the image; owners and modes are copied, the root's too.
func CopyUp(from, to int) error {
	if err := copyOwnerMode(from, "", to, ""); err != nil {
		return err
	}
	return copyTree(from, to)
}

// copyTree copies the entries of directory from into directory to.
func copyTree(from, to int) error {
	dup, err := unix.Dup(from)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(dup), "copy source")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := copyEntry(from, to, name); err != nil {
			return err
		}
	}
	return nil
}

func copyEntry(from, to int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(from, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(to, name, 0o700); err != nil {
			return err
		}
		sub, err := unix.Openat(from, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(sub)
		dst, err := unix.Openat(to, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(dst)
		if err := copyTree(sub, dst); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFileAt(from, to, name); err != nil {
			return err
		}
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(from, name, buf)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(string(buf[:n]), to, name); err != nil {
			return err
		}
	default: // devices, fifos, sockets
		if err := unix.Mknodat(to, name, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	return copyOwnerMode(from, name, to, name)
}

func copyFileAt(from, to int, name string) error {
	in, err := unix.Openat(from, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	r := os.NewFile(uintptr(in), name)
	defer r.Close()
	out, err := unix.Openat(to, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	w := os.NewFile(uintptr(out), name)
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// copyOwnerMode gives to/toName the owner and mode of from/fromName ("" for
// the directories themselves), without following symlinks.
func copyOwnerMode(from int, fromName string, to int, toName string) error {
	flags := unix.AT_SYMLINK_NOFOLLOW
	if fromName == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var st unix.Stat_t
	if err := unix.Fstatat(from, fromName, &st, flags); err != nil {
		return err
	}
	if err := unix.Fchownat(to, toName, int(st.Uid), int(st.Gid), flags); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil
	}
	if toName == "" {
		return unix.Fchmod(to, st.Mode&0o7777)
	}
	return unix.Fchmodat(to, toName, st.Mode&0o7777, 0)
}
