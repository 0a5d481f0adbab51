package mount

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// entry is one mounts[i] being performed.
type entry struct {
	c     *Config
	r     *root
	index int
	m     specs.Mount
	dest  string // clean, absolute, inside the container
	typ   string // "bind" for bind mounts
	o     options
}

func (e *entry) fail(err error) error {
	return &Error{
		Step:        "mounting",
		Source:      e.m.Source,
		Destination: e.m.Destination,
		Type:        e.typ,
		Field:       fmt.Sprintf("mounts[%d]", e.index),
		Err:         err,
		inUserNS:    e.c.InUserNS,
	}
}

// cleanDest makes a configured destination absolute and clean. Relative
// destinations are taken relative to "/", as runc does.
func cleanDest(p string) string { return path.Clean("/" + p) }

// doMount performs mounts[i].
func doMount(c *Config, r *root, i int, m specs.Mount) error {
	e := &entry{c: c, r: r, index: i, m: m, dest: cleanDest(m.Destination), typ: m.Type, o: parseOptions(m.Options)}
	if e.typ == "bind" {
		e.o.bind = true
	}
	if e.o.bind {
		e.typ = "bind"
	}
	if len(e.o.unsupported) > 0 {
		return e.fail(reasonf(unix.EINVAL, "option %q is not supported by hako", e.o.unsupported[0]))
	}
	if m.Destination == "" {
		return e.fail(reasonf(unix.EINVAL, "the destination is empty"))
	}
	if e.dest == "/" {
		return e.fail(reasonf(unix.EINVAL, "a mount over the container's root is not allowed (set root.path instead)"))
	}
	if e.typ == "" {
		return e.fail(reasonf(unix.EINVAL, "the type is empty and the options hold neither bind nor rbind"))
	}
	if err := e.checkProcSys(); err != nil {
		return e.fail(err)
	}
	var err error
	switch {
	case e.o.bind:
		err = e.bind()
	case e.typ == "cgroup":
		err = e.cgroup()
	case e.o.copyUp:
		err = e.tmpfsCopyUp()
	default:
		err = e.filesystem()
	}
	if err != nil {
		return e.fail(err)
	}
	if err := e.finishFlags(); err != nil {
		return e.fail(err)
	}
	slog.Debug("mounted", "source", m.Source, "destination", e.dest, "type", e.typ)
	return nil
}

// procAllowed are the files under /proc that may be replaced by a mount
// (lxcfs and similar tools fake them); anything else there could hide a
// kernel security interface such as /proc/self/attr or /proc/sys.
var procAllowed = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/pressure/cpu": true, "/proc/pressure/io": true, "/proc/pressure/memory": true,
	"/proc/sys/kernel/ns_last_pid": true, "/proc/sys/crypto/fips_enabled": true,
}

// checkProcSys refuses mounts at or below /proc and /sys when a component
// of the destination in the image is a symlink: a symlinked /proc would
// mount the container's procfs somewhere the image chose (CVE-2019-16884,
// CVE-2019-19921), and the kernel's security files would no longer be
// where the LSM and the masked paths expect them.
func (e *entry) checkProcSys() error {
	top := e.dest
	if i := strings.IndexByte(top[1:], '/'); i >= 0 {
		top = top[:i+1]
	}
	if top != "/proc" && top != "/sys" {
		return nil
	}
	link, target, err := e.r.firstSymlink(e.dest)
	if err != nil {
		return err
	}
	if link != "" {
		return withHint(reasonf(unix.ELOOP, "%s in the rootfs is a symlink (to %q); hako refuses to mount over a symlink below /proc or /sys", link, target),
			"the image must have real directories at /proc and /sys: replace the symlink with an empty directory")
	}
	if top != "/proc" || e.typ == "proc" {
		return nil
	}
	if e.o.bind && isProcfs(e.m.Source) {
		return nil
	}
	if e.dest == "/proc" {
		return withHint(reasonf(unix.EPERM, "only a procfs (type proc, or a bind of one) may be mounted at /proc"),
			"use {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"}")
	}
	if !procAllowed[e.dest] {
		return withHint(reasonf(unix.EPERM, "mounting over %s is not allowed: a mount inside /proc could hide the kernel's security interfaces", e.dest),
			"only /proc/cpuinfo, diskstats, meminfo, stat, swaps, uptime, loadavg, slabinfo, pressure/* and a few sysctls may be replaced; use linux.maskedPaths or linux.readonlyPaths to hide or protect others")
	}
	return nil
}

func isProcfs(p string) bool {
	var st unix.Statfs_t
	return unix.Statfs(p, &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// filesystem mounts a new filesystem instance (proc, sysfs, tmpfs, ...).
func (e *entry) filesystem() error {
	if err := e.r.mkdirAll(e.dest); err != nil {
		return err
	}
	src := e.m.Source
	if src == "" {
		src = e.typ
	}
	err := e.r.at(e.dest, func(t string, _ int) error {
		return unix.Mount(src, t, e.typ, e.o.flags, e.o.dataString())
	})
	if errors.Is(err, unix.EPERM) && e.typ == "sysfs" && e.c.InUserNS {
		// A user namespace that does not own the network namespace may
		// not mount sysfs; the host's /sys, bound read-only, is the
		// usual substitute (runc and crun do the same).
		slog.Debug("sysfs refused in user namespace; binding the host /sys instead", "destination", e.dest)
		e.o.bind, e.o.recursive = true, true
		e.o.flags |= unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
		return e.bindFrom("/sys", true)
	}
	return err
}

// bind performs a bind or rbind mount.
func (e *entry) bind() error {
	st, err := os.Stat(e.m.Source)
	if err != nil {
		return err
	}
	return e.bindFrom(e.m.Source, st.IsDir())
}

func (e *entry) bindFrom(src string, dir bool) error {
	var err error
	if dir {
		err = e.r.mkdirAll(e.dest)
	} else {
		err = e.r.mkfile(e.dest)
	}
	if err != nil {
		return err
	}
	if e.o.flags&unix.MS_REMOUNT != 0 {
		return e.remount()
	}
	flags := uintptr(unix.MS_BIND)
	if e.o.recursive {
		flags |= unix.MS_REC
	}
	if err := e.r.at(e.dest, func(t string, _ int) error { return unix.Mount(src, t, "", flags, "") }); err != nil {
		return err
	}
	// A bind mount ignores every flag but MS_BIND and MS_REC: ro,
	// nosuid, ... take a second, remounting call on the new mount.
	if e.o.flags&settableFlags != 0 || e.o.clear != 0 {
		return e.remount()
	}
	return nil
}

// remount changes the flags of the mount at dest, repeating the flags it
// already has (a user namespace may not drop a flag the host set).
func (e *entry) remount() error {
	return e.r.at(e.dest, func(t string, _ int) error {
		var st unix.Statfs_t
		if err := unix.Statfs(t, &st); err != nil {
			return err
		}
		flags := unix.MS_REMOUNT | unix.MS_BIND | remountFlags(&e.o, statfsToMS(int64(st.Flags)))
		return unix.Mount("", t, "", flags, "")
	})
}

// finishFlags applies the propagation options and the recursive (r*)
// attributes to the new mount.
func (e *entry) finishFlags() error {
	for _, p := range e.o.propagation {
		if err := e.r.at(e.dest, func(t string, _ int) error { return unix.Mount("", t, "", p, "") }); err != nil {
			return err
		}
	}
	if a := e.o.recursiveAttr(); a != nil {
		err := e.r.at(e.dest, func(_ string, fd int) error {
			return unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, a)
		})
		if errors.Is(err, unix.ENOSYS) {
			return reasonf(unix.ENOSYS, "recursive options (rro, rnosuid, ...) need mount_setattr(2), Linux 5.12 or newer")
		}
		return err
	}
	return nil
}
