package unpack

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// errSkipped means an entry was skipped with a warning.
var errSkipped = errors.New("skipped")

func (u *unpacker) parent(entry, dir string) (int, error) {
	fd, err := u.t.dir(dir, true)
	if err != nil {
		return -1, &EntryError{Entry: entry, Op: "open parent directory " + strconv.Quote(dir), Err: explain(err)}
	}
	return fd, nil
}

// replace removes whatever is at dir/base so that a new entry can take its
// place, and returns a valid handle on dir: removing a directory or a
// symlink may change what cached names resolve to, so it empties the cache.
func (u *unpacker) replace(entry, dir, base string, pfd int) (int, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return pfd, nil
		}
		return -1, &EntryError{Entry: entry, Op: "inspect existing file", Err: err}
	}
	var err error
	ft := st.Mode & unix.S_IFMT
	if ft == unix.S_IFDIR {
		err = removeTreeAt(pfd, base)
	} else {
		err = unix.Unlinkat(pfd, base, 0)
	}
	if err != nil {
		return -1, &EntryError{Entry: entry, Op: "replace existing file", Err: err}
	}
	if ft == unix.S_IFDIR || ft == unix.S_IFLNK {
		u.t.invalidate()
		return u.parent(entry, dir)
	}
	return pfd, nil
}

func (u *unpacker) file(hdr *tar.Header, name, dir, base string, body io.Reader) error {
	pfd, err := u.parent(hdr.Name, dir)
	if err != nil {
		return err
	}
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(pfd, base, flags, 0o600)
	if err == unix.EEXIST {
		if pfd, err = u.replace(hdr.Name, dir, base, pfd); err != nil {
			return err
		}
		fd, err = unix.Openat(pfd, base, flags, 0o600)
	}
	if err != nil {
		return &EntryError{Entry: hdr.Name, Op: "create file", Err: explain(err)}
	}
	err = u.write(fd, body)
	if err == nil {
		err = u.attrs(fd, hdr)
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = &EntryError{Entry: hdr.Name, Op: "write file", Err: cerr}
	}
	if err != nil {
		return err
	}
	return u.times(pfd, base, hdr)
}

func (u *unpacker) write(fd int, body io.Reader) error {
	for {
		n, rerr := body.Read(u.buf)
		for p := u.buf[:n]; len(p) > 0; {
			w, err := unix.Write(fd, p)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("writing file: %w", explain(err))
			}
			p = p[w:]
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func (u *unpacker) mkdir(hdr *tar.Header, name, dir, base string) error {
	pfd, err := u.parent(hdr.Name, dir)
	if err != nil {
		return err
	}
	err = unix.Mkdirat(pfd, base, 0o700)
	if err == unix.EEXIST {
		var st unix.Stat_t
		if err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if pfd, err = u.replace(hdr.Name, dir, base, pfd); err != nil {
				return err
			}
			err = unix.Mkdirat(pfd, base, 0o700)
		}
	}
	if err != nil {
		return &EntryError{Entry: hdr.Name, Op: "create directory", Err: explain(err)}
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &EntryError{Entry: hdr.Name, Op: "open directory", Err: explain(err)}
	}
	defer unix.Close(fd)
	d := dirTimes{name: name, atime: accessTime(hdr), mtime: hdr.ModTime, mode: mode(hdr)}
	if os.Geteuid() != 0 {
		// Without root's override a directory like 0555 would refuse its
		// own children: keep it writable until the end.
		d.deferMode = true
		hdr.Mode |= 0o700
	}
	u.dirs = append(u.dirs, d)
	return u.attrs(fd, hdr)
}

func (u *unpacker) symlink(hdr *tar.Header, dir, base string) error {
	if hdr.Linkname == "" {
		return &EntryError{Entry: hdr.Name, Op: "create symlink", Err: errors.New("the link target is empty")}
	}
	if len(hdr.Linkname) > u.opts.MaxNameLen {
		return &EntryError{Entry: hdr.Name, Op: "create symlink",
			Err: fmt.Errorf("the link target is %d bytes long, over the limit of %d (unpack.Options.MaxNameLen)", len(hdr.Linkname), u.opts.MaxNameLen)}
	}
	pfd, err := u.parent(hdr.Name, dir)
	if err != nil {
		return err
	}
	err = unix.Symlinkat(hdr.Linkname, pfd, base)
	if err == unix.EEXIST {
		if pfd, err = u.replace(hdr.Name, dir, base, pfd); err != nil {
			return err
		}
		err = unix.Symlinkat(hdr.Linkname, pfd, base)
	}
	if err != nil {
		return &EntryError{Entry: hdr.Name, Op: "create symlink", Err: explain(err)}
	}
	return u.attrsAt(pfd, base, hdr, false)
}

func (u *unpacker) hardlink(hdr *tar.Header, name, dir, base string) error {
	target, err := cleanName(hdr.Linkname, u.opts.MaxNameLen)
	if err != nil {
		return &EntryError{Entry: hdr.Name, Op: "check hard link target " + strconv.Quote(hdr.Linkname), Err: err}
	}
	if target == "." {
		return &EntryError{Entry: hdr.Name, Op: "create hard link", Err: errors.New("it points at the root directory")}
	}
	if target == name {
		return nil // a link to itself changes nothing
	}
	tdir, tbase := split(target)
	link := func() (int, error) {
		pfd, err := u.parent(hdr.Name, dir)
		if err != nil {
			return -1, err
		}
		tfd, err := u.t.dir(tdir, false)
		if err != nil {
			return pfd, &EntryError{Entry: hdr.Name, Op: "create hard link",
				Err: fmt.Errorf("target %q is not in the root filesystem (a hard link may only point at a file already unpacked): %w", hdr.Linkname, explain(err))}
		}
		return pfd, unix.Linkat(tfd, tbase, pfd, base, 0)
	}
	pfd, err := link()
	if err == unix.EEXIST {
		if _, err = u.replace(hdr.Name, dir, base, pfd); err != nil {
			return err
		}
		_, err = link()
	}
	var ee *EntryError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return err
	case err == unix.ENOENT:
		err = fmt.Errorf("target %q does not exist in the root filesystem (a hard link may only point at a file already unpacked)", hdr.Linkname)
	case err == unix.EPERM:
		err = fmt.Errorf("target %q is a directory or may not be linked to: %w", hdr.Linkname, err)
	}
	return &EntryError{Entry: hdr.Name, Op: "create hard link", Err: explain(err)}
}

func (u *unpacker) mknod(hdr *tar.Header, dir, base string) error {
	m := mode(hdr)
	switch hdr.Typeflag {
	case tar.TypeChar:
		m |= unix.S_IFCHR
	case tar.TypeBlock:
		m |= unix.S_IFBLK
	default:
		m |= unix.S_IFIFO
	}
	if hdr.Devmajor < 0 || hdr.Devmajor > 0xfff || hdr.Devminor < 0 || hdr.Devminor > 0xfffff {
		return &EntryError{Entry: hdr.Name, Op: "create " + kind(hdr.Typeflag),
			Err: fmt.Errorf("device number %d:%d is out of range", hdr.Devmajor, hdr.Devminor)}
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	pfd, err := u.parent(hdr.Name, dir)
	if err != nil {
		return err
	}
	err = unix.Mknodat(pfd, base, m, dev)
	if err == unix.EEXIST {
		if pfd, err = u.replace(hdr.Name, dir, base, pfd); err != nil {
			return err
		}
		err = unix.Mknodat(pfd, base, m, dev)
	}
	if err == unix.EPERM && hdr.Typeflag != tar.TypeFifo {
		u.warn("device nodes may not be created here (not root, or in a user namespace)", hdr.Name, true)
		return errSkipped
	}
	if err != nil {
		return &EntryError{Entry: hdr.Name, Op: "create " + kind(hdr.Typeflag), Err: explain(err)}
	}
	return u.attrsAt(pfd, base, hdr, true)
}

// attrs sets owner, mode and extended attributes through an open handle.
func (u *unpacker) attrs(fd int, hdr *tar.Header) error {
	if u.chown {
		if err := u.chownErr(hdr, unix.Fchown(fd, hdr.Uid, hdr.Gid)); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, mode(hdr)); err != nil {
		return &EntryError{Entry: hdr.Name, Op: "set mode", Err: err}
	}
	return u.xattrs(hdr, func(k string, v []byte) error { return unix.Fsetxattr(fd, k, v, 0) })
}

// attrsAt sets owner, mode (unless a symlink), extended attributes and
// times of dirfd/base, never following a symlink at base.
func (u *unpacker) attrsAt(pfd int, base string, hdr *tar.Header, chmod bool) error {
	if u.chown {
		if err := u.chownErr(hdr, unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW)); err != nil {
			return err
		}
	}
	if chmod { // only for device nodes and fifos we just made: no symlink there
		if err := unix.Fchmodat(pfd, base, mode(hdr), 0); err != nil {
			return &EntryError{Entry: hdr.Name, Op: "set mode", Err: err}
		}
	}
	// The kernel resolves the magic link to the directory handle and then
	// base inside it, without following base: still confined.
	p := "/proc/self/fd/" + strconv.Itoa(pfd) + "/" + base
	if err := u.xattrs(hdr, func(k string, v []byte) error { return unix.Lsetxattr(p, k, v, 0) }); err != nil {
		return err
	}
	return u.times(pfd, base, hdr)
}

func (u *unpacker) chownErr(hdr *tar.Header, err error) error {
	if err == nil {
		return nil
	}
	if u.opts.Ownership == OwnershipAuto && (err == unix.EINVAL || err == unix.EPERM) {
		u.warn("owner not set: the uid or gid is not mapped in this user namespace; the entry stays owned by the caller", hdr.Name, false)
		return nil
	}
	return &EntryError{Entry: hdr.Name, Op: fmt.Sprintf("set owner %d:%d", hdr.Uid, hdr.Gid), Err: explain(err)}
}

const xattrPrefix = "SCHILY.xattr."

// xattrs applies the entry's extended attributes with set, dropping
// trusted.overlay.* (which would forge overlayfs metadata such as
// redirects and opaque markers).
func (u *unpacker) xattrs(hdr *tar.Header, set func(string, []byte) error) error {
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, xattrPrefix)
		if !ok {
			continue
		}
		if strings.HasPrefix(attr, "trusted.overlay.") {
			u.opts.Logger.Debug(fmt.Sprintf("unpack: %q: dropping extended attribute %s", hdr.Name, attr))
			continue
		}
		err := set(attr, []byte(v))
		switch err {
		case nil:
		case unix.ENOTSUP, unix.EPERM, unix.EACCES, unix.ENOENT:
			u.warn(fmt.Sprintf("extended attribute %s is not supported or not permitted here; dropped", attr), hdr.Name, false)
		default:
			return &EntryError{Entry: hdr.Name, Op: "set extended attribute " + attr, Err: err}
		}
	}
	return nil
}

func (u *unpacker) times(pfd int, base string, hdr *tar.Header) error {
	err := unix.UtimesNanoAt(pfd, base, timespecs(accessTime(hdr), hdr.ModTime), unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return &EntryError{Entry: hdr.Name, Op: "set times", Err: err}
	}
	return nil
}

func mode(hdr *tar.Header) uint32 { return uint32(hdr.Mode) & 0o7777 }

func accessTime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

func timespecs(atime, mtime time.Time) []unix.Timespec {
	ts := func(t time.Time) unix.Timespec {
		return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
	}
	return []unix.Timespec{ts(atime), ts(mtime)}
}

// explain adds words to the errnos a layer most often meets.
func explain(err error) error {
	switch unwrapErrno(err) {
	case unix.ENOTDIR:
		return fmt.Errorf("%w (a parent is not a directory: a file, or a symlink whose target is missing from the root filesystem)", err)
	case unix.ELOOP:
		return fmt.Errorf("%w (a symlink loop in the root filesystem)", err)
	case unix.EXDEV:
		return fmt.Errorf("%w: %w", err, ErrEscape)
	case unix.ENOSPC:
		return fmt.Errorf("%w (the disk holding the root filesystem is full)", err)
	}
	return err
}
