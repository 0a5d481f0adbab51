package unpack

import (
	"errors"
	"fmt"
	"os"
	"path"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// tree is the root filesystem being written: an open handle on its root
// directory and a cache of handles on directories resolved inside it.
//
// Every directory is resolved from the root handle with in-root semantics
// (symlinks followed as if the root were "/"). Cached handles stay valid
// until something is removed from the tree: a removal may change what a
// cached name resolves to, so it empties the cache.
type tree struct {
	root    *os.File
	rootFd  int
	cache   map[string]int
	openat2 bool
}

const maxCachedDirs = 512

// useOpenat2 is false in tests of the fallback resolver.
var useOpenat2 = true

func openTree(rootfs string) (*tree, error) {
	f, err := os.OpenFile(rootfs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening root filesystem directory: %w (create it first)", err)
	}
	return &tree{root: f, rootFd: int(f.Fd()), cache: map[string]int{}, openat2: useOpenat2}, nil
}

func (t *tree) close() {
	t.invalidate()
	t.root.Close()
}

// invalidate forgets every cached directory handle.
func (t *tree) invalidate() {
	for _, fd := range t.cache {
		unix.Close(fd)
	}
	clear(t.cache)
}

// trim empties a full cache. It is called between entries only, never
// while an entry holds handles from the cache.
func (t *tree) trim() {
	if len(t.cache) >= maxCachedDirs {
		t.invalidate()
	}
}

// dir returns a handle on directory name (a cleaned, root-relative path),
// creating it and its missing parents when create is set. The handle is
// owned by the tree and valid until the next invalidate or trim. A missing directory yields an error wrapping
// fs.ErrNotExist.
func (t *tree) dir(name string, create bool) (int, error) {
	if name == "." || name == "" {
		return t.rootFd, nil
	}
	if fd, ok := t.cache[name]; ok {
		return fd, nil
	}
	fd, err := t.lookupDir(name)
	if errors.Is(err, unix.ENOENT) && create {
		var f *os.File
		f, err = pathrs.MkdirAllHandle(t.root, name, 0o755)
		if err == nil {
			fd, err = unix.Dup(int(f.Fd()))
			f.Close()
		}
	}
	if err != nil {
		return -1, err
	}
	t.cache[name] = fd
	return fd, nil
}

// lookupDir opens an existing directory inside the root.
func (t *tree) lookupDir(name string) (int, error) {
	if t.openat2 {
		fd, err := unix.Openat2(t.rootFd, name, &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		for err == unix.EAGAIN || err == unix.EINTR { // a concurrent rename elsewhere
			fd, err = unix.Openat2(t.rootFd, name, &unix.OpenHow{
				Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
				Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
			})
		}
		if err != unix.ENOSYS && err != unix.EPERM { // EPERM: seccomp filters that refuse openat2
			return fd, err
		}
		t.openat2 = false
	}
	f, err := pathrs.OpenatInRoot(t.root, name)
	if err != nil {
		return -1, unwrapErrno(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return -1, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return -1, unix.ENOTDIR
	}
	return unix.Dup(int(f.Fd()))
}

func unwrapErrno(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// split returns the parent directory and the last component of a cleaned
// root-relative name.
func split(name string) (dir, base string) {
	dir, base = path.Split(name)
	if dir == "" {
		return ".", base
	}
	return path.Clean(dir), base
}

// removeAt removes name in directory dirfd, whatever it is, without
// following a symlink at name. A missing name is not an error.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	return removeTreeAt(dirfd, name)
}

// removeTreeAt removes directory name in dirfd and everything below it,
// never following symlinks: every step is relative to an open handle.
func removeTreeAt(dirfd int, name string) error {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT {
		return nil
	}
	if err != nil {
		return err
	}
	names, err := readDirNames(fd)
	if err == nil {
		for _, n := range names {
			if err = removeAt(fd, n); err != nil {
				break
			}
		}
	}
	unix.Close(fd)
	if err != nil {
		return err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT {
		return err
	}
	return nil
}

// readDirNames lists a directory handle's entries (not "." or "..").
func readDirNames(fd int) ([]string, error) {
	var names []string
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
