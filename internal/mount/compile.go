package mount

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"syscall"
	"unsafe"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sysprog"
)

// ErrNotCompiled means the configuration uses something only the Go init
// can set up; the reason follows the colon.
var ErrNotCompiled = errors.New("not expressible as a setup program")

func notCompiled(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotCompiled, fmt.Sprintf(format, args...))
}

// Stages are the points where the caller adds its own ops to the program.
type Stages struct {
	// Cgroup comes before the first cgroup or cgroup2 mount, or, when
	// there is none, after every mount and device: wait for the cgroup,
	// unshare the cgroup namespace. Everything before it overlaps with
	// the parent's work on the cgroup.
	Cgroup   func()
	PrePivot func() // after every mount and device, before pivot_root: createRuntime hooks
}

// Compile appends to p what [Prepare], [PivotRoot] and [Finish] do, as a
// program for a child that has a new mount namespace (see package
// sysprog). It runs the checks that need no container in the parent, now,
// and returns their errors; errors of the child come back through the
// ops' Fail functions as the same [*Error]s. It returns an error wrapping
// ErrNotCompiled for what only the Go init handles (--no-pivot, a user
// namespace, tmpcopyup, a cgroup mount without a cgroup namespace).
func Compile(c *Config, p *sysprog.Program, st Stages) error {
	switch {
	case c.NoPivot:
		return notCompiled("--no-pivot")
	case c.InUserNS:
		return notCompiled("a user namespace")
	}
	if err := c.checkRootfs(); err != nil {
		return err
	}
	k := &compiler{c: c, p: p}
	plans := make([]*entry, len(c.Mounts))
	devBound := false
	for i, m := range c.Mounts {
		e, err := k.plan(i, m)
		if err != nil {
			return err
		}
		plans[i] = e
		if e.dest == "/dev" && e.o.bind {
			devBound = true
		}
	}
	var cgroups []hierarchy
	for _, e := range plans {
		if e.typ == "cgroup" && !e.o.bind && !cgroup2Only() {
			if !c.CgroupNS {
				return notCompiled("a cgroup mount without a cgroup namespace")
			}
			if cgroups == nil {
				self, err := os.ReadFile("/proc/self/cgroup")
				if err != nil {
					return err
				}
				mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
				if err != nil {
					return err
				}
				cgroups = planCgroups(self, mounts)
			}
		}
	}

	start := uintptr(unix.MS_REC | unix.MS_PRIVATE)
	switch c.Propagation {
	case "slave", "rslave", "shared", "rshared":
		start = unix.MS_REC | unix.MS_SLAVE
	}
	p.Call(fixed(&Error{Step: "setting mount propagation of", Destination: "/", Field: "linux.rootfsPropagation"}),
		unix.SYS_MOUNT, sysprog.Imm(0), p.Str("/"), sysprog.Imm(0), sysprog.Imm(start), sysprog.Imm(0))
	p.Call(fixed(&Error{Step: "bind-mounting the rootfs onto itself", Destination: c.Rootfs, Field: "root.path"}),
		unix.SYS_MOUNT, p.Str(c.Rootfs), p.Str(c.Rootfs), sysprog.Imm(0), sysprog.Imm(unix.MS_BIND|unix.MS_REC), sysprog.Imm(0))
	k.root = p.Result(fixed(&Error{Step: "opening the rootfs", Destination: c.Rootfs, Field: "root.path"}),
		unix.SYS_OPENAT, sysprog.Imm(atFDCWD), p.Str(c.Rootfs), sysprog.Imm(unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC), sysprog.Imm(0))
	cgroupDone := st.Cgroup == nil
	for _, e := range plans {
		if !cgroupDone && (e.typ == "cgroup" || e.typ == "cgroup2") {
			st.Cgroup()
			cgroupDone = true
		}
		if err := k.mount(e, cgroups); err != nil {
			return err
		}
	}
	if err := k.devices(!devBound); err != nil {
		return err
	}
	if !cgroupDone {
		st.Cgroup()
	}
	if st.PrePivot != nil {
		st.PrePivot()
	}
	k.pivot()
	k.finish()
	return nil
}

// atFDCWD is AT_FDCWD as a syscall argument.
const atFDCWD = ^uintptr(99)

type compiler struct {
	c    *Config
	p    *sysprog.Program
	root sysprog.Reg
}

// fixed returns a Fail filling in a copy of e with the errno.
func fixed(e *Error) sysprog.Fail {
	return func(errno syscall.Errno) error {
		c := *e
		c.Err = errno
		return &c
	}
}

// plan runs the checks of doMount that need nothing but the configuration
// and the host.
func (k *compiler) plan(i int, m specs.Mount) (*entry, error) {
	e := &entry{c: k.c, index: i, m: m, dest: cleanDest(m.Destination), typ: m.Type, o: parseOptions(m.Options)}
	if e.typ == "bind" {
		e.o.bind = true
	}
	if e.o.bind {
		e.typ = "bind"
	}
	if len(e.o.unsupported) > 0 {
		return nil, e.fail(reasonf(unix.EINVAL, "option %q is not supported by hako", e.o.unsupported[0]))
	}
	if m.Destination == "" {
		return nil, e.fail(reasonf(unix.EINVAL, "the destination is empty"))
	}
	if e.dest == "/" {
		return nil, e.fail(reasonf(unix.EINVAL, "a mount over the container's root is not allowed (set root.path instead)"))
	}
	if e.typ == "" {
		return nil, e.fail(reasonf(unix.EINVAL, "the type is empty and the options hold neither bind nor rbind"))
	}
	if e.o.copyUp {
		return nil, notCompiled("tmpcopyup")
	}
	if e.o.flags&unix.MS_REMOUNT != 0 {
		return nil, notCompiled("remount")
	}
	if e.o.flags&^(attrFlags|unix.MS_RDONLY) != 0 {
		return nil, notCompiled("superblock flags %#x", e.o.flags&^attrFlags)
	}
	if e.o.clear&^attrFlags != 0 {
		return nil, notCompiled("cleared superblock flags %#x", e.o.clear&^attrFlags)
	}
	if top := topDir(e.dest); top == "/proc" && e.typ != "proc" {
		if e.o.bind && isProcfs(e.m.Source) {
			return e, nil
		}
		if e.dest == "/proc" {
			return nil, e.fail(withHint(reasonf(unix.EPERM, "only a procfs (type proc, or a bind of one) may be mounted at /proc"),
				"use {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"}"))
		}
		if !procAllowed[e.dest] {
			return nil, e.fail(withHint(reasonf(unix.EPERM, "mounting over %s is not allowed: a mount inside /proc could hide the kernel's security interfaces", e.dest),
				"only /proc/cpuinfo, diskstats, meminfo, stat, swaps, uptime, loadavg, slabinfo, pressure/* and a few sysctls may be replaced; use linux.maskedPaths or linux.readonlyPaths to hide or protect others"))
		}
	}
	if e.o.bind {
		if _, err := os.Stat(e.m.Source); err != nil {
			return nil, e.fail(err)
		}
	}
	return e, nil
}

// attrFlags are the MS_* flags that are attributes of a mount (not of a
// filesystem instance): mount_setattr(2) and fsmount(2) set them.
const attrFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | atimeFlags | unix.MS_NODIRATIME | unix.MS_NOSYMFOLLOW

func topDir(dest string) string {
	if i := strings.IndexByte(dest[1:], '/'); i >= 0 {
		return dest[:i+1]
	}
	return dest
}

// mountAttrs converts MS_* mount flags into MOUNT_ATTR_* bits.
func mountAttrs(f uintptr) uint64 {
	var a uint64
	for _, m := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME}, {unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME}, {unix.MS_NOSYMFOLLOW, unix.MOUNT_ATTR_NOSYMFOLLOW},
	} {
		if f&m.ms != 0 {
			a |= m.attr
		}
	}
	return a
}

// how returns an open_how argument pair (pointer, size) for openat2.
func (k *compiler) how(flags uint64, resolve uint64) (sysprog.Arg, sysprog.Arg) {
	return sysprog.Value(k.p, &unix.OpenHow{Flags: flags, Resolve: resolve}), sysprog.Imm(unix.SizeofOpenHow)
}

func rel(dest string) string {
	r := strings.TrimPrefix(dest, "/")
	if r == "" {
		return "."
	}
	return r
}

func resolveFlags(dest string) uint64 {
	r := uint64(unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS)
	if t := topDir(dest); t == "/proc" || t == "/sys" {
		// A symlink on the way to /proc or /sys would let the image choose
		// where the kernel's files appear (CVE-2019-16884, CVE-2019-19921).
		r |= unix.RESOLVE_NO_SYMLINKS
	}
	return r
}

// open resolves dest inside the rootfs as if chrooted there.
func (k *compiler) open(fail sysprog.Fail, dest string, flags uint64) sysprog.Reg {
	h, n := k.how(flags|unix.O_PATH|unix.O_CLOEXEC, resolveFlags(dest))
	return k.p.Result(fail, unix.SYS_OPENAT2, sysprog.R(k.root), k.p.Str(rel(dest)), h, n)
}

func (k *compiler) close(r sysprog.Reg) { k.p.Call(nil, unix.SYS_CLOSE, sysprog.R(r)) }

// mkdirAll creates every missing directory of dest inside the rootfs; with
// file, the last component is created as an empty file.
func (k *compiler) mkdirAll(fail sysprog.Fail, dest string, file bool) {
	parts := strings.Split(strings.TrimPrefix(dest, "/"), "/")
	dir := "/"
	for i, name := range parts {
		d := k.open(fail, dir, unix.O_DIRECTORY)
		if i == len(parts)-1 && file {
			k.p.Call(fail, unix.SYS_MKNODAT, sysprog.R(d), k.p.Str(name), sysprog.Imm(unix.S_IFREG|0o644), sysprog.Imm(0))
		} else {
			k.p.Call(fail, unix.SYS_MKDIRAT, sysprog.R(d), k.p.Str(name), sysprog.Imm(0o755))
		}
		k.p.Tolerate(unix.EEXIST)
		k.close(d)
		dir = path.Join(dir, name)
	}
}

func (e *entry) failFn() sysprog.Fail {
	return func(errno syscall.Errno) error {
		var err error = errno
		if errno == unix.ELOOP {
			if t := topDir(e.dest); t == "/proc" || t == "/sys" {
				err = withHint(reasonf(unix.ELOOP, "a component of %s in the rootfs is a symlink; hako refuses to mount over a symlink below /proc or /sys", e.dest),
					"the image must have real directories at /proc and /sys: replace the symlink with an empty directory")
			}
		}
		return e.fail(err)
	}
}

// mount compiles mounts[i].
func (k *compiler) mount(e *entry, cgroups []hierarchy) error {
	fail := e.failFn()
	p := k.p
	var m sysprog.Reg // the new mount, detached until moved
	switch {
	case e.o.bind:
		st, err := os.Stat(e.m.Source)
		if err != nil {
			return e.fail(err)
		}
		k.mkdirAll(fail, e.dest, !st.IsDir())
		flags := uintptr(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
		if e.o.recursive {
			flags |= unix.AT_RECURSIVE
		}
		m = p.Result(fail, unix.SYS_OPEN_TREE, sysprog.Imm(atFDCWD), p.Str(e.m.Source), sysprog.Imm(flags))
		if set, clr := mountAttrs(e.o.flags), mountAttrs(e.o.clear); set != 0 || clr != 0 {
			a := &unix.MountAttr{Attr_set: set, Attr_clr: clr}
			if e.o.flags&atimeFlags != 0 {
				a.Attr_clr |= unix.MOUNT_ATTR__ATIME
			}
			k.setattr(fail, m, a, false)
		}
	case e.typ == "cgroup" && cgroup2Only():
		k.mkdirAll(fail, e.dest, false)
		m = k.fsmount(fail, "cgroup2", "cgroup2", e.o.data, e.o.flags)
	case e.typ == "cgroup":
		return k.cgroupV1(e, cgroups)
	default:
		k.mkdirAll(fail, e.dest, false)
		src := e.m.Source
		if src == "" {
			src = e.typ
		}
		m = k.fsmount(fail, e.typ, src, e.o.data, e.o.flags)
	}
	k.attach(fail, m, e.dest)
	if len(e.o.propagation) > 0 || e.o.recursiveAttr() != nil {
		for _, pr := range e.o.propagation {
			k.setattr(fail, m, &unix.MountAttr{Propagation: uint64(pr &^ unix.MS_REC)}, pr&unix.MS_REC != 0)
		}
		if a := e.o.recursiveAttr(); a != nil {
			k.setattr(fail, m, a, true)
		}
	}
	k.close(m)
	return nil
}

// attach moves the detached mount m onto dest in the rootfs.
func (k *compiler) attach(fail sysprog.Fail, m sysprog.Reg, dest string) {
	t := k.open(fail, dest, 0)
	k.p.Call(fail, unix.SYS_MOVE_MOUNT, sysprog.R(m), k.p.Str(""), sysprog.R(t), k.p.Str(""),
		sysprog.Imm(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
	k.close(t)
}

func (k *compiler) setattr(fail sysprog.Fail, m sysprog.Reg, a *unix.MountAttr, recursive bool) {
	flags := uintptr(unix.AT_EMPTY_PATH)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	k.p.Call(fail, unix.SYS_MOUNT_SETATTR, sysprog.R(m), k.p.Str(""), sysprog.Imm(flags),
		sysprog.Value(k.p, a), sysprog.Imm(sizeofMountAttr))
}

// fsmount creates a detached mount of a new fstype instance with the
// filesystem options data and the mount flags.
func (k *compiler) fsmount(fail sysprog.Fail, fstype, source string, data []string, flags uintptr) sysprog.Reg {
	p := k.p
	fc := p.Result(fail, unix.SYS_FSOPEN, p.Str(fstype), sysprog.Imm(unix.FSOPEN_CLOEXEC))
	p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_SET_STRING), p.Str("source"), p.Str(source), sysprog.Imm(0))
	for _, d := range data {
		key, val, hasVal := strings.Cut(d, "=")
		if hasVal {
			p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_SET_STRING), p.Str(key), p.Str(val), sysprog.Imm(0))
		} else {
			p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_SET_FLAG), p.Str(key), sysprog.Imm(0), sysprog.Imm(0))
		}
	}
	p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_CMD_CREATE), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	m := p.Result(fail, unix.SYS_FSMOUNT, sysprog.R(fc), sysprog.Imm(unix.FSMOUNT_CLOEXEC), sysprog.Imm(mountAttrs(flags)))
	k.close(fc)
	return m
}

// cgroupV1 compiles a "cgroup" mount on a v1 or hybrid host in a cgroup
// namespace: a tmpfs with a fresh mount of every hierarchy, links for
// co-mounted controllers, and the tmpfs made read-only last.
func (k *compiler) cgroupV1(e *entry, hs []hierarchy) error {
	fail := e.failFn()
	p := k.p
	k.mkdirAll(fail, e.dest, false)
	tm := k.fsmount(fail, "tmpfs", "cgroup", []string{"mode=755"}, e.o.flags&^unix.MS_RDONLY)
	k.attach(fail, tm, e.dest)
	dir := k.open(fail, e.dest, unix.O_DIRECTORY)
	for _, h := range hs {
		hfail := func(errno syscall.Errno) error {
			return e.fail(reasonf(errno, "mounting cgroup hierarchy %q at %s: %v", h.options, path.Join(e.dest, h.dir), errno))
		}
		p.Call(hfail, unix.SYS_MKDIRAT, sysprog.R(dir), p.Str(h.dir), sysprog.Imm(0o755))
		p.Tolerate(unix.EEXIST)
		var data []string
		if h.options != "" {
			data = strings.Split(h.options, ",")
		}
		m := k.fsmount(hfail, h.fstype, h.fstype, data, e.o.flags&^unix.MS_REMOUNT)
		t := p.Result(hfail, unix.SYS_OPENAT, sysprog.R(dir), p.Str(h.dir), sysprog.Imm(unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC), sysprog.Imm(0))
		p.Call(hfail, unix.SYS_MOVE_MOUNT, sysprog.R(m), p.Str(""), sysprog.R(t), p.Str(""),
			sysprog.Imm(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
		k.close(t)
		k.close(m)
		for _, l := range h.links {
			p.Call(hfail, unix.SYS_SYMLINKAT, p.Str(h.dir), sysprog.R(dir), p.Str(l))
			p.Tolerate(unix.EEXIST)
		}
	}
	k.close(dir)
	if e.o.flags&unix.MS_RDONLY != 0 {
		k.setattr(fail, tm, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}, false)
	}
	k.close(tm)
	return nil
}

// devices compiles createDevices and devLinks.
func (k *compiler) devices(defaults bool) error {
	p := k.p
	configured := map[string]bool{}
	for _, d := range k.c.Devices {
		configured[path.Clean(d.Path)] = true
	}
	type dev struct {
		d     specs.LinuxDevice
		field string
	}
	var list []dev
	if defaults {
		for _, d := range defaultDevices {
			if !configured[d.Path] {
				list = append(list, dev{d, ""})
			}
		}
	}
	for i, d := range k.c.Devices {
		list = append(list, dev{d, fmt.Sprintf("linux.devices[%d]", i)})
	}
	if len(list) > 0 {
		// mknod applies the umask; the modes must be exactly as configured.
		p.Call(nil, unix.SYS_UMASK, sysprog.Imm(0))
	}
	for _, d := range list {
		e := &Error{Step: "creating device", Destination: d.d.Path, Source: d.d.Path, Type: d.d.Type, Field: d.field}
		pth, err := checkDevicePath(d.d.Path)
		if err == nil {
			_, err = deviceType(d.d.Type)
		}
		if err != nil {
			e.Err = err
			return e
		}
		ft, _ := deviceType(d.d.Type)
		fail := fixed(e)
		dir, base := path.Split(pth)
		dir = path.Clean(dir)
		k.mkdirAll(fail, dir, false)
		dfd := k.open(fail, dir, unix.O_DIRECTORY)
		mode := uint32(0o666)
		if d.d.FileMode != nil {
			mode = uint32(d.d.FileMode.Perm())
		}
		p.Call(fail, unix.SYS_MKNODAT, sysprog.R(dfd), p.Str(base), sysprog.Imm(ft|mode), sysprog.Imm(unix.Mkdev(uint32(d.d.Major), uint32(d.d.Minor))))
		p.Tolerate(unix.EEXIST)
		uid, gid := 0, 0
		if d.d.UID != nil {
			uid = int(*d.d.UID)
		}
		if d.d.GID != nil {
			gid = int(*d.d.GID)
		}
		if uid != 0 || gid != 0 {
			p.Call(fail, unix.SYS_FCHOWNAT, sysprog.R(dfd), p.Str(base), sysprog.Imm(uid), sysprog.Imm(gid), sysprog.Imm(unix.AT_SYMLINK_NOFOLLOW))
		}
		k.close(dfd)
	}
	if len(list) > 0 {
		p.Call(nil, unix.SYS_UMASK, sysprog.Imm(0o022))
	}
	if !defaults {
		return nil
	}
	lfail := fixed(&Error{Step: "creating symlinks in", Destination: "/dev"})
	k.mkdirAll(lfail, "/dev", false)
	dfd := k.open(lfail, "/dev", unix.O_DIRECTORY)
	links := devSymlinks
	if _, err := os.Stat("/proc/kcore"); err == nil {
		links = append(links, [2]string{"core", "/proc/kcore"})
	}
	p.Call(lfail, unix.SYS_UNLINKAT, sysprog.R(dfd), p.Str("ptmx"), sysprog.Imm(0))
	p.Tolerate(unix.ENOENT)
	links = append(links, [2]string{"ptmx", "pts/ptmx"})
	for _, l := range links {
		p.Call(lfail, unix.SYS_SYMLINKAT, p.Str(l[1]), sysprog.R(dfd), p.Str(l[0]))
		p.Tolerate(unix.EEXIST)
	}
	k.close(dfd)
	return nil
}

// pivot compiles pivotRoot and the root's propagation.
func (k *compiler) pivot() {
	p := k.p
	c := k.c
	f := func(step string) sysprog.Fail {
		return fixed(&Error{Step: step, Destination: c.Rootfs, Field: "root.path"})
	}
	old := p.Result(f("opening the old root"), unix.SYS_OPENAT, sysprog.Imm(atFDCWD), p.Str("/"), sysprog.Imm(unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC), sysprog.Imm(0))
	p.Call(f("entering the rootfs"), unix.SYS_FCHDIR, sysprog.R(k.root))
	pf := func(errno syscall.Errno) error {
		e := &Error{Step: "pivot_root", Destination: c.Rootfs, Field: "root.path", Err: errno}
		if errno == unix.EINVAL {
			e.Hint = "pivot_root needs the rootfs to be a mount point whose parent is not shared, and a root that is not the initramfs; use --no-pivot when running from an initramfs"
		}
		return e
	}
	p.Call(pf, unix.SYS_PIVOT_ROOT, p.Str("."), p.Str("."))
	p.Call(f("entering the old root"), unix.SYS_FCHDIR, sysprog.R(old))
	p.Call(f("making the old root a slave"), unix.SYS_MOUNT, sysprog.Imm(0), p.Str("."), sysprog.Imm(0), sysprog.Imm(unix.MS_SLAVE|unix.MS_REC), sysprog.Imm(0))
	p.Call(f("unmounting the old root"), unix.SYS_UMOUNT2, p.Str("."), sysprog.Imm(unix.MNT_DETACH))
	p.Call(f("entering the new root"), unix.SYS_CHDIR, p.Str("/"))
	k.close(old)
	k.close(k.root)
	if c.Propagation != "" {
		flag, _ := propagationFlag(c.Propagation)
		p.Call(fixed(&Error{Step: "setting root propagation", Destination: "/", Field: "linux.rootfsPropagation"}),
			unix.SYS_MOUNT, sysprog.Imm(0), p.Str("/"), sysprog.Imm(0), sysprog.Imm(flag), sysprog.Imm(0))
	}
}

// finish compiles Finish: masked paths, read-only paths, a read-only root.
func (k *compiler) finish() {
	p := k.p
	c := k.c
	if len(c.MaskedPaths) > 0 {
		nf := fixed(&Error{Step: "masking", Destination: "/dev/null", Field: "linux.maskedPaths"})
		null := p.Result(nf, unix.SYS_OPENAT, sysprog.Imm(atFDCWD), p.Str("/dev/null"), sysprog.Imm(unix.O_PATH|unix.O_CLOEXEC), sysprog.Imm(0))
		p.CheckNull(func(errno syscall.Errno) error {
			return &Error{Step: "masking", Destination: "/dev/null", Field: "linux.maskedPaths",
				Err: reasonf(errno, "/dev/null in the container is not the null device (char 1:3)")}
		}, null)
		for i, mp := range c.MaskedPaths {
			p.Mask(fixed(&Error{Step: "masking", Destination: mp, Field: fmt.Sprintf("linux.maskedPaths[%d]", i)}), cleanDest(mp), null)
		}
		k.close(null)
	}
	for i, rp := range c.ReadonlyPaths {
		fail := fixed(&Error{Step: "making read-only", Destination: rp, Field: fmt.Sprintf("linux.readonlyPaths[%d]", i)})
		dest := cleanDest(rp)
		t := p.Result(fail, unix.SYS_OPEN_TREE, sysprog.Imm(atFDCWD), p.Str(dest), sysprog.Imm(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE))
		p.Tolerate(unix.ENOENT, unix.ENOTDIR)
		a := sysprog.Value(p, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
		const body = 5 // setattr, open, move, close, close
		p.SkipIfZero(t, body)
		p.Call(fail, unix.SYS_MOUNT_SETATTR, sysprog.R(t), p.Str(""), sysprog.Imm(unix.AT_EMPTY_PATH|unix.AT_RECURSIVE), a, sysprog.Imm(sizeofMountAttr))
		d := p.Result(fail, unix.SYS_OPENAT, sysprog.Imm(atFDCWD), p.Str(dest), sysprog.Imm(unix.O_PATH|unix.O_CLOEXEC), sysprog.Imm(0))
		p.Call(fail, unix.SYS_MOVE_MOUNT, sysprog.R(t), p.Str(""), sysprog.R(d), p.Str(""), sysprog.Imm(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
		k.close(d)
		k.close(t)
	}
	if c.Readonly {
		a := sysprog.Value(p, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
		p.Call(fixed(&Error{Step: "making the root read-only", Destination: "/", Field: "root.readonly"}),
			unix.SYS_MOUNT_SETATTR, sysprog.Imm(atFDCWD), p.Str("/"), sysprog.Imm(0), a, sysprog.Imm(sizeofMountAttr))
	}
}

const sizeofMountAttr = unsafe.Sizeof(unix.MountAttr{})
