package sysprog

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// OpInfo is one op of a program as its compiler wrote it: what
// [Program.Ops] returns, for tests of compilers and for debugging. It is
// read-only: nothing in it changes the program.
type OpInfo struct {
	// Name is the system call's name ("openat2", "mount_setattr"), or,
	// for a step that is more than one system call, the name of the
	// Program method that added it ("Wait", "Mask", "Stage", "Handover").
	Name string
	// Nr is the system call's number; 0 for a method's step.
	Nr   uintptr
	Args [6]ArgInfo
	// Out is the register the op's result goes to (0: none).
	Out Reg
	// Tolerated are the errnos that count as success ([Program.Tolerate]);
	// AnyErr: every errno does ([Program.TolerateAll]).
	Tolerated []syscall.Errno
	AnyErr    bool
	// RawOnly and GoOnly: only that runner runs it ([Program.OnlyRaw],
	// [Program.OnlyGo]).
	RawOnly, GoOnly bool
}

// ArgInfo is one argument of an op.
type ArgInfo struct {
	// Kind is 'i' (a constant, [Imm]), 'r' (a register, [R]) or 'm'
	// (the program's memory).
	Kind byte
	// Val is the constant, the register's number, or the offset into the
	// program's memory.
	Val uintptr
	// Pointer: the memory argument starts with a pointer into the
	// program's memory (an argv array, a struct pointing at a buffer).
	Pointer bool
	// Mem is, for a memory argument, the program's memory from the
	// argument on, to its end (a copy shared by the ops of one Ops call):
	// a string argument starts with the string and its NUL, a struct
	// argument with the struct in the host's byte order.
	Mem []byte
	all []byte // the whole memory (the same copy)
}

// Ops describes the program's ops, in order. Call it before the program
// runs or once its runner is gone: a running raw child writes into the
// program's memory.
func (p *Program) Ops() []OpInfo {
	mem := append([]byte(nil), p.mem...)
	if p.loaded {
		// Loading made the pointers inside the memory absolute: show
		// them as offsets again, as they were compiled.
		for _, slot := range p.relocs {
			w := (*uintptr)(unsafe.Pointer(&mem[slot]))
			*w -= uintptr(p.base)
		}
	}
	slots := make(map[uintptr]bool, len(p.relocs))
	for _, slot := range p.relocs {
		slots[uintptr(slot)] = true
	}
	out := make([]OpInfo, len(p.ops))
	for i, o := range p.ops {
		info := OpInfo{Name: opName(o.nr), Out: o.out, AnyErr: o.flags&flagAnyErr != 0,
			RawOnly: o.flags&flagRawOnly != 0, GoOnly: o.flags&flagGoOnly != 0}
		if o.nr < macroBase {
			info.Nr = o.nr
		}
		for _, e := range o.ok {
			if e != 0 {
				info.Tolerated = append(info.Tolerated, e)
			}
		}
		for j, a := range o.args {
			ai := ArgInfo{Val: a.val}
			switch a.kind {
			case kindImm:
				ai.Kind = 'i'
			case kindReg:
				ai.Kind = 'r'
			case kindMem:
				ai.Kind = 'm'
				ai.Pointer = slots[a.val]
				ai.all = mem
				if a.val <= uintptr(len(mem)) {
					ai.Mem = mem[a.val:len(mem):len(mem)]
				}
			}
			info.Args[j] = ai
		}
		out[i] = info
	}
	return out
}

// Str is the NUL-terminated string a memory argument starts with; ok is
// false for another kind of argument or memory without a NUL.
func (a ArgInfo) Str() (s string, ok bool) {
	if a.Kind != 'm' {
		return "", false
	}
	i := strings.IndexByte(string(a.Mem), 0)
	if i < 0 {
		return "", false
	}
	return string(a.Mem[:i]), true
}

// Strs is the NULL-terminated array of strings (argv, envp) a memory
// argument holds; ok is false for anything else.
func (a ArgInfo) Strs() (ss []string, ok bool) {
	if a.Kind != 'm' || !a.Pointer {
		return nil, false
	}
	for off := 0; off+ptrSize <= len(a.Mem); off += ptrSize {
		v := *(*uintptr)(unsafe.Pointer(&a.Mem[off]))
		if v == 0 {
			return ss, true
		}
		if v >= uintptr(len(a.all)) {
			return nil, false
		}
		s, ok := ArgInfo{Kind: 'm', Mem: a.all[v:]}.Str()
		if !ok {
			return nil, false
		}
		ss = append(ss, s)
	}
	return nil, false
}

// String shows the argument as a constant in hex ("0x80000"), a register
// ("r3"), or memory as the printable string it starts with (`"etc"`),
// else by its offset ("mem+0x40"). Memory is told from a string by its
// content: a struct that starts like a string shows as one.
func (a ArgInfo) String() string {
	switch a.Kind {
	case 'i':
		return "0x" + strconv.FormatUint(uint64(a.Val), 16)
	case 'r':
		return "r" + strconv.Itoa(int(a.Val))
	}
	if s, ok := a.Str(); ok && !a.Pointer && (s != "" || len(a.Mem) == 1 || a.Val%8 == 0 && allZero(a.Mem[:min(8, len(a.Mem))])) && printable(s) {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("mem+%#x", a.Val)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// String shows the op as a call: `r4 = openat2(r1, "etc", mem+0x40, 0x18)`,
// its arguments up to the last one that is not the constant 0.
func (o OpInfo) String() string {
	var b strings.Builder
	if o.Out != 0 {
		fmt.Fprintf(&b, "r%d = ", o.Out)
	}
	b.WriteString(o.Name)
	b.WriteByte('(')
	n := len(o.Args)
	for n > 0 && o.Args[n-1].Kind == 'i' && o.Args[n-1].Val == 0 {
		n--
	}
	for j := 0; j < n; j++ {
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.Args[j].String())
	}
	b.WriteByte(')')
	if o.AnyErr {
		b.WriteString(" tolerating any error")
	} else if len(o.Tolerated) > 0 {
		names := make([]string, len(o.Tolerated))
		for i, e := range o.Tolerated {
			names[i] = unix.ErrnoName(e)
		}
		b.WriteString(" tolerating " + strings.Join(names, ","))
	}
	if o.RawOnly {
		b.WriteString(" [raw only]")
	}
	if o.GoOnly {
		b.WriteString(" [go only]")
	}
	return b.String()
}

// macroNames are the steps' names: the methods that add them.
var macroNames = map[uintptr]string{
	opWaitByte: "Wait", opMask: "Mask", opFindExec: "FindExec", opExecve: "Execve",
	opCheckCwd: "CheckCwd", opCheckNull: "CheckNull", opSendFD: "SendFD", opStatIsDir: "IsDir",
	opSkipIfZero: "SkipIfZero", opExecTramp: "ExecThrough", opSpawnTramp: "SpawnThrough",
	opCloexecFrom: "CloexecFrom", opStage: "Stage", opResetSignals: "ResetSignals",
	opOrBytes: "OrInto", opRespawn: "Respawn", opHandover: "Handover", opRefuseSame: "RefuseSame", opTryChdir: "TryChdir",
}

// syscallNames are the system calls setup programs make.
var syscallNames = map[uintptr]string{
	unix.SYS_READ: "read", unix.SYS_WRITE: "write", unix.SYS_CLOSE: "close", unix.SYS_IOCTL: "ioctl",
	unix.SYS_FCNTL: "fcntl", unix.SYS_DUP3: "dup3", unix.SYS_SENDTO: "sendto", unix.SYS_SENDMSG: "sendmsg",
	unix.SYS_SOCKET: "socket", unix.SYS_GETPID: "getpid", unix.SYS_SETSID: "setsid", unix.SYS_UMASK: "umask",
	unix.SYS_OPENAT: "openat", unix.SYS_OPENAT2: "openat2", unix.SYS_MKDIRAT: "mkdirat", unix.SYS_MKNODAT: "mknodat",
	unix.SYS_SYMLINKAT: "symlinkat", unix.SYS_UNLINKAT: "unlinkat", unix.SYS_FCHOWNAT: "fchownat", unix.SYS_FCHOWN: "fchown",
	unix.SYS_CHDIR: "chdir", unix.SYS_FCHDIR: "fchdir", unix.SYS_CHROOT: "chroot", unix.SYS_PIVOT_ROOT: "pivot_root",
	unix.SYS_MOUNT: "mount", unix.SYS_UMOUNT2: "umount2", unix.SYS_OPEN_TREE: "open_tree", unix.SYS_MOVE_MOUNT: "move_mount",
	unix.SYS_FSOPEN: "fsopen", unix.SYS_FSCONFIG: "fsconfig", unix.SYS_FSMOUNT: "fsmount", unix.SYS_FSPICK: "fspick",
	unix.SYS_MOUNT_SETATTR: "mount_setattr", unix.SYS_SETNS: "setns", unix.SYS_UNSHARE: "unshare",
	unix.SYS_SETHOSTNAME: "sethostname", unix.SYS_SETDOMAINNAME: "setdomainname", unix.SYS_PRCTL: "prctl",
	unix.SYS_PRLIMIT64: "prlimit64", unix.SYS_SETGROUPS: "setgroups", unix.SYS_SETRESGID: "setresgid",
	unix.SYS_SETRESUID: "setresuid", unix.SYS_CAPSET: "capset", unix.SYS_SECCOMP: "seccomp",
	unix.SYS_CLOSE_RANGE: "close_range", unix.SYS_EXECVEAT: "execveat", unix.SYS_STATX: "statx",
}

func opName(nr uintptr) string {
	if nr >= macroBase {
		if n, ok := macroNames[nr]; ok {
			return n
		}
		return fmt.Sprintf("macro_%d", nr-macroBase)
	}
	if n, ok := syscallNames[nr]; ok {
		return n
	}
	return "syscall_" + strconv.Itoa(int(nr))
}
