package sysprog

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reg names a register of the child: it holds the result of an earlier op
// (usually a file descriptor). Register 0 is never written.
type Reg uint8

// MaxRegs is the number of registers a program may use.
const MaxRegs = 255

type argKind uint8

const (
	kindImm argKind = iota
	kindReg
	kindMem // an offset into the program's memory
)

// Arg is one argument of an op: a constant ([Imm]), a register ([R]), or
// memory of the program (made by [Program.Str], [Program.Bytes],
// [Program.StrList], [Program.Buffer], [Value], [Program.Filter]).
type Arg struct {
	kind argKind
	val  uintptr
}

// Imm is a constant argument.
func Imm[T ~int | ~uint | ~uintptr | ~int32 | ~uint32 | ~int64 | ~uint64](v T) Arg {
	return Arg{kind: kindImm, val: uintptr(v)}
}

// R is the value held in register r when the op runs.
func R(r Reg) Arg { return Arg{kind: kindReg, val: uintptr(r)} }

// Macro ops: steps that need a decision in the child, not only a syscall.
const (
	macroBase      = 1 << 20
	opWaitByte     = macroBase + iota // read one byte from fd a0; EOF means the parent gave up: exit quietly
	opMask                            // mask path a0 with /dev/null (reg a1) or a read-only tmpfs
	opFindExec                        // first executable regular file among a1 paths at a0 -> out
	opExecve                          // execve(paths a0[reg a1], argv a2, envp a3)
	opCheckCwd                        // getcwd into buffer a0 (size a1) must be reachable from the root
	opCheckNull                       // fstat(reg a0) must be the character device 1:3
	opSendFD                          // send fd (reg a1) over socket a0 with SCM_RIGHTS (msghdr a2, its fd slot a3)
	opStatIsDir                       // fstat(reg a0): out = 1 for a directory, else 0
	opSkipIfZero                      // skip the next a1 ops when reg a0 is zero
	opExecTramp                       // execveat(a0, "", argv a3 with [0] = paths a1[reg a2], envp a4), report fd a5 kept open
	opSpawnTramp                      // as opExecTramp, in a new process (vfork); report its pid; this one exits
	opCloexecFrom                     // mark every fd >= a0 close-on-exec: close_range, else fcntl per open fd
	opStage                           // a stage of the Go runner (a0: its id); the raw child cannot run it
	opResetSignals                    // default handlers for every signal the runtime handles, none blocked
	opOrBytes                         // OR the a2 bytes at a1 into the memory at a0
	opRespawn                         // fork into our parent's child (which goes on) and exit, reporting its pid
	opHandover                        // Go runner only: clear close-on-exec of the a4 fds at a3, execveat(a0, "", argv a1, envp a2); a5: in a new process (vfork), report its pid, exit
	opTryChdir                        // chdir(a0): out = 0, or 1 where it was refused (EACCES, EPERM)
	opRefuseSame                      // fail with EPERM when paths a0 and a1 are one file (statx into a2, a3); unknown is fine
)

// Op flags.
const (
	flagAnyErr  uint8 = 1 << iota // every errno counts as success (out is then 0)
	flagRawOnly                   // only the raw child runs it
	flagGoOnly                    // only the Go runner runs it
)

type op struct {
	nr    uintptr
	args  [6]Arg
	out   Reg
	flags uint8
	ok    [2]syscall.Errno // errnos that count as success (out is then 0)
}

// Fail builds the error for an op that failed with errno.
type Fail func(errno syscall.Errno) error

// Program is a compiled setup, built by the parent and run by a runner:
// the raw child ([Program.Start]) or the Go runner, a process of its own
// that receives the program ([Program.Marshal], [Unmarshal]) and runs it
// with [Program.Run].
//
// Everything an op points at lives in the program's memory, one byte
// slice: pointer arguments are offsets into it, and pointers inside it
// (argv arrays, a seccomp program's filter, a msghdr's buffers) are listed
// in relocs and made absolute once, when the program is loaded where it
// runs. So a program is plain data that can be copied to another process.
type Program struct {
	ops    []op
	fails  []Fail // the parent's only: what each op's failure means
	mem    []byte
	relocs []uint32 // offsets in mem of pointer slots, each holding an offset into mem until loaded
	nregs  int
	syncFD int // the child's end of the socket to the parent

	// needsGo is why a stage needs the Go runner ("" when none does).
	needsGo string
	// handover is the index of the op that hands the program over to the
	// Go runner (-1: none); the Go runner goes on after it.
	handover int

	execFail Fail

	// Where the program runs (set by load; never marshalled).
	loaded bool
	// goMode: the raw child hands the program over to the Go runner.
	goMode  bool
	base    unsafe.Pointer // &mem[0], relocated
	regs    []uintptr
	scratch *scratch
}

// scratch is the memory the macro ops use where the program runs.
type scratch struct {
	rec    [16]byte // a failure record written by the child
	tok    [1]byte  // a token read from the parent
	errMsg []byte   // written to fd 2 when the parent no longer listens
	digits [12]byte
	empty  [1]byte
	tmpfs  [6]byte
	modeK  [5]byte
	modeV  [4]byte
	stx    unix.Statx_t
	// maskDir is the read-only tmpfs every masked directory gets a clone
	// of (its fd + 1; 0 before the first).
	maskDir uintptr
	stack   []byte // the raw child's stack
	// forkFD is where the kernel stores a pidfd of the process an op
	// spawned or forked (CLONE_PIDFD); spawn is the spawn ops' scratch;
	// pidMsg sends the pidfd to the parent (SCM_RIGHTS): a pid would mean
	// nothing to it once the runner is in another pid namespace.
	forkFD int32
	spawn  spawnCtx
	pidMsg pidMsg
}

// pidMsg is a sendmsg(2) of the record "P" with one fd.
type pidMsg struct {
	hdr  syscall.Msghdr
	iov  syscall.Iovec
	cmsg [24]byte // CmsgSpace(4) on 64-bit: a cmsghdr and an int, aligned
	data [1]byte
}

// spawnCtx is what the process that opSpawnTramp makes needs, read by it
// from registers and memory only (it runs no Go code): the execveat
// arguments, and where it leaves its errno when execveat fails.
type spawnCtx struct {
	tramp, path, argv, envp uintptr
	errno                   uintptr
}

// initialOps is the ops a program has room for before it grows: `hako
// spec`'s config compiles to about 400. Growing by appending from zero
// allocated and copied twice the final size (190 KB per run, a third of
// everything a run allocated); the unused tail of a fresh large
// allocation is never touched, so it costs no memory.
const initialOps = 512

// New starts an empty program whose child reports on fd syncFD (which the
// child inherits from the parent).
func New(syncFD int) *Program {
	return &Program{ops: make([]op, 0, initialOps), fails: make([]Fail, 0, initialOps),
		mem: make([]byte, 0, 16<<10), syncFD: syncFD, handover: -1}
}

// Len is the number of ops so far.
func (p *Program) Len() int { return len(p.ops) }

// SyncFD is the fd the program reports on.
func (p *Program) SyncFD() int { return p.syncFD }

// NewReg allocates a register.
func (p *Program) NewReg() Reg {
	if p.nregs >= MaxRegs {
		panic("sysprog: out of registers") // a compiler bug, never input-dependent
	}
	p.nregs++
	return Reg(p.nregs)
}

func (p *Program) add(nr uintptr, out Reg, fail Fail, args []Arg) {
	if p.loaded {
		panic("sysprog: op added to a loaded program")
	}
	var o op
	o.nr, o.out = nr, out
	copy(o.args[:], args)
	p.ops = append(p.ops, o)
	p.fails = append(p.fails, fail)
}

// Call appends syscall nr with args; its result is discarded.
func (p *Program) Call(fail Fail, nr uintptr, args ...Arg) { p.add(nr, 0, fail, args) }

// Result appends syscall nr with args and returns the register that will
// hold its result.
func (p *Program) Result(fail Fail, nr uintptr, args ...Arg) Reg {
	r := p.NewReg()
	p.add(nr, r, fail, args)
	return r
}

// Tolerate makes the last op succeed when it fails with one of errnos.
func (p *Program) Tolerate(errnos ...syscall.Errno) {
	o := &p.ops[len(p.ops)-1]
	copy(o.ok[:], errnos)
}

// TolerateAll makes the last op succeed whatever it fails with: for best
// effort steps.
func (p *Program) TolerateAll() { p.ops[len(p.ops)-1].flags |= flagAnyErr }

// alloc reserves n zeroed bytes of the program's memory, aligned to 8.
func (p *Program) alloc(n int) uintptr {
	off := (len(p.mem) + 7) &^ 7
	if n == 0 {
		n = 1
	}
	need := off + n
	if need > cap(p.mem) {
		m := make([]byte, len(p.mem), max(2*cap(p.mem), need))
		copy(m, p.mem)
		p.mem = m
	}
	p.mem = p.mem[:need]
	clear(p.mem[off:need])
	return uintptr(off)
}

func mem(off uintptr) Arg { return Arg{kind: kindMem, val: off} }

// Bytes returns a memory argument holding a copy of b.
func (p *Program) Bytes(b []byte) Arg {
	off := p.alloc(len(b))
	copy(p.mem[off:], b)
	return mem(off)
}

// Str returns a memory argument holding s, NUL-terminated.
func (p *Program) Str(s string) Arg {
	off := p.alloc(len(s) + 1)
	copy(p.mem[off:], s)
	return mem(off)
}

// Buffer returns a memory argument of n zeroed bytes (scratch for an op).
func (p *Program) Buffer(n int) Arg { return mem(p.alloc(n)) }

// Value returns a memory argument holding a copy of *v, which must hold
// no pointers (a struct of the kernel's ABI).
func Value[T any](p *Program, v *T) Arg {
	n := int(unsafe.Sizeof(*v))
	off := p.alloc(n)
	copy(p.mem[off:], unsafe.Slice((*byte)(unsafe.Pointer(v)), n))
	return mem(off)
}

// pointer makes the word at memory offset slot point to target once the
// program is loaded.
func (p *Program) pointer(slot uintptr, target Arg) {
	*(*uintptr)(unsafe.Pointer(&p.mem[slot])) = target.val
	p.relocs = append(p.relocs, uint32(slot))
}

// StrList returns a memory argument holding a NULL-terminated array of C
// strings (argv, envp) and the number of strings.
func (p *Program) StrList(ss []string) (Arg, int) {
	strs := make([]Arg, len(ss))
	for i, s := range ss {
		strs[i] = p.Str(s)
	}
	arr := p.alloc((len(ss) + 1) * ptrSize)
	for i, s := range strs {
		p.pointer(arr+uintptr(i*ptrSize), s)
	}
	return mem(arr), len(ss)
}

const ptrSize = int(unsafe.Sizeof(uintptr(0)))

// Filter returns a memory argument holding a struct sock_fprog for the BPF
// program f, for seccomp(2).
func (p *Program) Filter(f []unix.SockFilter) Arg {
	if len(f) == 0 {
		return Imm(0)
	}
	prog := p.Bytes(unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), len(f)*int(unsafe.Sizeof(f[0]))))
	fprog := Value(p, &unix.SockFprog{Len: uint16(len(f))})
	p.pointer(fprog.val+unsafe.Offsetof(unix.SockFprog{}.Filter), prog)
	return fprog
}

// Signal makes the child send token t to the parent.
func (p *Program) Signal(t byte) {
	p.Call(nil, syscall.SYS_SENDTO, Imm(p.syncFD), p.Bytes([]byte{t}), Imm(1), Imm(msgNoSignal), Imm(0), Imm(0))
}

// Wait makes the child wait for the parent's go-ahead ([Child.Continue]).
func (p *Program) Wait(fail Fail) { p.add(opWaitByte, 0, fail, []Arg{Imm(p.syncFD)}) }

// Mask hides the file or directory at path: a directory gets an empty
// read-only tmpfs, anything else a bind of null (an fd on the null device).
// A missing path is skipped.
func (p *Program) Mask(fail Fail, path string, null Reg) {
	p.add(opMask, 0, fail, []Arg{p.Str(path), R(null)})
}

// CheckNull fails with ENODEV unless the file in r is the null device.
func (p *Program) CheckNull(fail Fail, r Reg) { p.add(opCheckNull, 0, fail, []Arg{R(r)}) }

// IsDir returns a register that is 1 when the file in r is a directory.
func (p *Program) IsDir(fail Fail, r Reg) Reg {
	out := p.NewReg()
	p.add(opStatIsDir, out, fail, []Arg{R(r)})
	return out
}

// SkipIfZero skips the next n ops when register r holds 0.
func (p *Program) SkipIfZero(r Reg, n int) { p.add(opSkipIfZero, 0, nil, []Arg{R(r), Imm(n)}) }

// TryChdir changes the working directory to path and returns a register
// holding 0, or 1 where the kernel refused it for permission (EACCES,
// EPERM): the caller may try again with other credentials.
func (p *Program) TryChdir(fail Fail, path string) Reg {
	out := p.NewReg()
	p.add(opTryChdir, out, fail, []Arg{p.Str(path)})
	return out
}

// CheckCwd fails with ENOENT when the working directory is not reachable
// from the root (a leaked fd used as cwd: CVE-2024-21626). Where getcwd
// itself is refused (a seccomp profile), it passes.
func (p *Program) CheckCwd(fail Fail) {
	const size = 4096
	p.add(opCheckCwd, 0, fail, []Arg{p.Buffer(size), Imm(size)})
}

// CloexecFrom marks every fd from fd on close-on-exec. It tries
// close_range(CLOSE_RANGE_CLOEXEC) and, where that is refused (a kernel
// before 5.11, or a seccomp filter hako itself runs under), marks each fd
// listed in /proc/self/fd with fcntl; without /proc, every fd up to the
// RLIMIT_NOFILE soft limit.
func (p *Program) CloexecFrom(fail Fail, fd int) {
	const size = 4096
	p.add(opCloexecFrom, 0, fail, []Arg{Imm(fd), p.Buffer(size), Imm(size), p.Str("/proc/self/fd")})
}

// SendFD sends the fd in r to the parent with SCM_RIGHTS.
func (p *Program) SendFD(fail Fail, r Reg) {
	cmsg := p.Buffer(syscall.CmsgSpace(4))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&p.mem[cmsg.val]))
	h.Level, h.Type = syscall.SOL_SOCKET, syscall.SCM_RIGHTS
	h.SetLen(syscall.CmsgLen(4))
	data := p.Bytes([]byte{'F'})
	iov := Value(p, &syscall.Iovec{Len: 1})
	p.pointer(iov.val+unsafe.Offsetof(syscall.Iovec{}.Base), data)
	msg := Value(p, &syscall.Msghdr{Iovlen: 1, Controllen: uint64(syscall.CmsgSpace(4))})
	p.pointer(msg.val+unsafe.Offsetof(syscall.Msghdr{}.Iov), iov)
	p.pointer(msg.val+unsafe.Offsetof(syscall.Msghdr{}.Control), cmsg)
	p.add(opSendFD, 0, fail, []Arg{Imm(p.syncFD), R(r), msg, mem(cmsg.val + uintptr(syscall.CmsgLen(0)))})
}

// FindExec returns a register holding the index of the first of paths
// that is an executable regular file for the current credentials. When
// none is, the op fails with ENOENT, or with the errno of the first
// candidate that exists but cannot be executed (EACCES, EISDIR).
func (p *Program) FindExec(fail Fail, paths []string) Reg {
	l, n := p.StrList(paths)
	out := p.NewReg()
	p.add(opFindExec, out, fail, []Arg{l, Imm(n)})
	return out
}

// OrInto makes the runner OR the bytes of src into dst's memory at off
// (say, a flag into what an earlier ioctl read there).
func (p *Program) OrInto(dst Arg, off int, src []byte) {
	p.add(opOrBytes, 0, nil, []Arg{mem(dst.val + uintptr(off)), p.Bytes(src), Imm(len(src))})
}

// ResetSignals gives every signal the Go runtime handles its default
// action back and unblocks every signal, as the process must start.
func (p *Program) ResetSignals() { p.add(opResetSignals, 0, nil, nil) }

// Execve executes paths[reg idx] with argv and envp (where there is no
// trampoline: see [Program.ExecThrough]); [Program.ResetSignals] first.
func (p *Program) Execve(fail Fail, paths []string, idx Reg, argv, envp []string) {
	l, _ := p.StrList(paths)
	a, _ := p.StrList(argv)
	e, _ := p.StrList(envp)
	p.add(opExecve, 0, fail, []Arg{l, R(idx), a, e})
}

// Stage is a step only Go can do (a hook, a copy): the Go runner stops
// there and calls its handler for id with the op's arguments (why: the
// reason the raw child cannot run this program). The raw child cannot run
// a program with a stage.
func (p *Program) Stage(why string, id int, args ...Arg) {
	if p.needsGo == "" {
		p.needsGo = why
	}
	p.add(opStage, 0, nil, append([]Arg{Imm(id)}, args...))
}

// RequireGo makes the program the Go runner's (why: the reason).
func (p *Program) RequireGo(why string) {
	if p.needsGo == "" {
		p.needsGo = why
	}
}

// RefuseSame fails with EPERM when paths a and b name one file (the same
// device and inode, links followed), say a process's namespace and PID
// 1's. Where either cannot be looked at (no /proc, no access), it passes.
func (p *Program) RefuseSame(fail Fail, a, b string) {
	n := int(unsafe.Sizeof(unix.Statx_t{}))
	p.add(opRefuseSame, 0, fail, []Arg{p.Str(a), p.Str(b), p.Buffer(n), p.Buffer(n)})
}

// Respawn moves the rest of the program into a new process: the runner
// forks (no shared memory: a copy) a child of its own parent, which goes
// on with the next op, reports the child's pid and exits. It is how the
// setup enters a pid namespace it joined or unshared, which only children
// enter, before it mounts /proc; a fork (not CLONE_VM) so that no process
// of a namespace shared with others ever shares hako's memory.
func (p *Program) Respawn(fail Fail) { p.add(opRespawn, 0, fail, nil) }

// Handover hands the program over to the Go runner where it runs in
// Go mode ([Program.StartGo]): the raw child clears close-on-exec of fds
// and executes exe (an fd) with argv and envp, which is expected to read
// this program and run it from the op after this one ([Program.Run]).
// With spawn it does so in a new process, as SpawnThrough does, and exits
// (a Go runtime cannot start threads in a process whose children go to
// another pid namespace than its own: the new process is in that
// namespace). In the raw child's own mode it does nothing.
func (p *Program) Handover(fail Fail, exe int, argv, envp []string, fds []int, spawn bool) {
	a, _ := p.StrList(argv)
	e, _ := p.StrList(envp)
	b := make([]byte, 0, 4*len(fds))
	for _, fd := range fds {
		b = append(b, byte(fd), byte(fd>>8), byte(fd>>16), byte(fd>>24))
	}
	p.handover = len(p.ops)
	sp := 0
	if spawn {
		sp = 1
	}
	p.add(opHandover, 0, fail, []Arg{Imm(exe), a, e, p.Bytes(b), Imm(len(fds)), Imm(sp)})
	p.ops[len(p.ops)-1].flags |= flagGoOnly
}

// HandoverAt is the index of the Handover op, -1 for none.
func (p *Program) HandoverAt() int { return p.handover }

// NeedsGo says why the program needs the Go runner ("" if it does not).
func (p *Program) NeedsGo() string { return p.needsGo }

// OnlyRaw marks the ops from index from to the last as the raw child's
// only: the Go runner does not run them (say, it entered the namespaces
// they join before it started).
func (p *Program) OnlyRaw(from int) {
	for i := from; i < len(p.ops); i++ {
		p.ops[i].flags |= flagRawOnly
	}
}

// OnlyGo marks the ops from index from to the last as the Go runner's
// only.
func (p *Program) OnlyGo(from int) {
	for i := from; i < len(p.ops); i++ {
		p.ops[i].flags |= flagGoOnly
	}
}

// Error is an op's failure as reported by the child.
type Error struct {
	Op    int
	Errno syscall.Errno
}

func (e *Error) Error() string {
	return fmt.Sprintf("container setup step %d failed: %v", e.Op, e.Errno)
}
func (e *Error) Unwrap() error { return e.Errno }

// failure turns a child's record into the op's error.
func (p *Program) failure(idx int, errno syscall.Errno) error {
	if idx >= 0 && idx < len(p.fails) && p.fails[idx] != nil {
		return p.fails[idx](errno)
	}
	return &Error{Op: idx, Errno: errno}
}

const msgNoSignal = 0x4000 // MSG_NOSIGNAL

// SetExecFail sets the error for a failed execve of the container's
// process.
func (p *Program) SetExecFail(f Fail) { p.execFail = f }

func (p *Program) execFailure(errno syscall.Errno) error {
	if p.execFail != nil {
		return p.execFail(errno)
	}
	return fmt.Errorf("executing the container's process: %w", errno)
}

// load makes the program runnable where it is: the pointers inside its
// memory become absolute, registers and scratch memory are made. After
// load no op can be added.
func (p *Program) load() {
	if p.loaded {
		return
	}
	if len(p.mem) == 0 {
		p.mem = append(p.mem, 0)
	}
	p.base = unsafe.Pointer(&p.mem[0])
	for _, slot := range p.relocs {
		w := (*uintptr)(unsafe.Pointer(&p.mem[slot]))
		*w += uintptr(p.base)
	}
	p.regs = make([]uintptr, MaxRegs+1)
	s := &scratch{errMsg: []byte("hako: container setup failed after its runtime exited; errno ")}
	copy(s.tmpfs[:], "tmpfs\x00")
	copy(s.modeK[:], "mode\x00")
	copy(s.modeV[:], "755\x00")
	m := &s.pidMsg
	m.data[0] = 'K'
	m.iov.Base, m.iov.Len = &m.data[0], 1
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&m.cmsg[0]))
	h.Level, h.Type = syscall.SOL_SOCKET, syscall.SCM_RIGHTS
	h.SetLen(syscall.CmsgLen(4))
	m.hdr.Iov, m.hdr.Iovlen = &m.iov, 1
	m.hdr.Control = &m.cmsg[0]
	m.hdr.SetControllen(len(m.cmsg))
	p.scratch = s
	p.loaded = true
}
