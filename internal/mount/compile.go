package mount

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"unsafe"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/stage"
	"github.com/hako-dev/hako/internal/sysprog"
)

// Stages are the points where the caller adds its own ops to the program.
type Stages struct {
	// Cgroup comes before the first cgroup or cgroup2 mount, or, when
	// there is none, after every mount and device: wait for the cgroup,
	// unshare the cgroup namespace. Everything before it overlaps with
	// the parent's work on the cgroup.
	Cgroup func()
	// PrePivot comes after every mount and device, before pivot_root:
	// createRuntime and createContainer hooks.
	PrePivot func()
}

// Compile appends to p the setup of the container's root filesystem, for
// a runner in a new mount namespace (see package sysprog): propagation,
// the rootfs bound onto itself, mounts[] in order, devices, pivot_root
// (or, with NoPivot, a move onto / and chroot), masked and read-only
// paths, a read-only root. The checks that need no container run now, in
// the parent, and return their errors; the runner's failures come back
// through the ops' Fail functions as the same [*Error]s.
func Compile(c *Config, p *sysprog.Program, st Stages) error {
	if err := c.checkRootfs(); err != nil {
		return err
	}
	k := &compiler{c: c, p: p, roDev: -1}
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
		if e.typ == "cgroup" && !e.o.bind && !cgroup2Only() && cgroups == nil {
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
	var hostMounts []string
	if c.NoPivot {
		// The runner's mount namespace starts as a copy of this one.
		ms, err := mountinfo.GetMounts(nil)
		if err != nil {
			return &Error{Step: "reading the mount table", Destination: c.Rootfs, Field: "root.path", Err: err}
		}
		for _, m := range ms {
			hostMounts = append(hostMounts, m.Mountpoint)
		}
	}

	// Every mount below, starting with making "/" private, would change
	// the host's mounts in PID 1's mount namespace (a config that joins
	// it): refuse there.
	p.RefuseSame(func(errno syscall.Errno) error {
		return &Error{Step: "preparing the rootfs", Destination: c.Rootfs, Field: "linux.namespaces",
			Err: withHint(reasonf(errno, "the process is in the host's mount namespace; rootfs setup would change the host's mounts"),
				"start the container with a new mount namespace (a \"mount\" entry without a path in linux.namespaces)")}
	}, "/proc/self/ns/mnt", "/proc/1/ns/mnt")
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
	if c.NoPivot {
		k.moveRoot(hostMounts)
	} else {
		k.pivot()
	}
	k.finish()
	return nil
}

// atFDCWD is AT_FDCWD as a syscall argument.
const atFDCWD = ^uintptr(99)

type compiler struct {
	c     *Config
	p     *sysprog.Program
	root  sysprog.Reg
	roDev int // the index of a read-only mount at /dev, or -1
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
	if t := topDir(e.dest); t != "/proc" && t != "/sys" {
		// Symlinks the image has on the way are followed inside the
		// rootfs now, so that a dangling one leads to a directory made
		// there (as runc does); the ops still resolve it in the root.
		e.dest = resolveInRoot(k.c.Rootfs, e.dest)
	}
	if e.dest == "/dev" && e.o.flags&(unix.MS_RDONLY|unix.MS_REMOUNT) == unix.MS_RDONLY {
		// A read-only /dev is mounted writable, gets its submounts and
		// device nodes, and is made read-only last (as runc does).
		e.o.flags &^= unix.MS_RDONLY
		k.roDev = i
	}
	if e.dest == "/" {
		return nil, e.fail(reasonf(unix.EINVAL, "a mount over the container's root is not allowed (set root.path instead)"))
	}
	if e.typ == "" {
		return nil, e.fail(reasonf(unix.EINVAL, "the type is empty and the options hold neither bind nor rbind"))
	}
	if IDMapped(m) {
		if !e.o.bind {
			return nil, e.fail(withHint(reasonf(unix.EINVAL, "only a bind mount can be idmapped here"), "add \"rbind\" or \"bind\" to the options, or delete uidMappings, gidMappings and idmap"))
		}
		if _, ok := k.c.IDMaps[i]; !ok {
			return nil, e.fail(reasonf(unix.EINVAL, "an idmapped mount needs uidMappings and gidMappings, or the container's user namespace to take them from"))
		}
	}
	if e.typ == "tmpfs" && !e.o.bind && !hasData(e.o.data, "mode") {
		// As runc: a tmpfs takes the mode of the directory it covers;
		// over one made for it, tmpfs's own 1777.
		if mode, ok := coveredMode(k.c.Rootfs, e.dest); ok {
			e.o.data = append(e.o.data, fmt.Sprintf("mode=%o", mode))
		}
	}
	if e.o.copyUp && (e.typ != "tmpfs" || e.o.bind) {
		return nil, e.fail(reasonf(unix.EINVAL, "tmpcopyup applies to tmpfs mounts only"))
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
		file, err := k.sourceKind(i, e.m.Source)
		if err != nil {
			return nil, e.fail(err)
		}
		e.file = file
		if err := k.bindFlags(e); err != nil {
			return nil, e.fail(err)
		}
	}
	return e, nil
}

// sourceKind tells whether a bind source is a file. A source missing on
// the host that lies at or below an earlier mount's destination in the
// rootfs is that mount's to make (as runc allows): it is what the earlier
// bind's source has at the same place, or else a directory; the mount
// itself says at run time whether it is there.
func (k *compiler) sourceKind(i int, src string) (bool, error) {
	st, err := os.Stat(src)
	if err == nil {
		return !st.IsDir(), nil
	}
	src = path.Clean(src)
	for j := i - 1; j >= 0; j-- {
		m := k.c.Mounts[j]
		dst := path.Join(k.c.Rootfs, resolveInRoot(k.c.Rootfs, cleanDest(m.Destination)))
		rest, ok := strings.CutPrefix(src, dst)
		if !ok || (rest != "" && rest[0] != '/') {
			continue
		}
		if parseOptions(m.Options).bind || m.Type == "bind" {
			if st, err := os.Stat(path.Join(m.Source, rest)); err == nil {
				return !st.IsDir(), nil
			}
		}
		return false, nil
	}
	return false, err
}

// hasData reports whether the filesystem data sets key (key=value).
func hasData(data []string, key string) bool {
	for _, d := range data {
		if k, _, _ := strings.Cut(d, "="); k == key {
			return true
		}
	}
	return false
}

// coveredMode is the mode of the directory dest names in the rootfs,
// resolved inside it, if there is one.
func coveredMode(rootfs, dest string) (uint32, bool) {
	root, err := os.Open(rootfs)
	if err != nil {
		return 0, false
	}
	defer root.Close()
	fd, err := unix.Openat2(int(root.Fd()), rel(dest), &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return 0, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return 0, false
	}
	return st.Mode & 0o7777, true
}

// resolveInRoot follows the symlinks of dest in the rootfs as if chrooted
// there ("/" and ".." stop at the root), through components that do not
// exist yet too; it gives up (returning what it has) after 255 links.
func resolveInRoot(rootfs, dest string) string {
	todo := strings.Split(strings.TrimPrefix(dest, "/"), "/")
	cur := "/"
	for links := 0; len(todo) > 0; {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		target, err := os.Readlink(rootfs + next)
		if err != nil || links >= 255 {
			cur = next // not a symlink, or not there yet
			continue
		}
		links++
		if path.IsAbs(target) {
			cur = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return cur
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
	if e.o.flags&unix.MS_REMOUNT != 0 {
		k.remount(e)
		return nil
	}
	var m sysprog.Reg // the new mount, detached until moved
	switch {
	case e.o.bind:
		k.mkdirAll(fail, e.dest, e.file)
		if fd, ok := k.c.BindFDs[e.index]; ok {
			m = k.bindFD(fail, fd, e.o.flags, e.o.clear)
		} else {
			m = k.bind(fail, e.m.Source, e.o.recursive, e.o.flags, e.o.clear)
		}
		if ns, ok := k.c.IDMaps[e.index]; ok {
			// On the detached clone, before it is attached: the
			// kernel idmaps only a mount no one can see yet.
			k.setattr(idmapFail(e), m, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns)}, e.o.ridmap)
		}
	case e.typ == "sysfs" && k.c.InUserNS && !k.c.OwnNetNS:
		// A user namespace may mount sysfs only where it owns the
		// network namespace; elsewhere the host's /sys, bound read-only,
		// is the substitute (runc and crun do the same).
		k.mkdirAll(fail, e.dest, false)
		m = k.bind(fail, "/sys", true, e.o.flags|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, e.o.clear&^unix.MS_RDONLY)
	case e.typ == "cgroup" && cgroup2Only():
		k.mkdirAll(fail, e.dest, false)
		if k.c.CgroupNS {
			m = k.fsmount(fail, "cgroup2", "cgroup2", e.o, e.o.flags)
		} else {
			// Without a cgroup namespace a fresh cgroup2 mount would show
			// the host's whole tree: show the process's own cgroup only.
			own, err := ownCgroup2()
			if err != nil {
				return e.fail(err)
			}
			m = k.bind(fail, own, false, e.o.flags, e.o.clear)
		}
	case e.typ == "cgroup":
		return k.cgroupV1(e, cgroups)
	case e.o.copyUp:
		return k.copyUp(e)
	default:
		k.mkdirAll(fail, e.dest, false)
		src := e.m.Source
		if src == "" {
			src = e.typ
		}
		m = k.fsmount(fail, e.typ, src, e.o, e.o.flags)
	}
	k.attach(fail, m, e.dest)
	k.finishFlags(fail, m, e)
	k.close(m)
	return nil
}

// idmapFail explains a refused MOUNT_ATTR_IDMAP.
func idmapFail(e *entry) sysprog.Fail {
	return func(errno syscall.Errno) error {
		err := reasonf(errno, "idmapping the mount (mount_setattr MOUNT_ATTR_IDMAP): %v", errno)
		switch errno {
		case unix.EINVAL:
			err = withHint(err, "the source's filesystem may not support idmapped mounts (ext4, xfs, btrfs and tmpfs since Linux 6.3 do), or a submount of an rbind does not: use idmap instead of ridmap")
		case unix.EPERM:
			err = withHint(err, "idmapping needs CAP_SYS_ADMIN in the user namespace that owns the source's filesystem")
		}
		return e.fail(err)
	}
}

// bind returns a detached bind mount of src (the runner's path, before
// the root changes) with the mount flags set and clear.
func (k *compiler) bind(fail sysprog.Fail, src string, recursive bool, set, clr uintptr) sysprog.Reg {
	flags := uintptr(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	m := k.p.Result(fail, unix.SYS_OPEN_TREE, sysprog.Imm(atFDCWD), k.p.Str(src), sysprog.Imm(flags))
	if a := attrsOf(set, clr); a != nil {
		k.setattr(fail, m, a, false)
	}
	return m
}

// bindFD is bind for a clone the parent made (fd): the program takes it
// into a register of its own and sets the mount flags on it.
func (k *compiler) bindFD(fail sysprog.Fail, fd int, set, clr uintptr) sysprog.Reg {
	m := k.p.Result(fail, unix.SYS_FCNTL, sysprog.Imm(fd), sysprog.Imm(unix.F_DUPFD_CLOEXEC), sysprog.Imm(0))
	k.p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(fd))
	if a := attrsOf(set, clr); a != nil {
		k.setattr(fail, m, a, false)
	}
	return m
}

// attrsOf is the mount_setattr argument that sets the mount flags set and
// clears clr, or nil when there is nothing to change.
func attrsOf(set, clr uintptr) *unix.MountAttr {
	s, c := mountAttrs(set), mountAttrs(clr)
	if s == 0 && c == 0 {
		return nil
	}
	a := &unix.MountAttr{Attr_set: s, Attr_clr: c}
	if set&atimeFlags != 0 || clr&atimeFlags != 0 {
		a.Attr_clr |= unix.MOUNT_ATTR__ATIME
	}
	return a
}

// finishFlags applies the propagation options and the recursive (r*)
// attributes to the mount m of e.
func (k *compiler) finishFlags(fail sysprog.Fail, m sysprog.Reg, e *entry) {
	for _, pr := range e.o.propagation {
		k.setattr(fail, m, &unix.MountAttr{Propagation: uint64(pr &^ unix.MS_REC)}, pr&unix.MS_REC != 0)
	}
	if a := e.o.recursiveAttr(); a != nil {
		k.setattr(fail, m, a, true)
	}
}

// remount changes the mount already at e's destination (the "remount"
// option): its mount flags with mount_setattr, its filesystem's flags and
// data with fspick and a reconfiguration.
func (k *compiler) remount(e *entry) {
	fail := e.failFn()
	p := k.p
	t := k.open(fail, e.dest, 0)
	if a := attrsOf(e.o.flags&attrFlags, e.o.clear&attrFlags); a != nil {
		k.setattr(fail, t, a, false)
	}
	if sb := sbOptions(e.o.flags, e.o.clear); len(sb)+len(e.o.data) > 0 && !e.o.bind {
		fc := p.Result(fail, unix.SYS_FSPICK, sysprog.R(t), p.Str(""), sysprog.Imm(unix.FSPICK_EMPTY_PATH|unix.FSPICK_CLOEXEC))
		k.fsconfig(fail, fc, append(sb, e.o.data...))
		p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_CMD_RECONFIGURE), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
		k.close(fc)
	}
	k.finishFlags(fail, t, e)
	k.close(t)
}

// sbFlagOptions are the superblock flags a filesystem context takes by
// name (fsconfig FSCONFIG_SET_FLAG); MS_SILENT and MS_I_VERSION have no
// name there, and the kernel ignored them in mount(2) too.
var sbFlagOptions = []struct {
	flag     uintptr
	set, clr string
}{
	{unix.MS_SYNCHRONOUS, "sync", "async"},
	{unix.MS_DIRSYNC, "dirsync", ""},
	{unix.MS_MANDLOCK, "mand", "nomand"},
	{unix.MS_LAZYTIME, "lazytime", "nolazytime"},
}

// sbOptions are the fsconfig flags for the superblock flags set and
// cleared by a mount's options.
func sbOptions(set, clr uintptr) []string {
	var o []string
	for _, f := range sbFlagOptions {
		if set&f.flag != 0 {
			o = append(o, f.set)
		} else if clr&f.flag != 0 && f.clr != "" {
			o = append(o, f.clr)
		}
	}
	return o
}

// copyUp compiles a tmpfs with tmpcopyup: the image's directory is opened
// before the tmpfs covers it, the new tmpfs is filled from it by the Go
// runner's CopyUp stage while it is still detached, then attached.
func (k *compiler) copyUp(e *entry) error {
	fail := e.failFn()
	p := k.p
	k.mkdirAll(fail, e.dest, false)
	h, n := k.how(unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, resolveFlags(e.dest))
	old := p.Result(fail, unix.SYS_OPENAT2, sysprog.R(k.root), p.Str(rel(e.dest)), h, n)
	src := e.m.Source
	if src == "" {
		src = "tmpfs"
	}
	m := k.fsmount(fail, "tmpfs", src, e.o, e.o.flags&^unix.MS_RDONLY)
	p.Stage("tmpcopyup ("+e.field()+")", stage.CopyUp, sysprog.R(old), sysprog.R(m), sysprog.Imm(e.index))
	k.close(old)
	if e.o.flags&unix.MS_RDONLY != 0 {
		k.setattr(fail, m, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}, false)
	}
	k.attach(fail, m, e.dest)
	k.finishFlags(fail, m, e)
	k.close(m)
	return nil
}

// ownCgroup2 is the host path of this process's cgroup v2 directory (the
// runner's, too: it is put in the container's before it mounts cgroups).
func ownCgroup2() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return path.Join("/sys/fs/cgroup", p), nil
		}
	}
	return "", reasonf(unix.ENOENT, "/proc/self/cgroup has no cgroup v2 line")
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
// options o (superblock flags and filesystem data) and the mount flags.
func (k *compiler) fsmount(fail sysprog.Fail, fstype, source string, o options, flags uintptr) sysprog.Reg {
	p := k.p
	fc := p.Result(fail, unix.SYS_FSOPEN, p.Str(fstype), sysprog.Imm(unix.FSOPEN_CLOEXEC))
	p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_SET_STRING), p.Str("source"), p.Str(source), sysprog.Imm(0))
	k.fsconfig(fail, fc, append(sbOptions(o.flags, o.clear), o.data...))
	p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_CMD_CREATE), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	m := p.Result(fail, unix.SYS_FSMOUNT, sysprog.R(fc), sysprog.Imm(unix.FSMOUNT_CLOEXEC), sysprog.Imm(mountAttrs(flags)))
	k.close(fc)
	return m
}

// fsconfig sets each of data ("key=value" or "flag") on the filesystem
// context fc.
func (k *compiler) fsconfig(fail sysprog.Fail, fc sysprog.Reg, data []string) {
	p := k.p
	for _, d := range data {
		key, val, hasVal := strings.Cut(d, "=")
		if hasVal {
			p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_SET_STRING), p.Str(key), p.Str(val), sysprog.Imm(0))
		} else {
			p.Call(fail, unix.SYS_FSCONFIG, sysprog.R(fc), sysprog.Imm(unix.FSCONFIG_SET_FLAG), p.Str(key), sysprog.Imm(0), sysprog.Imm(0))
		}
	}
}

// cgroupV1 compiles a "cgroup" mount on a v1 or hybrid host: a tmpfs
// with one directory per hierarchy of /proc/self/cgroup, each a fresh
// mount of that hierarchy in a cgroup namespace or, without one, a bind of
// the process's own cgroup directory (a hierarchy the host does not mount
// is left out); links for co-mounted controllers; the tmpfs made
// read-only last.
func (k *compiler) cgroupV1(e *entry, hs []hierarchy) error {
	fail := e.failFn()
	p := k.p
	k.mkdirAll(fail, e.dest, false)
	tm := k.fsmount(fail, "tmpfs", "cgroup", options{data: []string{"mode=755"}}, e.o.flags&^unix.MS_RDONLY)
	k.attach(fail, tm, e.dest)
	dir := k.open(fail, e.dest, unix.O_DIRECTORY)
	for _, h := range hs {
		hfail := func(errno syscall.Errno) error {
			return e.fail(reasonf(errno, "mounting cgroup hierarchy %q at %s: %v", h.options, path.Join(e.dest, h.dir), errno))
		}
		if !k.c.CgroupNS && h.hostPath == "" {
			continue // the host does not mount it: nothing to show
		}
		p.Call(hfail, unix.SYS_MKDIRAT, sysprog.R(dir), p.Str(h.dir), sysprog.Imm(0o755))
		p.Tolerate(unix.EEXIST)
		var m sysprog.Reg
		if k.c.CgroupNS {
			var data []string
			if h.options != "" {
				data = strings.Split(h.options, ",")
			}
			m = k.fsmount(hfail, h.fstype, h.fstype, options{data: data}, e.o.flags&^unix.MS_REMOUNT)
		} else {
			hfail = func(errno syscall.Errno) error {
				return e.fail(reasonf(errno, "binding %s at %s: %v", h.hostPath, path.Join(e.dest, h.dir), errno))
			}
			m = k.bind(hfail, h.hostPath, false, e.o.flags&attrFlags, e.o.clear&attrFlags)
		}
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
		if k.c.InUserNS && ft != unix.S_IFIFO {
			// mknod is not permitted in a user namespace: the host's
			// node is bound over an empty file instead.
			if err := k.bindDevice(e, dfd, base, pth); err != nil {
				return err
			}
			k.close(dfd)
			continue
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

// bindDevice binds the host's device node at pth over an empty file
// named base in the directory dfd.
func (k *compiler) bindDevice(e *Error, dfd sysprog.Reg, base, pth string) error {
	st, err := os.Stat(pth)
	if err == nil && st.Mode()&(os.ModeDevice|os.ModeNamedPipe) == 0 {
		err = reasonf(unix.ENODEV, "the host's %s is not a device node", pth)
	}
	if err != nil {
		c := *e
		c.Err = err
		return &c
	}
	p := k.p
	fail := fixed(e)
	p.Call(fail, unix.SYS_MKNODAT, sysprog.R(dfd), p.Str(base), sysprog.Imm(unix.S_IFREG|0o644), sysprog.Imm(0))
	p.Tolerate(unix.EEXIST)
	m := k.bind(fail, pth, false, 0, 0)
	t := p.Result(fail, unix.SYS_OPENAT, sysprog.R(dfd), p.Str(base), sysprog.Imm(unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC), sysprog.Imm(0))
	p.Call(fail, unix.SYS_MOVE_MOUNT, sysprog.R(m), p.Str(""), sysprog.R(t), p.Str(""),
		sysprog.Imm(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
	k.close(t)
	k.close(m)
	return nil
}

// pivot makes the rootfs the root with pivot_root(".", "."), which stacks
// the old root on the new one; the old root is made a recursive slave, so
// that unmounting it cannot propagate to the host, and detached, leaving
// no trace of the host's mounts.
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
	k.rootPropagation()
}

// moveRoot is --no-pivot, for roots where pivot_root is impossible (an
// initramfs): the host's mounts outside the rootfs are unmounted where
// they can be (deepest first; a user namespace may not unmount what the
// host locked), the rootfs is moved onto "/" and chrooted into. A chroot
// is weaker than pivot_root: a process holding CAP_SYS_CHROOT can leave
// it.
func (k *compiler) moveRoot(hostMounts []string) {
	p := k.p
	c := k.c
	f := func(step string) sysprog.Fail {
		return fixed(&Error{Step: step, Destination: c.Rootfs, Field: "root.path"})
	}
	sort.Slice(hostMounts, func(i, j int) bool { return len(hostMounts[i]) > len(hostMounts[j]) })
	for _, m := range hostMounts {
		if m == "/" || m == c.Rootfs || strings.HasPrefix(m, c.Rootfs+"/") || strings.HasPrefix(c.Rootfs, m+"/") {
			continue // the rootfs, what is in it, and what holds it stay
		}
		p.Call(nil, unix.SYS_UMOUNT2, p.Str(m), sysprog.Imm(unix.MNT_DETACH))
		p.TolerateAll()
	}
	p.Call(f("entering the rootfs"), unix.SYS_FCHDIR, sysprog.R(k.root))
	p.Call(f("moving the rootfs onto /"), unix.SYS_MOUNT, p.Str("."), p.Str("/"), sysprog.Imm(0), sysprog.Imm(unix.MS_MOVE), sysprog.Imm(0))
	p.Call(f("chroot"), unix.SYS_CHROOT, p.Str("."))
	p.Call(f("entering the new root"), unix.SYS_CHDIR, p.Str("/"))
	k.rootPropagation()
}

// rootPropagation applies a non-empty linux.rootfsPropagation to the new
// root; "" leaves it rprivate from the start, keeping the propagation
// options of single mounts.
func (k *compiler) rootPropagation() {
	k.close(k.root)
	if k.c.Propagation != "" {
		flag, _ := propagationFlag(k.c.Propagation)
		k.p.Call(fixed(&Error{Step: "setting root propagation", Destination: "/", Field: "linux.rootfsPropagation"}),
			unix.SYS_MOUNT, sysprog.Imm(0), k.p.Str("/"), sysprog.Imm(0), sysprog.Imm(flag), sysprog.Imm(0))
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
		seen := map[string]bool{}
		for i, mp := range c.MaskedPaths {
			if dest := cleanDest(mp); !seen[dest] { // a path listed twice is masked once
				seen[dest] = true
				p.Mask(fixed(&Error{Step: "masking", Destination: mp, Field: fmt.Sprintf("linux.maskedPaths[%d]", i)}), dest, null)
			}
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
	if k.roDev >= 0 {
		a := sysprog.Value(p, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
		p.Call(fixed(&Error{Step: "making read-only", Destination: "/dev", Field: fmt.Sprintf("mounts[%d]", k.roDev)}),
			unix.SYS_MOUNT_SETATTR, sysprog.Imm(atFDCWD), p.Str("/dev"), sysprog.Imm(0), a, sysprog.Imm(sizeofMountAttr))
	}
	if c.Readonly {
		a := sysprog.Value(p, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
		p.Call(fixed(&Error{Step: "making the root read-only", Destination: "/", Field: "root.readonly"}),
			unix.SYS_MOUNT_SETATTR, sysprog.Imm(atFDCWD), p.Str("/"), sysprog.Imm(0), a, sysprog.Imm(sizeofMountAttr))
	}
}

const sizeofMountAttr = unsafe.Sizeof(unix.MountAttr{})
