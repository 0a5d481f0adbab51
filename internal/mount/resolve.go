package mount

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// root is the container's root filesystem as a directory handle. Every path
// of the configuration is resolved through it, as if the process were
// chrooted there: a symlink in the image can never lead outside.
type root struct {
	dir    *os.File // O_PATH handle
	path   string   // the kernel's name for it (readlink of /proc/self/fd/N)
	procOK bool     // checkProcfs passed
}

func openRoot(p string) (*root, error) {
	dir, err := os.OpenFile(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	real, err := procfs.ProcSelfFdReadlink(dir)
	if err != nil {
		dir.Close()
		return nil, fmt.Errorf("reading the rootfs' path from /proc: %w", err)
	}
	return &root{dir: dir, path: real}, nil
}

func (r *root) close() { r.dir.Close() }

// checkProcfs makes sure that "/proc/self/fd/N", the path every mount(2)
// here targets, goes through a real procfs: without one, an image could
// ship a /proc/self/fd tree of symlinks of its own choosing.
func checkProcfs() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/proc/self/fd", &st); err != nil {
		return reasonf(unix.ENOENT, "/proc/self/fd is not usable (%v): mount proc at /proc", err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return reasonf(unix.EXDEV, "/proc is not a procfs (magic %#x): mount proc at /proc", st.Type)
	}
	return nil
}

// inside reports whether p is dir or below it.
func inside(dir, p string) bool {
	if dir == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// mkdirAll creates dest and its parents inside the root (mode 0755 before
// umask), resolving every component inside the root.
func (r *root) mkdirAll(dest string) error {
	f, err := r.mkdirAllHandle(dest)
	if err != nil {
		return err
	}
	return f.Close()
}

// mkdirAllHandle is mkdirAll returning an O_PATH handle on the directory,
// after checking that it is inside the root.
func (r *root) mkdirAllHandle(dest string) (*os.File, error) {
	f, err := pathrs.MkdirAllHandle(r.dir, dest, 0o755)
	if err != nil {
		return nil, err
	}
	if err := r.check(f, dest); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// mkfile creates dest as an empty regular file (and its parents as
// directories) unless something already exists there. A symlink at the last
// component is left alone, never followed to create its target.
func (r *root) mkfile(dest string) error {
	dir, base := path.Split(dest)
	if base == "" {
		return reasonf(unix.EISDIR, "%q names a directory", dest)
	}
	parent, err := r.mkdirAllHandle(dir)
	if err != nil {
		return err
	}
	defer parent.Close()
	fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil
		}
		return &os.PathError{Op: "create", Path: dest, Err: err}
	}
	return unix.Close(fd)
}

// open returns an O_PATH handle on dest resolved inside the root, after
// checking with the kernel that the handle really is inside the root (a
// rename or a swapped symlink between resolution and use would show here).
func (r *root) open(dest string) (*os.File, error) {
	f, err := pathrs.OpenatInRoot(r.dir, dest)
	if err != nil {
		return nil, err
	}
	if err := r.check(f, dest); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (r *root) check(f *os.File, dest string) error {
	got, err := procfs.ProcSelfFdReadlink(f)
	if err != nil {
		return fmt.Errorf("reading back the path of %q: %w", dest, err)
	}
	if !inside(r.path, got) {
		return reasonf(unix.EXDEV, "%q resolved to %q, which is outside the rootfs %q", dest, got, r.path)
	}
	return nil
}

// procPath is the magic link naming f's file for mount(2).
func procPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// at opens dest inside the root and calls fn with the "/proc/self/fd/N"
// path of the handle, so that the mount syscall acts on exactly the file
// that was checked, whatever happens to the path meanwhile.
func (r *root) at(dest string, fn func(target string, fd int) error) error {
	f, err := r.open(dest)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := r.checkProc(); err != nil {
		return err
	}
	return fn(procPath(f), int(f.Fd()))
}

func (r *root) checkProc() error {
	if r.procOK {
		return nil
	}
	if err := checkProcfs(); err != nil {
		return err
	}
	r.procOK = true
	return nil
}

// firstSymlink walks dest inside the root without following symlinks and
// returns the first existing component that is a symlink, with its target
// ("" when there is none).
func (r *root) firstSymlink(dest string) (link, target string, err error) {
	cur, err := unix.Openat(int(r.dir.Fd()), ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", "", err
	}
	defer func() { unix.Close(cur) }()
	walked := ""
	for _, part := range strings.Split(strings.Trim(dest, "/"), "/") {
		if part == "" {
			continue
		}
		walked += "/" + part
		var st unix.Stat_t
		if err := unix.Fstatat(cur, part, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return "", "", nil
			}
			return "", "", err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			buf := make([]byte, unix.PathMax)
			n, _ := unix.Readlinkat(cur, part, buf)
			if n < 0 {
				n = 0
			}
			return walked, string(buf[:n]), nil
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return "", "", nil
		}
		next, err := unix.Openat(cur, part, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", "", err
		}
		unix.Close(cur)
		cur = next
	}
	return "", "", nil
}
