package spawn

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/mount"
	"github.com/hako-dev/hako/internal/stage"
	"github.com/hako-dev/hako/internal/sysprog"
	"github.com/hako-dev/hako/internal/timerslack"
)

// The compiler: a container's whole setup, and an exec's, as one
// sysprog.Program. It is the only place that decides what a setup does and
// in what order; either runner executes the result (runner.go).

// plan is a compiled setup: the program and what starting it needs.
type plan struct {
	p *sysprog.Program
	// fds are the files the program's ops name by number, each at its
	// number: the raw child inherits them, the Go runner gets them there.
	fds *fdSet
	// parentEnd is the parent's end of the program's socket.
	parentEnd int
	started   bool

	ns nsPlan
	// spawn (exec): the raw child, which never enters the container's
	// pid namespace, makes the process there with SpawnThrough and exits;
	// it spawns the Go runner there when that runs the program.
	spawn bool
	// respawn (create): the raw child joined or unshared the pid
	// namespace, which only its children enter: it forks a child there
	// that goes on with the program, and exits.
	respawn bool
	// userSync: the program signals 'U' and waits once it is in its new
	// user namespace, for the parent to write the id maps.
	userSync bool
	// prePivot: the program signals 'P' and waits for createRuntime hooks.
	prePivot bool
	// console: the program sends a pty master (process.terminal).
	console bool
	// listener: the program sends the seccomp listener (SCMP_ACT_NOTIFY),
	// for this function.
	listener func(*os.File, int) error
	// stdio is what the Go runner's process gets as 0, 1, 2.
	stdio [3]*os.File
	// exeFD and progFD are where the raw child finds hako and the
	// program when it hands over to the Go runner: numbers reserved at
	// compile time, filled only then (-1 where there is no raw child).
	exeFD, progFD int
}

// nsPlan is linux.namespaces, sorted out.
type nsPlan struct {
	// newFlags are the CLONE_NEW* flags of the namespaces to create,
	// the cgroup namespace's aside (it is unshared once the process is in
	// its cgroup).
	newFlags  uintptr
	newCgroup bool
	// newTime: a new time namespace, unshared by the runner (clone(2)
	// cannot take CLONE_NEWTIME, whose bit is one of the exit signal's);
	// the process enters it when it executes.
	newTime bool
	newUser bool
	newNet  bool
	// join are the namespaces joined by path, the user namespace last
	// (host root may join any namespace; once in a user namespace it may
	// join only that namespace's own) and the mount namespace just before
	// it.
	join []specs.LinuxNamespace
	// joinFDs are the fds (in fds) of join's paths, opened by the parent.
	joinFDs []int
	// uts and mnt: a UTS or mount namespace, new or joined.
	uts, mnt bool
	uidMaps  []specs.LinuxIDMapping
	gidMaps  []specs.LinuxIDMapping
}

// rawFlags are the clone flags of the raw child: every new namespace at
// once, unless a namespace is joined, which must come first (the raw
// child then joins and unshares itself).
func (n *nsPlan) rawFlags() uintptr {
	if len(n.join) > 0 {
		return 0
	}
	return n.newFlags
}

func (n *nsPlan) joins(t specs.LinuxNamespaceType) bool {
	return slices.ContainsFunc(n.join, func(j specs.LinuxNamespace) bool { return j.Type == t })
}

var nsFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// namespaces sorts out linux.namespaces.
func namespaces(l *specs.Linux) (nsPlan, error) {
	var n nsPlan
	var user, mnt *specs.LinuxNamespace
	for i, ns := range l.Namespaces {
		f, known := nsFlags[ns.Type]
		if !known {
			return n, fmt.Errorf("linux.namespaces[%d].type: unknown namespace type %q", i, ns.Type)
		}
		switch ns.Type {
		case specs.UTSNamespace:
			n.uts = true
		case specs.MountNamespace:
			n.mnt = true
		}
		if ns.Path != "" {
			switch ns.Type {
			case specs.UserNamespace:
				user = &l.Namespaces[i]
			case specs.MountNamespace:
				mnt = &l.Namespaces[i]
			default:
				n.join = append(n.join, ns)
			}
			continue
		}
		switch ns.Type {
		case specs.CgroupNamespace:
			n.newCgroup = true
			continue
		case specs.TimeNamespace:
			n.newTime = true
			continue
		case specs.UserNamespace:
			n.newUser = true
		case specs.NetworkNamespace:
			n.newNet = true
		}
		n.newFlags |= f
	}
	for _, j := range []*specs.LinuxNamespace{mnt, user} {
		if j != nil {
			n.join = append(n.join, *j)
		}
	}
	if len(l.TimeOffsets) > 0 && !n.newTime {
		return n, fmt.Errorf("linux.timeOffsets: offsets are set only in a new time namespace, and this container %s — hint: add {\"type\": \"time\"} without a path to linux.namespaces, or delete linux.timeOffsets", map[bool]string{true: "joins one", false: "has none"}[n.joins(specs.TimeNamespace)])
	}
	if n.newUser {
		n.uidMaps, n.gidMaps = l.UIDMappings, l.GIDMappings
		if len(n.uidMaps) == 0 || len(n.gidMaps) == 0 {
			return n, fmt.Errorf("linux.uidMappings and linux.gidMappings: a new user namespace needs both mappings — hint: map container uid 0 to a host uid, e.g. {\"containerID\":0,\"hostID\":100000,\"size\":65536}")
		}
		if !mapsZero(n.uidMaps) || !mapsZero(n.gidMaps) {
			return n, fmt.Errorf("linux.uidMappings and linux.gidMappings: container uid and gid 0 must be mapped (the container is set up as root of its user namespace) — hint: add {\"containerID\":0,\"hostID\":100000,\"size\":65536}")
		}
	}
	return n, nil
}

func mapsZero(m []specs.LinuxIDMapping) bool {
	for _, x := range m {
		if x.ContainerID == 0 && x.Size > 0 {
			return true
		}
	}
	return false
}

// fdSet duplicates the fds the child uses above the ones it is given at
// 0..base-1, so that placing those can never clobber one of them.
type fdSet struct {
	base  int
	files []*os.File
}

func (s *fdSet) high(f *os.File) (int, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, s.base)
	if err != nil {
		return -1, fmt.Errorf("duplicating fd %d: %w", f.Fd(), err)
	}
	s.files = append(s.files, os.NewFile(uintptr(fd), f.Name()))
	return fd, nil
}

// byNumber is every file of the set at its fd number.
func (s *fdSet) byNumber() map[int]*os.File {
	m := make(map[int]*os.File, len(s.files))
	for _, f := range s.files {
		m[int(f.Fd())] = f
	}
	return m
}

func (s *fdSet) close() {
	for _, f := range s.files {
		f.Close()
	}
	s.files = nil
}

// newPlan starts a program for a runner that gets extra files at 3...:
// the socket's runner end goes above them, and the program begins with
// the timer slack hako was started with (the raw child inherits hako's
// coarse one), non-dumpable (until it executes the trampoline, the raw
// child is hako: no process may reach its /proc/PID files — exe, fd, mem —
// without CAP_SYS_PTRACE), and the parent's end closed.
func newPlan(extra int) (*plan, error) {
	parentEnd, childEnd, err := sysprog.Pair()
	if err != nil {
		return nil, err
	}
	fds := &fdSet{base: 3 + extra + 1}
	syncFD, err := fds.high(childEnd)
	childEnd.Close()
	if err != nil {
		unix.Close(parentEnd)
		fds.close()
		return nil, err
	}
	p := sysprog.New(syncFD)
	if o := timerslack.Original(); o != 0 {
		p.Call(stepFail("prctl(PR_SET_TIMERSLACK)", ""), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_TIMERSLACK), sysprog.Imm(o), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	}
	p.Call(stepFail("prctl(PR_SET_DUMPABLE, 0)", ""), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_DUMPABLE), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(parentEnd))
	p.Tolerate(unix.EBADF) // the Go runner started by os/exec never had it
	pl := &plan{p: p, fds: fds, parentEnd: parentEnd, exeFD: -1, progFD: -1}
	if sysprog.Supported {
		// Placeholders; startGo puts hako and the program there.
		for _, n := range []*int{&pl.exeFD, &pl.progFD} {
			if *n, err = fds.high(fds.files[0]); err != nil {
				pl.close()
				return nil, err
			}
		}
	}
	return pl, nil
}

// handover compiles where the raw child hands the program over to the Go
// runner when that runs it: once the raw child is in the container's
// namespaces, before anything else. keep are the fds the rest of the
// program uses.
func (pl *plan) handover(keep ...int) {
	if !sysprog.Supported {
		return // the Go runner does it all, started by os/exec
	}
	p := pl.p
	fds := []int{p.SyncFD(), pl.progFD}
	for _, fd := range keep {
		if fd >= 0 {
			fds = append(fds, fd)
		}
	}
	env := []string{envProgramFD + "=" + strconv.Itoa(pl.progFD), "GOMAXPROCS=1"}
	p.Handover(stepFail("starting the Go runner", "executing hako-init"), pl.exeFD, []string{initArg0}, env, fds, pl.spawn)
}

// close releases what the plan still holds.
func (pl *plan) close() {
	pl.fds.close()
	if !pl.started {
		unix.Close(pl.parentEnd)
	}
}

// placeFiles makes the program put stdio (nil: the runner's own) at 0..2
// and extra at 3...
func (pl *plan) placeFiles(stdio, extra []*os.File) error {
	place := func(f *os.File, to int) error {
		from, err := pl.fds.high(f)
		if err != nil {
			return err
		}
		pl.p.Call(nil, unix.SYS_DUP3, sysprog.Imm(from), sysprog.Imm(to), sysprog.Imm(0))
		return nil
	}
	for i, f := range stdio {
		pl.stdio[i] = f
		if f != nil {
			if err := place(f, i); err != nil {
				return err
			}
		}
	}
	for i, f := range extra {
		if err := place(f, 3+i); err != nil {
			return err
		}
	}
	return nil
}

// closeInherited makes the program close every fd from from on but the
// ones in keep: the Go runtime's, the state store's lock (a flock the
// raw child would otherwise keep holding), the sources of placeFiles.
func (pl *plan) closeInherited(from int, keep []int) {
	p := pl.p
	keep = slices.DeleteFunc(slices.Sorted(slices.Values(keep)), func(fd int) bool { return fd < from })
	for _, k := range keep {
		if k > from {
			p.Call(stepFail("closing inherited fds", ""), unix.SYS_CLOSE_RANGE, sysprog.Imm(from), sysprog.Imm(k-1), sysprog.Imm(0))
		}
		from = k + 1
	}
	p.Call(stepFail("closing inherited fds", ""), unix.SYS_CLOSE_RANGE, sysprog.Imm(from), sysprog.Imm(^uint(0)), sysprog.Imm(0))
}

// trampoline makes the trampoline (where there is one) and its fd, then
// compiles the closing of every other inherited fd: the Go runtime's, the
// state store's lock (a flock the raw child would otherwise keep holding),
// the sources of placeFiles. keep are more fds the program uses.
func (pl *plan) trampoline(o sysprog.TrampolineOptions, extra int, keep ...int) (int, error) {
	trampFD := -1
	if sysprog.Supported {
		tramp, err := sysprog.Trampoline(pl.p.SyncFD(), o)
		if err != nil {
			return -1, err
		}
		trampFD, err = pl.fds.high(tramp)
		tramp.Close()
		if err != nil {
			return -1, err
		}
	}
	keep = append(keep, pl.p.SyncFD(), trampFD, pl.exeFD, pl.progFD)
	pl.closeInherited(3+extra, append(keep, pl.ns.joinFDs...))
	return trampFD, nil
}

// openJoins opens the paths of the namespaces to join, in the parent
// (through the host's /proc), for the raw child's setns.
func (pl *plan) openJoins() error {
	for _, n := range pl.ns.join {
		f, err := os.OpenFile(n.Path, os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("linux.namespaces: %s namespace path %q: %w", n.Type, n.Path, err)
		}
		if n.Type == specs.UserNamespace {
			if err := joinableUserNS(f, n.Path); err != nil {
				f.Close()
				return err
			}
		}
		fd, err := pl.fds.high(f)
		f.Close()
		if err != nil {
			return err
		}
		pl.ns.joinFDs = append(pl.ns.joinFDs, fd)
	}
	return nil
}

// joinableUserNS refuses, for an unprivileged user, a user namespace that
// another user owns: the kernel would refuse the setns (no capability
// there) with a bare EPERM from inside the runner.
func joinableUserNS(f *os.File, path string) error {
	euid := os.Geteuid()
	if euid == 0 {
		return nil
	}
	owner, err := unix.IoctlGetUint32(int(f.Fd()), unix.NS_GET_OWNER_UID)
	if err != nil {
		return fmt.Errorf("linux.namespaces: user namespace path %q: reading its owner: %w", path, err)
	}
	if int(owner) != euid {
		return fmt.Errorf("linux.namespaces: the user namespace %q is owned by uid %d, and uid %d may join only its own — hint: run as uid %d or as root, or join a user namespace this user made", path, owner, euid, owner)
	}
	return nil
}

// enterNamespaces compiles what the raw child does to be in the
// container's namespaces when some are joined by path (with none, its
// clone made them all): join them, then unshare the new ones (a new user
// namespace first, so that it owns the others). The Go runner skips
// these ops: its process was started in the namespaces.
func (pl *plan) enterNamespaces() {
	p := pl.p
	from := p.Len()
	for i, n := range pl.ns.join {
		fail := func(errno syscall.Errno) error {
			hint := ""
			if errno == unix.EINVAL {
				hint = fmt.Sprintf(" — hint: is %q really a %s namespace (e.g. /proc/PID/ns/%s)?", n.Path, n.Type, nsFile(n.Type))
			}
			return &Error{Step: "joining namespaces", Err: &wrapped{msg: fmt.Sprintf("linux.namespaces: joining %s namespace %q: %v%s", n.Type, n.Path, errno, hint), err: errno}}
		}
		p.Call(fail, unix.SYS_SETNS, sysprog.Imm(pl.ns.joinFDs[i]), sysprog.Imm(nsFlags[n.Type]))
		p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(pl.ns.joinFDs[i]))
		if n.Type == specs.UserNamespace {
			pl.becomeRoot("the joined user namespace")
		}
	}
	if len(pl.ns.join) > 0 && pl.ns.newFlags != 0 {
		p.Call(stepFail("creating namespaces", fmt.Sprintf("unshare(%#x)", pl.ns.newFlags)), unix.SYS_UNSHARE, sysprog.Imm(pl.ns.newFlags))
	}
	if pl.respawn {
		p.Respawn(stepFail("entering the pid namespace", "fork"))
	}
	p.OnlyRaw(from)
}

// becomeRoot makes the runner root of the user namespace it is in
// (where 0 is mapped), before it makes anything: files and the terminal
// belong to their maker. process.user's ids come last.
func (pl *plan) becomeRoot(which string) {
	p := pl.p
	fail := stepFail("becoming root in "+which, "")
	p.Call(fail, unix.SYS_SETRESGID, sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	p.Tolerate(unix.EINVAL)
	p.Call(fail, unix.SYS_SETRESUID, sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
	p.Tolerate(unix.EINVAL)
}

// compileCreate compiles a container's setup.
func compileCreate(o *Options) (_ *plan, err error) {
	s := o.Spec
	if s.Linux.IntelRdt != nil {
		return nil, intelRdtRefused()
	}
	ns, err := namespaces(s.Linux)
	if err != nil {
		return nil, err
	}
	pl, err := newPlan(len(o.ExtraFiles))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			pl.close()
		}
	}()
	pl.ns = ns
	p := pl.p
	proc := s.Process
	if err := pl.placeFiles([]*os.File{o.Stdin, o.Stdout, o.Stderr}, o.ExtraFiles); err != nil {
		return nil, err
	}
	if err := pl.openJoins(); err != nil {
		return nil, err
	}
	pl.respawn = ns.joins(specs.PIDNamespace) || (len(ns.join) > 0 && ns.newFlags&unix.CLONE_NEWPID != 0)
	hooks := s.Hooks
	if hooks == nil {
		hooks = &specs.Hooks{}
	}
	// The exec fifo waits for start: in the trampoline, or, when
	// startContainer hooks must run after start, in the Go runner.
	goStart := len(hooks.StartContainer) > 0 && proc != nil || !sysprog.Supported
	fifoFD := -1
	if o.Fifo != nil {
		if fifoFD, err = pl.fds.high(o.Fifo); err != nil {
			return nil, err
		}
		if ns.mnt && !hasProc(s) && !goStart {
			// The trampoline reopens the exec fifo through the
			// container's /proc/self/fd.
			return nil, fmt.Errorf("mounts: the container has no procfs at /proc, which hako needs to wait for `start` — hint: add {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"}")
		}
	}
	var sc *sysprog.TrampolineSeccomp
	if proc != nil {
		sc = trampSeccomp(o.Seccomp, proc, notifies(s))
	}
	tfifo := fifoFD
	if goStart {
		tfifo = -1
	}
	idmaps, err := pl.idmaps(s)
	if err != nil {
		return nil, err
	}
	keep := []int{fifoFD}
	for _, fd := range idmaps {
		keep = append(keep, fd)
	}
	var mc *mount.Config
	var bindFDs map[int]int
	if ns.mnt {
		mc = mount.FromSpec(s, o.Rootfs, o.Bundle)
		if ns.newUser || ns.joins(specs.UserNamespace) {
			if bindFDs, err = pl.bindFDs(mc.Mounts); err != nil {
				return nil, err
			}
			for _, fd := range bindFDs {
				keep = append(keep, fd)
			}
		}
	}
	trampFD, err := pl.trampoline(sysprog.TrampolineOptions{Fifo: tfifo, Seccomp: sc, Silent: goStart && fifoFD >= 0}, len(o.ExtraFiles), keep...)
	if err != nil {
		return nil, err
	}
	pl.enterNamespaces()
	if ns.newUser {
		// The parent writes the id maps once the namespace exists. An
		// unprivileged parent may open the runner's /proc/PID/uid_map
		// only while the runner is dumpable (its /proc files are root's
		// otherwise): for that moment only, as runc does.
		pl.userSync = true
		rootless := os.Geteuid() != 0
		if rootless {
			p.Call(stepFail("prctl(PR_SET_DUMPABLE, 1)", ""), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_DUMPABLE), sysprog.Imm(1), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
		}
		p.Signal('U')
		p.Wait(stepFail("waiting for the user namespace's id maps", ""))
		if rootless {
			p.Call(stepFail("prctl(PR_SET_DUMPABLE, 0)", ""), unix.SYS_PRCTL, sysprog.Imm(unix.PR_SET_DUMPABLE), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0), sysprog.Imm(0))
		}
		pl.becomeRoot("the container's user namespace")
	}
	if ns.newTime {
		p.Call(stepFail("creating the time namespace", ""), unix.SYS_UNSHARE, sysprog.Imm(unix.CLONE_NEWTIME))
		compileTimeOffsets(p, s.Linux.TimeOffsets)
	}
	pl.handover(append(keep, trampFD)...)
	if err := compileSysctls(p, s.Linux.Sysctl); err != nil {
		return nil, err
	}
	if ns.uts {
		if s.Hostname != "" {
			p.Call(stepFail("setting hostname", fmt.Sprintf("hostname %q", s.Hostname)), unix.SYS_SETHOSTNAME, p.Str(s.Hostname), sysprog.Imm(len(s.Hostname)))
		}
		if s.Domainname != "" {
			p.Call(stepFail("setting domainname", fmt.Sprintf("domainname %q", s.Domainname)), unix.SYS_SETDOMAINNAME, p.Str(s.Domainname), sysprog.Imm(len(s.Domainname)))
		}
	}
	if ns.newNet {
		compileLoopback(p)
	}
	// The parent moves network devices in and runs createRuntime hooks
	// there.
	pl.prePivot = len(hooks.Prestart) > 0 || len(hooks.CreateRuntime) > 0 || len(s.Linux.NetDevices) > 0 //nolint:staticcheck // prestart is deprecated but still honoured
	stages := mount.Stages{
		Cgroup: func() {
			p.Wait(stepFail("waiting for the cgroup", ""))
			if ns.newCgroup {
				p.Call(stepFail("creating the cgroup namespace", ""), unix.SYS_UNSHARE, sysprog.Imm(unix.CLONE_NEWCGROUP))
			}
		},
		PrePivot: func() {
			if pl.prePivot {
				p.Signal('P')
				p.Wait(stepFail("waiting for createRuntime hooks", ""))
			}
			if len(hooks.CreateContainer) > 0 {
				hookStage(p, "createContainer", hooks.CreateContainer, o.StateJSON)
			}
		},
	}
	if ns.mnt {
		mc.NoPivot, mc.CgroupNS = o.NoPivot, ns.newCgroup
		mc.BindFDs = bindFDs
		mc.InUserNS = ns.newUser || ns.joins(specs.UserNamespace)
		mc.OwnNetNS = ns.newUser && ns.newNet
		mc.IDMaps = idmaps
		if err := mount.Compile(mc, p, stages); err != nil {
			return nil, &Error{Step: "preparing the rootfs", Err: err}
		}
		for _, fd := range slices.Sorted(maps.Values(idmaps)) {
			p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(fd))
			p.Tolerate(unix.EBADF) // shared by mounts with the same mappings
		}
	} else {
		// Without a mount namespace nothing is mounted (it would be in
		// the host's mount table, after the container too): the root
		// changes with chroot, and must hold a procfs at /proc already
		// (the root "/", say) for start.
		if len(s.Mounts) > 0 {
			return nil, fmt.Errorf("mounts: the container has no mount namespace, and its mounts would land in the host's mount table and outlive it; hako refuses them — hint: add {\"type\": \"mount\"} to linux.namespaces, or delete mounts")
		}
		var st unix.Statfs_t
		if fifoFD >= 0 && (unix.Statfs(filepath.Join(o.Rootfs, "proc"), &st) != nil || st.Type != unix.PROC_SUPER_MAGIC) {
			return nil, fmt.Errorf("root.path %q: without a mount namespace hako mounts nothing, and start needs a procfs at /proc in the root — hint: add {\"type\": \"mount\"} to linux.namespaces", o.Rootfs)
		}
		stages.Cgroup()
		stages.PrePivot()
		p.Call(stepFail("chroot", o.Rootfs), unix.SYS_CHROOT, p.Str(o.Rootfs))
		p.Call(stepFail("chroot", "entering the new root"), unix.SYS_CHDIR, p.Str("/"))
	}
	p.Call(stepFail("setsid", ""), unix.SYS_SETSID)
	if proc == nil {
		// Without a process the container can be created and deleted;
		// start refuses it, so the trampoline waits for good.
		p.CloexecFrom(stepFail("closing inherited fds", ""), 3+len(o.ExtraFiles))
		if fifoFD >= 0 && !goStart {
			p.Call(stepFail("waiting for start", "keeping the exec fifo"), unix.SYS_FCNTL, sysprog.Imm(fifoFD), sysprog.Imm(unix.F_SETFD), sysprog.Imm(0))
		}
		if sysprog.Supported {
			p.ExecThrough(stepFail("exec", "no process"), trampFD, []string{"/"}, 0, []string{"/"}, nil)
		} else {
			p.Signal('R')
			p.Stage("no process: waiting for a start that never comes", stage.WaitStart, sysprog.Imm(fifoFD))
		}
		return pl, nil
	}
	if proc.Terminal {
		pl.console = true
		compileTerminal(p, proc)
		p.Call(stepFail("setting up the terminal", "making the pty the controlling terminal"), unix.SYS_IOCTL, sysprog.Imm(0), sysprog.Imm(unix.TIOCSCTTY), sysprog.Imm(0))
	}
	if notifies(s) {
		pl.listener = o.SeccompListener
	}
	paths, idx, err := compileProcess(p, proc, s.Linux, o.Seccomp, len(o.ExtraFiles), ns.newUser || ns.joins(specs.UserNamespace), false, pl.listener != nil)
	if err != nil {
		return nil, err
	}
	if goStart && fifoFD >= 0 {
		p.Signal('R') // ready: the trampoline will not say it
		p.Stage("waiting for start in Go (startContainer hooks)", stage.WaitStart, sysprog.Imm(fifoFD))
	}
	if len(hooks.StartContainer) > 0 {
		// A startContainer hook without env of its own runs with the
		// process's, as runc's do: it runs where the process will.
		hs := slices.Clone(hooks.StartContainer)
		for i := range hs {
			if hs[i].Env == nil {
				hs[i].Env = proc.Env
			}
		}
		hookStage(p, "startContainer", hs, o.StateJSON)
	}
	if !goStart && fifoFD >= 0 {
		// The trampoline opens the exec fifo through it, then closes it.
		p.Call(stepFail("waiting for start", "keeping the exec fifo"), unix.SYS_FCNTL, sysprog.Imm(fifoFD), sysprog.Imm(unix.F_SETFD), sysprog.Imm(0))
	}
	compileExec(p, pl.spawn, trampFD, paths, idx, proc, o.Seccomp, pl.listener != nil)
	return pl, nil
}

// intelRdtRefused explains why linux.intelRdt is refused: hako does not
// manage resctrl groups, and most hosts (this one among them) have no
// resctrl filesystem to make them in.
func intelRdtRefused() error {
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/resctrl", &st) != nil || st.Type != unix.RDTGROUP_SUPER_MAGIC {
		return fmt.Errorf("linux.intelRdt: this host has no resctrl filesystem at /sys/fs/resctrl (it needs Intel RDT or AMD PQoS hardware, CONFIG_X86_CPU_RESCTRL and `mount -t resctrl resctrl /sys/fs/resctrl`) — hint: delete linux.intelRdt")
	}
	return fmt.Errorf("linux.intelRdt: hako does not manage resctrl groups yet — hint: delete linux.intelRdt, or run this container with runc")
}

// hasProc reports whether s mounts a procfs at /proc.
func hasProc(s *specs.Spec) bool {
	for _, m := range s.Mounts {
		if m.Type == "proc" && filepath.Clean(m.Destination) == "/proc" {
			return true
		}
	}
	return false
}

// hookStage makes the Go runner run hooks of the stage name inside the
// container's namespaces, with state on their stdin.
func hookStage(p *sysprog.Program, name string, hs []specs.Hook, state []byte) {
	payload, err := json.Marshal(&stage.HooksPayload{Name: name, Hooks: hs, State: state})
	if err != nil {
		payload = []byte(`{}`) // specs.Hook always encodes
	}
	p.Stage(name+" hooks", stage.Hooks, p.Bytes(payload), sysprog.Imm(len(payload)))
}

// compileExecProcess compiles `hako exec`: a process joining a running
// container's namespaces (ns: type -> /proc/INIT/ns/... path).
func compileExecProcess(o *ExecOptions) (_ *plan, err error) {
	proc := o.Spec.Process
	var ns nsPlan
	// The user namespace first: the others belong to it.
	for _, t := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.CgroupNamespace, specs.IPCNamespace, specs.UTSNamespace,
		specs.NetworkNamespace, specs.PIDNamespace, specs.TimeNamespace, specs.MountNamespace} {
		if path := o.Namespaces[string(t)]; path != "" {
			ns.join = append(ns.join, specs.LinuxNamespace{Type: t, Path: path})
		}
	}
	pl, err := newPlan(len(o.ExtraFiles))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			pl.close()
		}
	}()
	pl.ns = ns
	pl.spawn = true // the raw child is never in the container's pid namespace
	p := pl.p
	stdio := []*os.File{orStd(o.Stdin, os.Stdin), orStd(o.Stdout, os.Stdout), orStd(o.Stderr, os.Stderr)}
	if err := pl.placeFiles(stdio, o.ExtraFiles); err != nil {
		return nil, err
	}
	if err := pl.openJoins(); err != nil {
		return nil, err
	}
	session := sysprog.NewSession
	if proc.Terminal {
		session = sysprog.NewSessionTTY
	}
	trampFD, err := pl.trampoline(sysprog.TrampolineOptions{Fifo: -1, Session: session, Seccomp: trampSeccomp(o.Seccomp, proc, notifies(o.Spec)), Sched: trampolineSched(proc, true)}, len(o.ExtraFiles))
	if err != nil {
		return nil, err
	}
	// In the container's cgroup before it joins anything.
	p.Wait(stepFail("waiting for the cgroup", ""))
	from := p.Len()
	for i, n := range ns.join {
		fail := func(errno syscall.Errno) error {
			return &Error{Step: "joining the container's namespaces", Err: fmt.Errorf("setns(%s): %w", n.Path, errno)}
		}
		if n.Type == specs.TimeNamespace {
			// setns into a time namespace needs a process that shares
			// its memory with no other: a forked copy goes on (in the
			// container's pid namespace, joined before).
			pl.respawn = true
			p.Respawn(stepFail("joining the container's time namespace", "fork"))
		}
		p.Call(fail, unix.SYS_SETNS, sysprog.Imm(pl.ns.joinFDs[i]), sysprog.Imm(nsFlags[n.Type]))
		p.Call(nil, unix.SYS_CLOSE, sysprog.Imm(pl.ns.joinFDs[i]))
		if n.Type == specs.UserNamespace {
			pl.becomeRoot("the container's user namespace")
		}
	}
	p.OnlyRaw(from)
	pl.handover(trampFD)
	if proc.Terminal {
		pl.console = true
		compileTerminal(p, proc)
		if !sysprog.Supported {
			p.Call(stepFail("setsid", ""), unix.SYS_SETSID)
			p.Call(stepFail("setting up the terminal", "making the pty the controlling terminal"), unix.SYS_IOCTL, sysprog.Imm(0), sysprog.Imm(unix.TIOCSCTTY), sysprog.Imm(0))
		}
	} else if !sysprog.Supported {
		p.Call(stepFail("setsid", ""), unix.SYS_SETSID)
	}
	if notifies(o.Spec) {
		// The raw child would load the filter and fork the process: the
		// agent must get the listener with the process's pid before
		// the process makes a notified call, so the Go runner, which
		// is the process, loads it.
		pl.listener = o.SeccompListener
		p.RequireGo("SCMP_ACT_NOTIFY in an exec'd process: the process itself loads the filter and hands on the listener")
	}
	paths, idx, err := compileProcess(p, proc, o.Spec.Linux, o.Seccomp, len(o.ExtraFiles), ns.joins(specs.UserNamespace), sysprog.Supported, pl.listener != nil)
	if err != nil {
		return nil, err
	}
	compileExec(p, true, trampFD, paths, idx, proc, o.Seccomp, pl.listener != nil)
	return pl, nil
}

// compileTerminal makes the runner open a pty in the container's devpts
// (its /dev/ptmx, after the root changed or the mount namespace was
// joined), unlock it, size it, give the slave to process.user, send the
// master to the parent and put the slave on fds 0, 1 and 2; it becomes the
// controlling terminal of the process's session after.
func compileTerminal(p *sysprog.Program, proc *specs.Process) {
	fail := stepFail("setting up the terminal", "opening /dev/ptmx in the container (is /dev/pts mounted with newinstance and ptmxmode=0666?)")
	m := p.Result(fail, unix.SYS_OPENAT, sysprog.Imm(^uintptr(99)), p.Str("/dev/ptmx"), sysprog.Imm(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC), sysprog.Imm(0))
	p.Call(stepFail("setting up the terminal", "unlocking the pty"), unix.SYS_IOCTL, sysprog.R(m), sysprog.Imm(unix.TIOCSPTLCK), p.Buffer(4))
	if size := proc.ConsoleSize; size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		p.Call(stepFail("setting up the terminal", "process.consoleSize"), unix.SYS_IOCTL, sysprog.R(m), sysprog.Imm(unix.TIOCSWINSZ), sysprog.Value(p, ws))
	}
	slave := p.Result(stepFail("setting up the terminal", "opening the pty's slave"), unix.SYS_IOCTL, sysprog.R(m), sysprog.Imm(unix.TIOCGPTPEER), sysprog.Imm(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	p.Call(stepFail("setting up the terminal", fmt.Sprintf("giving the pty to process.user %d:%d", proc.User.UID, proc.User.GID)),
		unix.SYS_FCHOWN, sysprog.R(slave), sysprog.Imm(proc.User.UID), sysprog.Imm(proc.User.GID))
	p.SendFD(stepFail("setting up the terminal", "sending the pty master"), m)
	p.Call(nil, unix.SYS_CLOSE, sysprog.R(m))
	for fd := 0; fd <= 2; fd++ {
		p.Call(stepFail("setting up the terminal", "dup2 of the pty"), unix.SYS_DUP3, sysprog.R(slave), sysprog.Imm(fd), sysprog.Imm(0))
	}
	p.Call(nil, unix.SYS_CLOSE, sysprog.R(slave))
}

func stepFail(step, what string) sysprog.Fail {
	return func(errno syscall.Errno) error {
		if what == "" {
			return &Error{Step: step, Err: errno}
		}
		return &Error{Step: step, Err: fmt.Errorf("%s: %w", what, errno)}
	}
}

func compileSysctls(p *sysprog.Program, m map[string]string) error {
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		v := m[k]
		rel := strings.ReplaceAll(k, ".", "/")
		if strings.Contains(k, "/") || strings.Contains(rel, "..") || k == "" {
			return &Error{Step: "setting sysctls", Err: fmt.Errorf("linux.sysctl[%q]: not a sysctl name", k)}
		}
		fail := stepFail("setting sysctls", fmt.Sprintf("linux.sysctl[%q] = %q", k, v))
		fd := p.Result(fail, unix.SYS_OPENAT, sysprog.Imm(^uintptr(99)), p.Str("/proc/sys/"+rel), sysprog.Imm(unix.O_WRONLY|unix.O_CLOEXEC|unix.O_TRUNC), sysprog.Imm(0))
		p.Call(fail, unix.SYS_WRITE, sysprog.R(fd), p.Bytes([]byte(v)), sysprog.Imm(len(v)))
		p.Call(nil, unix.SYS_CLOSE, sysprog.R(fd))
	}
	return nil
}

// compileTimeOffsets writes linux.timeOffsets for the new time namespace,
// which the runner's children and its next execve enter: before the
// Go runner's execve, while no process is in it (the kernel refuses
// offsets after that), through the /proc the runner still sees (the
// host's, or the container's at the latest).
func compileTimeOffsets(p *sysprog.Program, offs map[string]specs.LinuxTimeOffset) {
	if len(offs) == 0 {
		return
	}
	var b strings.Builder
	for _, clock := range slices.Sorted(maps.Keys(offs)) {
		fmt.Fprintf(&b, "%s %d %d\n", clock, offs[clock].Secs, offs[clock].Nanosecs)
	}
	text := b.String()
	fail := func(errno syscall.Errno) error {
		hint := ""
		if errno == unix.EACCES || errno == unix.EPERM {
			hint = " — hint: the offsets need CAP_SYS_TIME in the time namespace's user namespace"
		}
		return &Error{Step: "setting the time namespace's offsets", Err: fmt.Errorf("linux.timeOffsets (%q): /proc/self/timens_offsets: %w%s", strings.TrimSpace(text), errno, hint)}
	}
	fd := p.Result(fail, unix.SYS_OPENAT, sysprog.Imm(^uintptr(99)), p.Str("/proc/self/timens_offsets"), sysprog.Imm(unix.O_WRONLY|unix.O_CLOEXEC), sysprog.Imm(0))
	p.Call(fail, unix.SYS_WRITE, sysprog.R(fd), p.Bytes([]byte(text)), sysprog.Imm(len(text)))
	p.Call(nil, unix.SYS_CLOSE, sysprog.R(fd))
}

// compileLoopback brings lo up in the new network namespace, as runc
// does: a process in the container can then reach 127.0.0.1 and ::1. The
// flags are read and IFF_UP is added to them.
func compileLoopback(p *sysprog.Program) {
	fail := stepFail("bringing up the loopback interface", "")
	s := p.Result(fail, unix.SYS_SOCKET, sysprog.Imm(unix.AF_INET), sysprog.Imm(unix.SOCK_DGRAM|unix.SOCK_CLOEXEC), sysprog.Imm(0))
	ifr := make([]byte, unix.IFNAMSIZ+24)
	copy(ifr, "lo")
	req := p.Bytes(ifr)
	p.Call(fail, unix.SYS_IOCTL, sysprog.R(s), sysprog.Imm(unix.SIOCGIFFLAGS), req)
	up := make([]byte, 2)
	*(*uint16)(unsafe.Pointer(&up[0])) = unix.IFF_UP
	p.OrInto(req, unix.IFNAMSIZ, up)
	p.Call(fail, unix.SYS_IOCTL, sysprog.R(s), sysprog.Imm(unix.SIOCSIFFLAGS), req)
	p.Call(nil, unix.SYS_CLOSE, sysprog.R(s))
}

func nsFile(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	}
	return string(t)
}

func orStd(f, std *os.File) *os.File {
	if f != nil {
		return f
	}
	return std
}
