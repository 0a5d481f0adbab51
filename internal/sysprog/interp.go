//go:build linux

package sysprog

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Everything in this file runs in the cloned child, where the Go runtime
// must not be entered: no allocation, no stack growth, no write barriers,
// no use of g (the child runs on its own stack but still finds the parent
// thread's g in its TLS). Every function is //go:nosplit and touches only
// memory the parent prepared: the child shares it with the parent, which
// neither reads nor changes it until the child has executed or exited.

// resetSignals gives back to the kernel's default every signal the Go
// runtime handles (one it ignores stays ignored, as it does across
// execve), then unblocks every signal.
//
//go:nosplit
//go:norace
//go:noinline
func resetSignals() {
	var act, old [4]uintptr // struct sigaction: handler, flags, restorer, mask
	for sig := uintptr(1); sig < 65; sig++ {
		if sig == uintptr(syscall.SIGKILL) || sig == uintptr(syscall.SIGSTOP) {
			continue
		}
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
			continue
		}
		if old[0] > 1 { // neither SIG_DFL (0) nor SIG_IGN (1)
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
		}
	}
	var none uintptr
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, 2 /* SIG_SETMASK */, uintptr(unsafe.Pointer(&none)), 0, 8, 0, 0)
}

// runChild runs the whole program in the raw child: a stage (which only
// the Go runner can run) fails it.
//
//go:nosplit
//go:norace
func (p *Program) runChild() {
	i := p.run(0, flagGoOnly)
	if i < len(p.ops) {
		p.die(i, syscall.ENOSYS) // a stage: the compiler should have chosen the Go runner
	}
	p.die(len(p.ops), syscall.ENOEXEC) // the program ended without an execve
}

// run runs the ops from index from on, but those flagged skip, and
// returns the index of the first stage op (len(p.ops) when there is
// none). A failing op reports and exits.
//
//go:nosplit
//go:norace
func (p *Program) run(from int, skip uint8) int {
	ops := p.ops
	regs := p.regs
	for i := from; i < len(ops); i++ {
		o := &ops[i]
		if o.flags&skip != 0 && !(o.nr == opHandover && p.goMode) {
			continue
		}
		if o.nr == opStage {
			return i
		}
		var a [6]uintptr
		for j := 0; j < 6; j++ {
			switch o.args[j].kind {
			case kindImm:
				a[j] = o.args[j].val
			case kindReg:
				a[j] = regs[o.args[j].val]
			case kindMem:
				a[j] = uintptr(p.base) + o.args[j].val
			}
		}
		var r uintptr
		var e syscall.Errno
		skip := 0
		if o.nr < macroBase {
			r, _, e = syscall.RawSyscall6(o.nr, a[0], a[1], a[2], a[3], a[4], a[5])
		} else {
			r, e, skip = p.macro(o, &a)
		}
		if e != 0 {
			if e != o.ok[0] && e != o.ok[1] && o.flags&flagAnyErr == 0 {
				p.die(i, e)
			}
			r = 0
		}
		if o.out != 0 {
			regs[o.out] = r
		}
		i += skip
	}
	return len(ops)
}

// at is the memory an op's memory argument points at.
//
//go:nosplit
//go:norace
func (p *Program) at(a Arg) unsafe.Pointer { return unsafe.Add(p.base, a.val) }

//go:nosplit
//go:norace
func (p *Program) macro(o *op, a *[6]uintptr) (uintptr, syscall.Errno, int) {
	switch o.nr {
	case opWaitByte:
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, a[0], uintptr(unsafe.Pointer(&p.scratch.tok[0])), 1)
		if e == 0 && n == 0 {
			// The parent went away: nobody wants this container.
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 1, 0, 0)
		}
		return 0, e, 0
	case opMask:
		return 0, p.mask(a[0], a[1]), 0
	case opFindExec:
		r, e := p.findExec(p.at(o.args[0]), int(a[1]))
		return r, e, 0
	case opExecve:
		path := *(*uintptr)(unsafe.Add(p.at(o.args[0]), a[1]*unsafe.Sizeof(uintptr(0))))
		resetSignals()
		_, _, e := syscall.RawSyscall(syscall.SYS_EXECVE, path, a[2], a[3])
		return 0, e, 0
	case opExecTramp:
		if e := p.trampPrelude(o, a); e != 0 {
			return 0, e, 0
		}
		_, _, e := syscall.RawSyscall6(unix.SYS_EXECVEAT, a[0], uintptr(unsafe.Pointer(&p.scratch.empty[0])), a[3], a[4], unix.AT_EMPTY_PATH, 0)
		syscall.RawSyscall(syscall.SYS_FCNTL, a[5], syscall.F_SETFD, syscall.FD_CLOEXEC)
		return 0, e, 0
	case opCheckCwd:
		_, _, e := syscall.RawSyscall(syscall.SYS_GETCWD, a[0], a[1], 0)
		if e == syscall.ENOENT {
			return 0, e, 0 // unreachable from the root
		}
		if e != 0 {
			return 0, 0, 0 // cannot tell: a seccomp profile refused getcwd (runc lets that pass too)
		}
		if *(*byte)(p.at(o.args[0])) != '/' {
			return 0, syscall.ENOENT, 0
		}
		return 0, 0, 0
	case opCheckNull:
		if e := p.statFD(a[0]); e != 0 {
			return 0, e, 0
		}
		st := &p.scratch.stx
		if st.Mode&syscall.S_IFMT != syscall.S_IFCHR || st.Rdev_major != 1 || st.Rdev_minor != 3 {
			return 0, syscall.ENODEV, 0
		}
		return 0, 0, 0
	case opStatIsDir:
		if e := p.statFD(a[0]); e != 0 {
			return 0, e, 0
		}
		if p.scratch.stx.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			return 1, 0, 0
		}
		return 0, 0, 0
	case opSkipIfZero:
		if a[0] == 0 {
			return 0, 0, int(a[1])
		}
		return 0, 0, 0
	case opSpawnTramp:
		if e := p.trampPrelude(o, a); e != 0 {
			return 0, e, 0
		}
		s := p.scratch
		t := &s.spawn
		t.tramp, t.path, t.argv, t.envp, t.errno = a[0], uintptr(unsafe.Pointer(&s.empty[0])), a[3], a[4], 0
		e := spawnTramp(&s.forkFD, t)
		if e != 0 {
			syscall.RawSyscall(syscall.SYS_FCNTL, a[5], syscall.F_SETFD, syscall.FD_CLOEXEC)
			return 0, e, 0
		}
		p.reportPid()
		for {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
		}
	case opCloexecFrom:
		return 0, p.cloexecFrom(o, a), 0
	case opTryChdir:
		_, _, e := syscall.RawSyscall(syscall.SYS_CHDIR, a[0], 0, 0)
		if e == syscall.EACCES || e == syscall.EPERM {
			return 1, 0, 0
		}
		return 0, e, 0
	case opOrBytes:
		for i := uintptr(0); i < a[2]; i++ {
			*(*byte)(unsafe.Add(p.at(o.args[0]), i)) |= *(*byte)(unsafe.Add(p.at(o.args[1]), i))
		}
		return 0, 0, 0
	case opRefuseSame:
		for i := 0; i < 2; i++ {
			if _, _, e := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, a[i], 0, unix.STATX_INO, a[2+i], 0); e != 0 {
				return 0, 0, 0 // cannot tell
			}
		}
		x, y := (*unix.Statx_t)(p.at(o.args[2])), (*unix.Statx_t)(p.at(o.args[3]))
		if x.Ino == y.Ino && x.Dev_major == y.Dev_major && x.Dev_minor == y.Dev_minor {
			return 0, syscall.EPERM, 0
		}
		return 0, 0, 0
	case opRespawn:
		s := p.scratch
		pid, _, e := syscall.RawSyscall6(syscall.SYS_CLONE, syscall.CLONE_PARENT|unix.CLONE_PIDFD|uintptr(syscall.SIGCHLD), 0, uintptr(unsafe.Pointer(&s.forkFD)), 0, 0, 0)
		if e != 0 {
			return 0, e, 0
		}
		if pid == 0 {
			// The new process goes on. (The pidfd is installed in our
			// parent's fd table after the table was copied: not here.)
			return 0, 0, 0
		}
		p.reportPid()
		for {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
		}
	case opHandover:
		fds := p.at(o.args[3])
		for i := uintptr(0); i < a[4]; i++ {
			fd := uintptr(*(*uint32)(unsafe.Add(fds, 4*i)))
			if _, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_SETFD, 0); e != 0 {
				return 0, e, 0
			}
		}
		if a[5] == 0 {
			_, _, e := syscall.RawSyscall6(unix.SYS_EXECVEAT, a[0], uintptr(unsafe.Pointer(&p.scratch.empty[0])), a[1], a[2], unix.AT_EMPTY_PATH, 0)
			return 0, e, 0
		}
		s := p.scratch
		t := &s.spawn
		t.tramp, t.path, t.argv, t.envp, t.errno = a[0], uintptr(unsafe.Pointer(&s.empty[0])), a[1], a[2], 0
		if e := spawnTramp(&s.forkFD, t); e != 0 {
			return 0, e, 0
		}
		p.reportPid()
		for {
			syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
		}
	case opResetSignals:
		resetSignals()
		return 0, 0, 0
	case opSendFD:
		*(*int32)(p.at(o.args[3])) = int32(a[1])
		_, _, e := syscall.RawSyscall(syscall.SYS_SENDMSG, a[0], a[2], msgNoSignal)
		return 0, e, 0
	}
	return 0, syscall.ENOSYS, 0
}

// reportPid tells the parent which process the program spawned or forked:
// the record "P" with a pidfd of it (forkFD), which it closes.
//
//go:nosplit
//go:norace
func (p *Program) reportPid() {
	s := p.scratch
	m := &s.pidMsg // its pointers were set by load: no write barrier here
	*(*int32)(unsafe.Pointer(&m.cmsg[syscall.SizeofCmsghdr])) = s.forkFD
	syscall.RawSyscall(syscall.SYS_SENDMSG, uintptr(p.syncFD), uintptr(unsafe.Pointer(&m.hdr)), msgNoSignal)
	syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(s.forkFD), 0, 0)
}

// trampPrelude prepares the execveat of the trampoline for opExecTramp
// and opSpawnTramp: argv[0] (a3[0]) becomes the path found (a1[reg a2]),
// and the report fd a5 stays open across the execve.
//
//go:nosplit
//go:norace
func (p *Program) trampPrelude(o *op, a *[6]uintptr) syscall.Errno {
	path := *(*uintptr)(unsafe.Add(p.at(o.args[1]), a[2]*unsafe.Sizeof(uintptr(0))))
	*(*uintptr)(p.at(o.args[3])) = path // a plain store, no write barrier
	_, _, e := syscall.RawSyscall(syscall.SYS_FCNTL, a[5], syscall.F_SETFD, 0)
	return e
}

//go:nosplit
//go:norace
func (p *Program) statFD(fd uintptr) syscall.Errno {
	_, _, e := syscall.RawSyscall6(unix.SYS_STATX, fd, uintptr(unsafe.Pointer(&p.scratch.empty[0])),
		unix.AT_EMPTY_PATH, unix.STATX_TYPE|unix.STATX_MODE, uintptr(unsafe.Pointer(&p.scratch.stx)), 0)
	return e
}

// mask hides path: a read-only tmpfs over a directory, /dev/null (the fd
// in null) over anything else. A path that does not exist is skipped.
//
//go:nosplit
//go:norace
func (p *Program) mask(path, null uintptr) syscall.Errno {
	fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, path, unix.O_PATH|unix.O_CLOEXEC, 0, 0, 0)
	if e == syscall.ENOENT || e == syscall.ENOTDIR {
		return 0
	}
	if e != 0 {
		return e
	}
	e = p.statFD(fd)
	var m uintptr
	if e == 0 && p.scratch.stx.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		// One read-only tmpfs for every masked directory, as runc: the
		// first makes it, each gets a clone of it.
		if p.scratch.maskDir == 0 {
			var fc, t uintptr
			fc, _, e = syscall.RawSyscall(unix.SYS_FSOPEN, uintptr(unsafe.Pointer(&p.scratch.tmpfs[0])), unix.FSOPEN_CLOEXEC, 0)
			if e == 0 {
				_, _, e = syscall.RawSyscall6(unix.SYS_FSCONFIG, fc, unix.FSCONFIG_SET_STRING,
					uintptr(unsafe.Pointer(&p.scratch.modeK[0])), uintptr(unsafe.Pointer(&p.scratch.modeV[0])), 0, 0)
				if e == 0 {
					_, _, e = syscall.RawSyscall6(unix.SYS_FSCONFIG, fc, unix.FSCONFIG_CMD_CREATE, 0, 0, 0, 0)
				}
				if e == 0 {
					t, _, e = syscall.RawSyscall(unix.SYS_FSMOUNT, fc, unix.FSMOUNT_CLOEXEC,
						unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
				}
				syscall.RawSyscall(syscall.SYS_CLOSE, fc, 0, 0)
			}
			if e == 0 {
				p.scratch.maskDir = t + 1
			}
		}
		if e == 0 {
			m, _, e = syscall.RawSyscall(unix.SYS_OPEN_TREE, p.scratch.maskDir-1, uintptr(unsafe.Pointer(&p.scratch.empty[0])),
				unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
		}
	} else if e == 0 {
		m, _, e = syscall.RawSyscall(unix.SYS_OPEN_TREE, null, uintptr(unsafe.Pointer(&p.scratch.empty[0])),
			unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	}
	if e == 0 {
		_, _, e = syscall.RawSyscall6(unix.SYS_MOVE_MOUNT, m, uintptr(unsafe.Pointer(&p.scratch.empty[0])), fd,
			uintptr(unsafe.Pointer(&p.scratch.empty[0])), unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH, 0)
		syscall.RawSyscall(syscall.SYS_CLOSE, m, 0, 0)
	}
	syscall.RawSyscall(syscall.SYS_CLOSE, fd, 0, 0)
	return e
}

//go:nosplit
//go:norace
func (p *Program) findExec(list unsafe.Pointer, n int) (uintptr, syscall.Errno) {
	var first syscall.Errno
	for i := 0; i < n; i++ {
		path := *(*uintptr)(unsafe.Add(list, uintptr(i)*unsafe.Sizeof(uintptr(0))))
		_, _, e := syscall.RawSyscall6(unix.SYS_STATX, atFDCWD, path, 0,
			unix.STATX_TYPE|unix.STATX_MODE, uintptr(unsafe.Pointer(&p.scratch.stx)), 0)
		if e == 0 {
			switch p.scratch.stx.Mode & syscall.S_IFMT {
			case syscall.S_IFREG:
				_, _, e = syscall.RawSyscall(syscall.SYS_FACCESSAT, atFDCWD, path, unix.X_OK)
			case syscall.S_IFDIR:
				e = syscall.EISDIR
			default:
				e = syscall.EACCES
			}
		}
		if e == 0 {
			return uintptr(i), 0
		}
		if first == 0 && e != syscall.ENOENT && e != syscall.ENOTDIR {
			first = e
		}
	}
	if first == 0 {
		first = syscall.ENOENT
	}
	return 0, first
}

// die reports op i's failure to the parent and exits. When the parent no
// longer listens (after create returned), the reason goes to stderr.
//
//go:nosplit
//go:norace
func (p *Program) die(i int, e syscall.Errno) {
	s := p.scratch
	rec := &s.rec
	*(*uint32)(unsafe.Pointer(&rec[0])) = uint32(i)
	*(*uint32)(unsafe.Pointer(&rec[4])) = uint32(e)
	_, _, err := syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(p.syncFD), uintptr(unsafe.Pointer(&rec[0])), failRecord, msgNoSignal, 0, 0)
	if err != 0 {
		msg := s.errMsg
		syscall.RawSyscall(syscall.SYS_WRITE, 2, uintptr(unsafe.Pointer(&msg[0])), uintptr(len(msg)))
		d := &s.digits
		n := len(d)
		v := uint32(e)
		n--
		d[n] = '\n'
		for {
			n--
			d[n] = byte('0' + v%10)
			v /= 10
			if v == 0 || n == 0 {
				break
			}
		}
		syscall.RawSyscall(syscall.SYS_WRITE, 2, uintptr(unsafe.Pointer(&d[n])), uintptr(len(d)-n))
	}
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 1, 0, 0)
	}
}

// cloexecFrom is opCloexecFrom: a0 the first fd, a1 and a2 a buffer,
// a3 "/proc/self/fd".
//
//go:nosplit
//go:norace
func (p *Program) cloexecFrom(o *op, a *[6]uintptr) syscall.Errno {
	from := a[0]
	_, _, e := syscall.RawSyscall(unix.SYS_CLOSE_RANGE, from, ^uintptr(0), unix.CLOSE_RANGE_CLOEXEC)
	if e == 0 {
		return 0
	}
	dir, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, atFDCWD, a[3], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
	if e != 0 {
		var lim [2]uint64
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, uintptr(unsafe.Pointer(&lim)), 0, 0); e != 0 {
			return e
		}
		for fd := from; uint64(fd) < lim[0]; fd++ {
			syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_SETFD, syscall.FD_CLOEXEC)
		}
		return 0
	}
	buf := p.at(o.args[1])
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_GETDENTS64, dir, uintptr(buf), a[2])
		if e != 0 {
			syscall.RawSyscall(syscall.SYS_CLOSE, dir, 0, 0)
			return e
		}
		if n == 0 {
			break
		}
		for off := uintptr(0); off < n; {
			// struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name
			rec := unsafe.Add(buf, off)
			reclen := uintptr(*(*uint16)(unsafe.Add(rec, 16)))
			fd, ok := uintptr(0), false
			for i := uintptr(19); i < reclen; i++ {
				c := *(*byte)(unsafe.Add(rec, i))
				if c == 0 {
					break
				}
				if c < '0' || c > '9' {
					ok = false
					break
				}
				fd, ok = fd*10+uintptr(c-'0'), true
			}
			if ok && fd >= from && fd != dir {
				syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_SETFD, syscall.FD_CLOEXEC)
			}
			off += reclen
		}
	}
	syscall.RawSyscall(syscall.SYS_CLOSE, dir, 0, 0)
	return 0
}

// atFDCWD is AT_FDCWD (-100) as a syscall argument.
const atFDCWD = ^uintptr(99)
