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
	kindPtr
)

// Arg is one argument of an op.
type Arg struct {
	kind argKind
	val  uintptr
	ptr  unsafe.Pointer
}

// Imm is a constant argument.
func Imm[T ~int | ~uint | ~uintptr | ~int32 | ~uint32 | ~int64 | ~uint64](v T) Arg {
	return Arg{kind: kindImm, val: uintptr(v)}
}

// R is the value held in register r when the op runs.
func R(r Reg) Arg { return Arg{kind: kindReg, val: uintptr(r)} }

// Ptr is a pointer to memory the program keeps alive.
func Ptr(p unsafe.Pointer) Arg { return Arg{kind: kindPtr, ptr: p} }

// Macro ops: steps that need a decision in the child, not only a syscall.
const (
	macroBase     = 1 << 20
	opWaitByte    = macroBase + iota // read one byte from fd a0; EOF means the parent gave up: exit quietly
	opMask                           // mask path a0 with /dev/null (reg a1) or a read-only tmpfs (reg a2)
	opFindExec                       // first executable regular file among a1 paths at a0 -> out
	opExecve                         // execve(paths a0[reg a1], argv a2, envp a3)
	opCheckCwd                       // getcwd into buffer a0 (size a1) must be reachable from the root
	opCheckNull                      // fstat(reg a0) must be the character device 1:3
	opSendFD                         // send fd (reg a1) over socket a0 with SCM_RIGHTS
	opStatIsDir                      // fstat(reg a0): out = 1 for a directory, else 0
	opSkipIfZero                     // skip the next a1 ops when reg a0 is zero
	opExecTramp                      // execveat(a0, "", argv a3 with [0] = paths a1[reg a2], envp a4), report fd a5 kept open
	opSpawnTramp                     // as opExecTramp, in a new process (vfork); this one exits
	opCloexecFrom                    // mark every fd >= a0 close-on-exec: close_range, else fcntl per open fd
)

type op struct {
	nr   uintptr
	args [6]Arg
	out  Reg
	ok   [2]syscall.Errno // errnos that count as success (out is then 0)
}

// Fail builds the error for an op that failed with errno.
type Fail func(errno syscall.Errno) error

// Program is a compiled setup, built by the parent and run by the child.
type Program struct {
	ops   []op
	fails []Fail
	regs  []uintptr
	keep  []any
	nregs int

	syncFD int    // the child's end of the socket to the parent
	rec    []byte // 8 bytes: failure record written by the child
	tok    []byte // 1 byte: token buffer
	cwdBuf []byte
	dirBuf []byte // getdents64 buffer of opCloexecFrom
	errMsg []byte // written to fd 2 when the parent no longer listens
	digits []byte

	// constants and scratch memory of the macro ops
	empty, tmpfs, modeKey, modeVal []byte
	stx                            unix.Statx_t
	stack                          []byte // the child's stack
	execFail                       Fail
	// forkTid is where the kernel stores the pid of the process an
	// opSpawnTramp made (CLONE_PARENT_SETTID), in the memory the child
	// shares with the parent; spawn is that op's scratch.
	forkTid int32
	spawn   spawnCtx
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
// everything a run allocates); the unused tail of a fresh large
// allocation is never touched, so it costs no memory.
const initialOps = 512

// New starts an empty program whose child reports on fd syncFD (which the
// child inherits from the parent).
func New(syncFD int) *Program {
	return &Program{ops: make([]op, 0, initialOps), fails: make([]Fail, 0, initialOps),
		syncFD: syncFD, rec: make([]byte, 8), tok: make([]byte, 1), regs: make([]uintptr, MaxRegs+1),
		errMsg: []byte("hako: container setup failed after its runtime exited; errno "), digits: make([]byte, 12),
		empty: []byte{0}, tmpfs: []byte("tmpfs\x00"), modeKey: []byte("mode\x00"), modeVal: []byte("755\x00")}
}

// Len is the number of ops so far.
func (p *Program) Len() int { return len(p.ops) }

// NewReg allocates a register.
func (p *Program) NewReg() Reg {
	if p.nregs >= MaxRegs {
		panic("sysprog: out of registers") // a compiler bug, never input-dependent
	}
	p.nregs++
	return Reg(p.nregs)
}

func (p *Program) add(nr uintptr, out Reg, fail Fail, args []Arg) {
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

// Keep keeps v (memory an op points into) alive as long as the program.
func (p *Program) Keep(v any) { p.keep = append(p.keep, v) }

// Str returns a pointer argument to a NUL-terminated copy of s.
func (p *Program) Str(s string) Arg {
	b, err := syscall.BytePtrFromString(s)
	if err != nil {
		// s holds a NUL: no path or option can; the compiler validated it.
		b, _ = syscall.BytePtrFromString("\x01invalid")
	}
	p.Keep(b)
	return Ptr(unsafe.Pointer(b))
}

// Bytes returns a pointer argument to a copy of b.
func (p *Program) Bytes(b []byte) Arg {
	c := append([]byte(nil), b...)
	if len(c) == 0 {
		c = []byte{0}
	}
	p.Keep(c)
	return Ptr(unsafe.Pointer(&c[0]))
}

// StrList returns a pointer to a NULL-terminated array of C strings
// (argv, envp) and the number of strings.
func (p *Program) StrList(ss []string) (Arg, int) {
	l, err := syscall.SlicePtrFromStrings(ss)
	if err != nil {
		l, _ = syscall.SlicePtrFromStrings([]string{"\x01invalid"})
	}
	l = append(l, nil)
	p.Keep(l)
	return Ptr(unsafe.Pointer(&l[0])), len(ss)
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

// CheckCwd fails with ENOENT when the working directory is not reachable
// from the root (a leaked fd used as cwd: CVE-2024-21626).
func (p *Program) CheckCwd(fail Fail) {
	if p.cwdBuf == nil {
		p.cwdBuf = make([]byte, 4096)
	}
	p.add(opCheckCwd, 0, fail, []Arg{Ptr(unsafe.Pointer(&p.cwdBuf[0])), Imm(len(p.cwdBuf))})
}

// SendFD sends the fd in r to the parent with SCM_RIGHTS.
func (p *Program) SendFD(fail Fail, r Reg) {
	buf := make([]byte, syscall.CmsgSpace(4))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&buf[0]))
	h.Level, h.Type = syscall.SOL_SOCKET, syscall.SCM_RIGHTS
	h.SetLen(syscall.CmsgLen(4))
	data := []byte{'F'}
	msg := &syscall.Msghdr{Control: &buf[0]}
	msg.SetControllen(len(buf))
	iov := &syscall.Iovec{Base: &data[0]}
	iov.SetLen(1)
	msg.Iov, msg.Iovlen = iov, 1
	p.Keep(buf)
	p.Keep(data)
	p.Keep(msg)
	p.Keep(iov)
	p.add(opSendFD, 0, fail, []Arg{Imm(p.syncFD), R(r), Ptr(unsafe.Pointer(msg)), Ptr(unsafe.Pointer(&buf[syscall.CmsgLen(0)]))})
}

// FindExec returns a register holding the index of the first of paths
// that is an executable regular file for the current credentials. When
// none is, the op fails with ENOENT, or with the errno of the first
// candidate that exists but cannot be executed (EACCES, EISDIR).
func (p *Program) FindExec(fail Fail, paths []string) Reg {
	l, n := p.StrList(paths)
	out := p.NewReg()
	st := new(syscall.Stat_t)
	p.Keep(st)
	p.add(opFindExec, out, fail, []Arg{l, Imm(n), Ptr(unsafe.Pointer(st))})
	return out
}

// CloexecFrom marks every fd from fd on close-on-exec. It tries
// close_range(CLOSE_RANGE_CLOEXEC) and, where that is refused (a kernel
// before 5.11, or a seccomp filter hako itself runs under), marks each fd
// listed in /proc/self/fd with fcntl; without /proc, every fd up to the
// RLIMIT_NOFILE soft limit.
func (p *Program) CloexecFrom(fail Fail, fd int) {
	if p.dirBuf == nil {
		p.dirBuf = make([]byte, 4096)
	}
	p.add(opCloexecFrom, 0, fail, []Arg{Imm(fd), Ptr(unsafe.Pointer(&p.dirBuf[0])), Imm(len(p.dirBuf)), p.Str("/proc/self/fd")})
}

// Execve executes paths[reg idx] with argv and envp.
func (p *Program) Execve(fail Fail, paths []string, idx Reg, argv, envp []string) {
	l, _ := p.StrList(paths)
	a, _ := p.StrList(argv)
	e, _ := p.StrList(envp)
	p.add(opExecve, 0, fail, []Arg{l, R(idx), a, e})
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

// ExecFail builds the error for a failed execve of the container's process.
func (p *Program) SetExecFail(f Fail) { p.execFail = f }

func (p *Program) execFailure(errno syscall.Errno) error {
	if p.execFail != nil {
		return p.execFail(errno)
	}
	return fmt.Errorf("executing the container's process: %w", errno)
}
