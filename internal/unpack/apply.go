package unpack

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type tarApplier struct{}

// unpacker is the state of one Apply.
type unpacker struct {
	t       *tree
	opts    Options
	chown   bool
	buf     []byte
	created map[string]struct{} // names this layer wrote, with their parents
	dirs    []dirTimes          // directory times, set at the end
	warns   map[string]int      // warnings by kind
	first   map[string]string   // first entry of each warning kind
	skipped int
}

type dirTimes struct {
	name         string
	atime, mtime time.Time
	mode         uint32
	deferMode    bool // set the mode at the end (not root: keep it writable until then)
}

func (tarApplier) Apply(ctx context.Context, rootfs string, layer io.Reader, opts Options) (st Stats, err error) {
	opts = opts.withDefaults()
	t, err := openTree(rootfs)
	if err != nil {
		return st, err
	}
	defer t.close()
	dr, comp, err := decompress(layer)
	if err != nil {
		return st, err
	}
	defer dr.Close()
	st.Compression = comp
	lr := &limitReader{r: dr, max: opts.MaxBytes}
	defer func() { st.Bytes = lr.n }()

	u := &unpacker{
		t: t, opts: opts,
		chown:   opts.Ownership == OwnershipAlways || opts.Ownership == OwnershipAuto && os.Geteuid() == 0,
		buf:     make([]byte, 1<<20),
		created: map[string]struct{}{},
		warns:   map[string]int{},
		first:   map[string]string{},
	}
	defer u.summary(&st)
	tr := tar.NewReader(lr)
	last := ""
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil {
			err = nil // names are checked below, by our own rules
		}
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return st, le
			}
			if last == "" {
				return st, fmt.Errorf("reading layer: not a valid tar archive: %w", err)
			}
			return st, fmt.Errorf("reading layer after entry %q: %w", last, err)
		}
		st.Entries++
		if st.Entries > opts.MaxEntries {
			return st, &LimitError{What: "entry count", Limit: int64(opts.MaxEntries), Field: "MaxEntries"}
		}
		last = hdr.Name
		if err := u.entry(hdr, tr); err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return st, le
			}
			return st, err
		}
	}
	// Read what follows the end-of-archive marker, so that a compressed
	// stream's checksum is verified and the caller can check the digest.
	if _, err := io.CopyBuffer(io.Discard, lr, u.buf); err != nil {
		return st, fmt.Errorf("reading the end of the layer: %w", err)
	}
	return st, u.finish()
}

// entry applies one tar entry.
func (u *unpacker) entry(hdr *tar.Header, body io.Reader) error {
	u.t.trim()
	name, err := cleanName(hdr.Name, u.opts.MaxNameLen)
	if err != nil {
		return &EntryError{Entry: hdr.Name, Op: "check name", Err: err}
	}
	if name == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil // the root directory belongs to the caller
		}
		return &EntryError{Entry: hdr.Name, Op: "check name",
			Err: fmt.Errorf("a %s may not replace the root directory", kind(hdr.Typeflag))}
	}
	dir, base := split(name)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(hdr.Name, dir, base)
	}
	if hdr.Uid < 0 || hdr.Uid > maxID || hdr.Gid < 0 || hdr.Gid > maxID {
		return &EntryError{Entry: hdr.Name, Op: "check owner",
			Err: fmt.Errorf("uid %d / gid %d is out of range (0 to %d): refusing it rather than let it wrap into another id", hdr.Uid, hdr.Gid, maxID)}
	}
	switch hdr.Typeflag {
	case tar.TypeReg, '\x00', tar.TypeGNUSparse, tar.TypeCont:
		err = u.file(hdr, name, dir, base, body)
	case tar.TypeDir:
		err = u.mkdir(hdr, name, dir, base)
	case tar.TypeSymlink:
		err = u.symlink(hdr, dir, base)
	case tar.TypeLink:
		err = u.hardlink(hdr, name, dir, base)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		err = u.mknod(hdr, dir, base)
	default:
		u.warn(fmt.Sprintf("unknown entry type %q", hdr.Typeflag), hdr.Name, true)
		return nil
	}
	if err == errSkipped {
		return nil
	}
	if err != nil {
		return err
	}
	u.markCreated(name)
	return nil
}

// cleanName turns a tar name into a cleaned path relative to the root, or
// says why it cannot be one.
func cleanName(raw string, maxLen int) (string, error) {
	if raw == "" {
		return "", errors.New("the name is empty")
	}
	if len(raw) > maxLen {
		return "", fmt.Errorf("the name is %d bytes long, over the limit of %d (unpack.Options.MaxNameLen)", len(raw), maxLen)
	}
	if strings.IndexByte(raw, 0) >= 0 {
		return "", errors.New("the name contains a NUL byte")
	}
	name := path.Clean(strings.TrimLeft(raw, "/"))
	if name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("the name climbs out with \"..\": %w", ErrEscape)
	}
	for c := range strings.SplitSeq(name, "/") {
		if len(c) > maxComponentLen {
			return "", fmt.Errorf("component %.20q... is %d bytes long, over the file system limit of %d", c, len(c), maxComponentLen)
		}
	}
	return name, nil
}

func kind(t byte) string {
	switch t {
	case tar.TypeReg, '\x00':
		return "regular file"
	case tar.TypeDir:
		return "directory"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("entry of type %q", t)
}

// markCreated records name and its parents as written by this layer, so
// that an opaque whiteout later in the layer keeps them.
func (u *unpacker) markCreated(name string) {
	for name != "." && name != "/" && name != "" {
		if _, ok := u.created[name]; ok {
			return
		}
		u.created[name] = struct{}{}
		name = path.Dir(name)
	}
}

// warn records a warning about an entry (skip: the entry was not applied).
// The first of each kind is logged as a warning, the others at debug level,
// and a count at the end.
func (u *unpacker) warn(kind, entry string, skip bool) {
	if skip {
		u.skipped++
	}
	u.warns[kind]++
	msg := fmt.Sprintf("unpack: layer entry %q: %s", entry, kind)
	if skip {
		msg = fmt.Sprintf("unpack: skipping layer entry %q: %s", entry, kind)
	}
	if u.warns[kind] == 1 {
		u.first[kind] = entry
		u.opts.Logger.Warn(msg)
		return
	}
	u.opts.Logger.Debug(msg)
}

func (u *unpacker) summary(st *Stats) {
	st.Skipped = u.skipped
	for kind, n := range u.warns {
		st.Warnings += n
		if n > 1 {
			u.opts.Logger.Warn(fmt.Sprintf("unpack: %d layer entries (the first %q): %s", n, u.first[kind], kind))
		}
	}
}

// finish sets directory times, after every child was written.
func (u *unpacker) finish() error {
	for _, d := range u.dirs {
		u.t.trim()
		dir, base := split(d.name)
		pfd, err := u.t.dir(dir, false)
		if err != nil {
			continue // removed later in the layer
		}
		if d.deferMode {
			fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				err = unix.Fchmod(fd, d.mode)
				unix.Close(fd)
			}
			if err != nil && err != unix.ENOENT && err != unix.ENOTDIR && err != unix.ELOOP {
				return &EntryError{Entry: d.name, Op: "set mode", Err: err}
			}
		}
		err = unix.UtimesNanoAt(pfd, base, timespecs(d.atime, d.mtime), unix.AT_SYMLINK_NOFOLLOW)
		if err != nil && err != unix.ENOENT {
			return &EntryError{Entry: d.name, Op: "set times", Err: err}
		}
	}
	return nil
}
