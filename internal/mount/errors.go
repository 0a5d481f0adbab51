package mount

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Error is every error this package returns for a configured object: it
// names the step that failed, the object as written in config.json and its
// JSON path, and wraps the cause (usually a unix.Errno, so that errors.Is
// works on it).
type Error struct {
	Step        string // "mounting", "creating device", "masking", "making read-only", "pivot_root", ...
	Source      string // mounts[i].source, a device's host node, ...
	Destination string // the path inside the container, as written in config.json
	Type        string // mounts[i].type or the device type
	Field       string // JSON path of the offending object, e.g. mounts[3], linux.devices[0]
	Err         error  // the cause; usually wraps a unix.Errno
	Hint        string // what to do next; filled from the errno when empty
	inUserNS    bool
}

func (e *Error) Unwrap() error { return e.Err }

// Error formats as
//
//	mounting "proc" to rootfs at "/proc" (mounts[0]): permission denied (EACCES) — hint: …
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Step)
	switch {
	case e.Step == "mounting" || e.Step == "remounting":
		fmt.Fprintf(&b, " %q to rootfs at %q", e.Source, e.Destination)
	case e.Destination != "":
		fmt.Fprintf(&b, " %q", e.Destination)
	case e.Source != "":
		fmt.Fprintf(&b, " %q", e.Source)
	}
	var extra []string
	if e.Field != "" {
		extra = append(extra, e.Field)
	}
	if e.Type != "" && e.Type != "bind" && e.Step != "mounting" {
		extra = append(extra, "type "+e.Type)
	}
	if len(extra) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(extra, ", "))
	}
	b.WriteString(": ")
	b.WriteString(describe(e.Err))
	if h := e.hint(); h != "" {
		b.WriteString(" — hint: ")
		b.WriteString(h)
	}
	return b.String()
}

// describe prints an error with its errno name appended, e.g.
// "no such device (ENODEV)".
func describe(err error) string {
	if err == nil {
		return "unknown error"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return fmt.Sprintf("%s (%s)", err.Error(), name)
		}
	}
	return err.Error()
}

func (e *Error) hint() string {
	if e.Hint != "" {
		return e.Hint
	}
	var r *reason
	if errors.As(e.Err, &r) && r.hint != "" {
		return r.hint
	}
	var errno unix.Errno
	if !errors.As(e.Err, &errno) {
		return ""
	}
	bind := e.Type == "bind"
	switch errno {
	case unix.ENOENT:
		if bind {
			return "the bind source must exist on the host"
		}
		if e.Step == "creating device" {
			return "the host has no such device node to bind-mount"
		}
		return "a path named in the configuration does not exist"
	case unix.EPERM:
		if e.inUserNS {
			return "the process is in a user namespace: the kernel refuses mknod, mounting proc/sysfs/mqueue without owning the matching namespace, and clearing flags (ro, nosuid, nodev, noexec) that the source mount already has"
		}
		return "the operation needs CAP_SYS_ADMIN in the container's user namespace, or an LSM (AppArmor, SELinux) denied it"
	case unix.EACCES:
		return "a directory on the way is not searchable or writable by the container's root, or an LSM denied it"
	case unix.ENODEV:
		return fmt.Sprintf("the kernel does not know filesystem type %q: see /proc/filesystems (a module may be missing)", e.Type)
	case unix.ENOTDIR:
		return "a file and a directory are mixed up: the source and destination must both be files or both be directories, and every parent of the destination must be a directory"
	case unix.EISDIR:
		return "a file and a directory are mixed up: the destination is a directory but the source is a file"
	case unix.EINVAL:
		if e.Field != "" && strings.HasPrefix(e.Field, "mounts[") {
			return fmt.Sprintf("the kernel refused the mount options: check %s.options and %s.type", e.Field, e.Field)
		}
		return "the kernel refused the arguments (bad options, or the target is not a mount point)"
	case unix.EBUSY:
		return "the target is busy or already mounted"
	case unix.EROFS:
		return "the parent filesystem is read-only: create the destination in the image, or mount a tmpfs above it first"
	case unix.ELOOP:
		return "symlinks in the rootfs are not followed for this path; fix the image"
	case unix.EXDEV:
		return "the path left the container's rootfs through a symlink or bind mount"
	case unix.ENOSYS:
		return "the running kernel is too old for this feature"
	}
	return ""
}

// reason is an error of this package's own with a message and the errno it
// stands for, so that errors.Is(err, unix.EXXX) works.
type reason struct {
	msg   string
	errno unix.Errno
	hint  string // overrides the errno's generic hint
}

func (r *reason) Error() string { return r.msg }
func (r *reason) Unwrap() error { return r.errno }

func reasonf(errno unix.Errno, format string, args ...any) error {
	return &reason{msg: fmt.Sprintf(format, args...), errno: errno}
}

// withHint sets the hint of a reasonf error.
func withHint(err error, hint string) error {
	if r, ok := err.(*reason); ok {
		r.hint = hint
	}
	return err
}
