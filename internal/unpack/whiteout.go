package unpack

import (
	"errors"
	"fmt"
	"path"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// whiteout applies a whiteout entry: base is ".wh.NAME" or the opaque
// marker, in directory dir.
func (u *unpacker) whiteout(entry, dir, base string) error {
	if base == whiteoutOpaque {
		return u.opaque(entry, dir)
	}
	if len(base) > len(whiteoutMeta) && base[:len(whiteoutMeta)] == whiteoutMeta {
		u.warn("AUFS metadata is not part of the image", entry, true)
		return nil
	}
	victim := base[len(whiteoutPrefix):]
	if victim == "" || victim == "." || victim == ".." {
		return &EntryError{Entry: entry, Op: "apply whiteout",
			Err: fmt.Errorf("it names %q, which is not a file in the directory: %w", victim, ErrEscape)}
	}
	pfd, err := u.t.dir(dir, false)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // nothing below to hide
	}
	if err != nil {
		return &EntryError{Entry: entry, Op: "open directory " + dir, Err: explain(err)}
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, victim, &st, unix.AT_SYMLINK_NOFOLLOW); err == unix.ENOENT {
		return nil
	}
	if err := removeAt(pfd, victim); err != nil {
		return &EntryError{Entry: entry, Op: "remove " + path.Join(dir, victim), Err: explain(err)}
	}
	if ft := st.Mode & unix.S_IFMT; ft == unix.S_IFDIR || ft == unix.S_IFLNK {
		u.t.invalidate()
	}
	return nil
}

// opaque empties dir of everything that this layer did not write: the
// lower layers' content is hidden whether the marker comes before or after
// its siblings.
func (u *unpacker) opaque(entry, dir string) error {
	pfd, err := u.t.dir(dir, false)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return &EntryError{Entry: entry, Op: "open directory " + dir, Err: explain(err)}
	}
	fd, err := unix.Openat(pfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &EntryError{Entry: entry, Op: "open directory " + dir, Err: explain(err)}
	}
	defer unix.Close(fd)
	if err := u.prune(fd, dir); err != nil {
		return &EntryError{Entry: entry, Op: "apply opaque whiteout to " + dir, Err: explain(err)}
	}
	u.t.invalidate()
	return nil
}

// prune removes from directory fd (named dir) every child this layer did
// not write, and descends into the directories it did write.
func (u *unpacker) prune(fd int, dir string) error {
	names, err := readDirNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		child := path.Join(dir, n)
		if _, ours := u.created[child]; !ours {
			if err := removeAt(fd, n); err != nil {
				return err
			}
			continue
		}
		cfd, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == unix.ENOTDIR || err == unix.ELOOP {
			continue // a file or symlink of this layer
		}
		if err != nil {
			return err
		}
		err = u.prune(cfd, child)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}
