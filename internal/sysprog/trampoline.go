//go:build linux && amd64

package sysprog

import (
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The trampoline is the only executable a container ever sees before its
// own process: a static ELF of about 300 bytes in a sealed memfd, generated
// here. It
//
//  0. unblocks every signal: the setup child ran with all of them blocked
//     (it shares the parent's memory until this execve, so no handler of
//     the parent's Go runtime may run in it); with [NewSession], starts a
//     new session (a process `hako exec` started, see
//     [Program.SpawnThrough]), and with [NewSessionTTY] also makes its fd 0
//     the session's controlling terminal;
//  1. marks the report socket (fd sync) close-on-exec and sends the
//     token 'R' on it: the container is set up;
//  2. when fifo >= 0, opens /proc/self/fd/<fifo> (the exec fifo, kept as an
//     O_PATH fd) for writing, which blocks until `hako start` opens the
//     other end, writes one byte and closes the O_PATH fd;
//  3. with Sched, applies that struct sched_attr to itself (what a
//     forked process cannot inherit, see spawn's trampolineSched);
//  4. with a seccomp program, loads it (no_new_privs is set already): so
//     the only system call of the process's own that runs under the
//     container's filter is the execve;
//  5. execve(2)s argv[0] with argv[1:] and its environment.
//
// When a step fails it sends the errno (4 bytes) on the report socket and
// exits with status 127.
//
// It exists for CVE-2019-5736. The setup child is a clone of hako, so its
// /proc/self/exe is the hako binary on the host. Had it waited for start,
// or executed the container's process directly, a process of the container
// could open the host binary through /proc/PID/exe (a created container's
// init, or an interpreter "#!/proc/self/exe") and, once no hako runs it,
// reopen it for writing. Through the trampoline, /proc/self/exe is a sealed
// memfd from the moment the container could run anything: nothing on the
// host, and nothing writable.
func trampolineCode(sync int32, o TrampolineOptions, addr func(off int) uint64) (code, data []byte) {
	fifo, session, sc := int32(o.Fifo), o.Session, o.Seccomp
	le := binary.LittleEndian
	imm32 := func(b []byte, v int32) []byte { return le.AppendUint32(b, uint32(v)) }
	imm64 := func(b []byte, v uint64) []byte { return le.AppendUint64(b, v) }
	data = []byte("R0")
	fifoPath := len(data)
	data = append(data, []byte(fmt.Sprintf("/proc/self/fd/%d\x00", fifo))...)
	noSignals := len(data)
	data = append(data, make([]byte, 8)...) // an empty sigset_t
	schedAt := -1
	if len(o.Sched) > 0 {
		for len(data)%8 != 0 {
			data = append(data, 0)
		}
		schedAt = len(data)
		data = append(data, o.Sched...)
	}
	fprog := -1
	if sc != nil && len(sc.Filter) > 0 {
		for len(data)%8 != 0 {
			data = append(data, 0)
		}
		fprog = len(data)
		data = le.AppendUint16(data, uint16(len(sc.Filter)/8)) // struct sock_fprog: len,
		data = append(data, make([]byte, 6)...)                // padding,
		data = le.AppendUint64(data, addr(fprog+16))           // filter
		data = append(data, sc.Filter...)
	}
	var c []byte
	var fails []int // offsets of rel32 jumps to patch to the failure block
	jsFail := func() {
		c = append(c, 0x48, 0x85, 0xc0)       // test rax, rax
		c = append(c, 0x0f, 0x88, 0, 0, 0, 0) // js fail (rel32)
		fails = append(fails, len(c)-4)
	}
	c = append(c, 0xbf, 0x02, 0x00, 0x00, 0x00)       // mov edi, SIG_SETMASK
	c = imm64(append(c, 0x48, 0xbe), addr(noSignals)) // mov rsi, &empty set
	c = append(c, 0x31, 0xd2)                         // xor edx, edx
	c = append(c, 0x41, 0xba, 0x08, 0x00, 0x00, 0x00) // mov r10d, 8
	c = append(c, 0xb8, 0x0e, 0x00, 0x00, 0x00)       // mov eax, SYS_rt_sigprocmask (14)
	c = append(c, 0x0f, 0x05)                         // syscall
	if session != KeepSession {
		c = append(c, 0xb8, 0x70, 0x00, 0x00, 0x00) // mov eax, SYS_setsid (112)
		c = append(c, 0x0f, 0x05)                   // syscall
		jsFail()
	}
	if session == NewSessionTTY {
		c = append(c, 0x31, 0xff)                   // xor edi, edi         fd 0
		c = append(c, 0xbe, 0x0e, 0x54, 0x00, 0x00) // mov esi, TIOCSCTTY (0x540e)
		c = append(c, 0x31, 0xd2)                   // xor edx, edx
		c = append(c, 0xb8, 0x10, 0x00, 0x00, 0x00) // mov eax, SYS_ioctl (16)
		c = append(c, 0x0f, 0x05)                   // syscall
		jsFail()
	}
	c = imm32(append(c, 0xbf), sync)            // mov edi, sync
	c = append(c, 0xbe, 0x02, 0x00, 0x00, 0x00) // mov esi, F_SETFD
	c = append(c, 0xba, 0x01, 0x00, 0x00, 0x00) // mov edx, FD_CLOEXEC
	c = append(c, 0xb8, 0x48, 0x00, 0x00, 0x00) // mov eax, SYS_fcntl (72)
	c = append(c, 0x0f, 0x05)                   // syscall
	if !o.Silent {
		c = imm32(append(c, 0xbf), sync)            // mov edi, sync
		c = imm64(append(c, 0x48, 0xbe), addr(0))   // mov rsi, &"R"
		c = append(c, 0xba, 0x01, 0x00, 0x00, 0x00) // mov edx, 1
		c = append(c, 0xb8, 0x01, 0x00, 0x00, 0x00) // mov eax, SYS_write (1)
		c = append(c, 0x0f, 0x05)                   // syscall
		jsFail()
	}
	if fifo >= 0 {
		c = imm64(append(c, 0x48, 0xbf), addr(fifoPath)) // mov rdi, &"/proc/self/fd/N"
		c = append(c, 0xbe, 0x01, 0x00, 0x08, 0x00)      // mov esi, O_WRONLY|O_CLOEXEC
		c = append(c, 0xb8, 0x02, 0x00, 0x00, 0x00)      // mov eax, SYS_open (2)
		c = append(c, 0x0f, 0x05)                        // syscall
		jsFail()
		c = append(c, 0x48, 0x89, 0xc7)             // mov rdi, rax
		c = imm64(append(c, 0x48, 0xbe), addr(1))   // mov rsi, &"0"
		c = append(c, 0xba, 0x01, 0x00, 0x00, 0x00) // mov edx, 1
		c = append(c, 0xb8, 0x01, 0x00, 0x00, 0x00) // mov eax, SYS_write (1)
		c = append(c, 0x0f, 0x05)                   // syscall
		jsFail()
		c = imm32(append(c, 0xbf), fifo)            // mov edi, fifo
		c = append(c, 0xb8, 0x03, 0x00, 0x00, 0x00) // mov eax, SYS_close (3)
		c = append(c, 0x0f, 0x05)                   // syscall
	}
	if schedAt >= 0 {
		c = append(c, 0x31, 0xff)                       // xor edi, edi        this thread
		c = imm64(append(c, 0x48, 0xbe), addr(schedAt)) // mov rsi, &attr
		c = append(c, 0x31, 0xd2)                       // xor edx, edx        flags 0
		c = append(c, 0xb8, 0x3a, 0x01, 0x00, 0x00)     // mov eax, SYS_sched_setattr (314)
		c = append(c, 0x0f, 0x05)                       // syscall
		jsFail()
	}
	if fprog >= 0 {
		c = append(c, 0xbf, 0x01, 0x00, 0x00, 0x00)   // mov edi, SECCOMP_SET_MODE_FILTER
		c = imm32(append(c, 0xbe), int32(sc.Flags))   // mov esi, flags
		c = imm64(append(c, 0x48, 0xba), addr(fprog)) // mov rdx, &fprog
		c = append(c, 0xb8, 0x3d, 0x01, 0x00, 0x00)   // mov eax, SYS_seccomp (317)
		c = append(c, 0x0f, 0x05)                     // syscall
		jsFail()
	}
	c = append(c, 0x48, 0x8b, 0x7c, 0x24, 0x08) // mov rdi, [rsp+8]        path = argv[0]
	c = append(c, 0x48, 0x8d, 0x74, 0x24, 0x10) // lea rsi, [rsp+16]       argv = &argv[1]
	c = append(c, 0x48, 0x8b, 0x04, 0x24)       // mov rax, [rsp]          argc
	c = append(c, 0x48, 0x8d, 0x54, 0xc4, 0x10) // lea rdx, [rsp+rax*8+16] envp
	c = append(c, 0xb8, 0x3b, 0x00, 0x00, 0x00) // mov eax, SYS_execve (59)
	c = append(c, 0x0f, 0x05)                   // syscall
	failAt := len(c)                            // fail: rax = -errno
	c = append(c, 0xf7, 0xd8)                   // neg eax
	c = append(c, 0x50)                         // push rax
	c = imm32(append(c, 0xbf), sync)            // mov edi, sync
	c = append(c, 0x48, 0x89, 0xe6)             // mov rsi, rsp
	c = append(c, 0xba, 0x04, 0x00, 0x00, 0x00) // mov edx, 4
	c = append(c, 0xb8, 0x01, 0x00, 0x00, 0x00) // mov eax, SYS_write (1)
	c = append(c, 0x0f, 0x05)                   // syscall
	c = append(c, 0xbf, 0x7f, 0x00, 0x00, 0x00) // mov edi, 127
	c = append(c, 0xb8, 0xe7, 0x00, 0x00, 0x00) // mov eax, SYS_exit_group (231)
	c = append(c, 0x0f, 0x05)                   // syscall
	for _, at := range fails {
		le.PutUint32(c[at:], uint32(int32(failAt-(at+4))))
	}
	return c, data
}

// trampolineELF wraps the code in a minimal static ELF executable: the ELF
// header, one PT_LOAD program header (read + execute) and the code.
func trampolineELF(sync int32, o TrampolineOptions) []byte {
	const base, ehsize, phsize = 0x400000, 64, 56
	// The data follows the code; its address depends on the code's
	// length, which does not depend on the addresses.
	code, _ := trampolineCode(sync, o, func(int) uint64 { return 0 })
	dataAt := uint64(base+ehsize+phsize+len(code)+7) &^ 7
	code, data := trampolineCode(sync, o, func(off int) uint64 { return dataAt + uint64(off) })
	for uint64(base+ehsize+phsize+len(code)) < dataAt {
		code = append(code, 0xcc) // int3: padding up to the aligned data
	}
	total := uint64(ehsize + phsize + len(code) + len(data))
	le := binary.LittleEndian
	b := []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little endian */, 1 /* version */, 0 /* SysV */, 0, 0, 0, 0, 0, 0, 0, 0}
	b = le.AppendUint16(b, 2)    // e_type: ET_EXEC
	b = le.AppendUint16(b, 0x3e) // e_machine: x86-64
	b = le.AppendUint32(b, 1)    // e_version
	b = le.AppendUint64(b, base+ehsize+phsize)
	b = le.AppendUint64(b, ehsize) // e_phoff
	b = le.AppendUint64(b, 0)      // e_shoff
	b = le.AppendUint32(b, 0)      // e_flags
	b = le.AppendUint16(b, ehsize)
	b = le.AppendUint16(b, phsize)
	b = le.AppendUint16(b, 1) // e_phnum
	b = le.AppendUint16(b, 0) // e_shentsize
	b = le.AppendUint16(b, 0) // e_shnum
	b = le.AppendUint16(b, 0) // e_shstrndx
	b = le.AppendUint32(b, 1) // p_type: PT_LOAD
	b = le.AppendUint32(b, 5) // p_flags: R + X
	b = le.AppendUint64(b, 0) // p_offset
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, total)
	b = le.AppendUint64(b, total)
	b = le.AppendUint64(b, 0x1000)
	return append(append(b, code...), data...)
}

// Session is what the trampoline does about the process's session.
type Session uint8

const (
	KeepSession   Session = iota // the setup program's own (it called setsid)
	NewSession                   // setsid
	NewSessionTTY                // setsid, then fd 0 becomes the controlling terminal
)

// TrampolineSeccomp is a seccomp program the trampoline loads right
// before its execve: the filter (struct sock_filter entries in the host's
// byte order) and the seccomp(2) flags.
type TrampolineSeccomp struct {
	Filter []byte
	Flags  uint
}

// TrampolineOptions say what a trampoline does besides its execve.
type TrampolineOptions struct {
	Fifo    int                // the exec fifo to wait on; -1 for none
	Session Session            // what it does about the session, first
	Seccomp *TrampolineSeccomp // what it loads last; nil for none
	// Silent: it does not report ready ('R'): the runner did, before it
	// waited for start itself.
	Silent bool
	// Sched is a struct sched_attr to apply before the filter; nil for
	// none.
	Sched []byte
}

// Trampoline returns a sealed, executable memfd holding the trampoline for
// report socket sync.
func Trampoline(sync int, o TrampolineOptions) (*os.File, error) {
	const mfdExec = 0x10 // MFD_EXEC (Linux 6.3): executable even where vm.memfd_noexec asks otherwise
	mfd, err := unix.MemfdCreate("hako-exec", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|mfdExec)
	if err == unix.EINVAL {
		mfd, err = unix.MemfdCreate("hako-exec", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("memfd_create for the exec trampoline: %w", err)
	}
	f := os.NewFile(uintptr(mfd), "hako-exec")
	if _, err := f.Write(trampolineELF(int32(sync), o)); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the exec trampoline: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("sealing the exec trampoline: %w", err)
	}
	return f, nil
}

// ExecThrough executes paths[reg idx] with argv and envp through the
// trampoline in the fd tramp (see [Trampoline]), which was built for this
// program's report socket.
func (p *Program) ExecThrough(fail Fail, tramp int, paths []string, idx Reg, argv, envp []string) {
	l, _ := p.StrList(paths)
	// argv of the trampoline: the path (filled in by the child), then argv.
	ta, _ := p.StrList(append([]string{""}, argv...))
	e, _ := p.StrList(envp)
	p.add(opExecTramp, 0, fail, []Arg{Imm(tramp), l, R(idx), ta, e, Imm(p.syncFD)})
}

// SpawnThrough is [Program.ExecThrough] in a new process: the child
// vforks (CLONE_VM|CLONE_VFORK, on no stack of its own: the new process
// runs a few instructions of clone_amd64.s and no Go code) a process that
// executes the trampoline at once, and exits with status 0 when it has.
// The new process is the parent's child (CLONE_PARENT), created in the
// child's pid namespace for children (so a child that joined a pid
// namespace puts it there), with the child's credentials, limits, seccomp
// filter, root and cwd; [Child.Forked] finds it. Until its execveat it is
// the parent's memory and binary, as a vfork child of os/exec is; from
// then on it is the trampoline, as in ExecThrough.
func (p *Program) SpawnThrough(fail Fail, tramp int, paths []string, idx Reg, argv, envp []string) {
	l, _ := p.StrList(paths)
	ta, _ := p.StrList(append([]string{""}, argv...))
	e, _ := p.StrList(envp)
	p.add(opSpawnTramp, 0, fail, []Arg{Imm(tramp), l, R(idx), ta, e, Imm(p.syncFD)})
}
