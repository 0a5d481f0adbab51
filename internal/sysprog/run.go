//go:build linux

package sysprog

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// StageArgs are a stage op's arguments, resolved where the program runs.
type StageArgs struct {
	p    *Program
	args []uintptr
}

// Int is argument i (a constant or a register's value).
func (a StageArgs) Int(i int) uintptr { return a.args[i] }

// Bytes is the n bytes of the program's memory argument i points at.
func (a StageArgs) Bytes(i, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(a.p.base, a.args[i]-uintptr(a.p.base))), n)
}

// StageFunc runs stage id of a program in the Go runner.
type StageFunc func(id int, args StageArgs) error

// Run runs the program in this process, the Go runner: on the calling
// goroutine's OS thread, which it locks for good (capabilities,
// no_new_privs, the seccomp filter and the cgroup namespace are the
// thread's, and the thread that sets them is the one that executes), with
// every signal blocked while ops run, as in the raw child. It skips the
// ops the program marked as the raw child's ([Program.OnlyRaw]). At each stage it calls
// stage, with signals unblocked, and goes on; when stage fails it reports
// the error to the parent (a text record, with its errno) and exits. A
// failing op reports and exits as in the raw child. Run does not return:
// the program ends in an execve, or the process exits.
func (p *Program) Run(stage StageFunc) {
	runtime.LockOSThread()
	p.load()
	// After a handover the raw child ran everything before it.
	i := p.handover + 1
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	for i < len(p.ops) {
		unix.PthreadSigmask(unix.SIG_SETMASK, &all, &old)
		at := p.run(i, flagRawOnly)
		unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
		if at >= len(p.ops) {
			break
		}
		o := &p.ops[at]
		args := make([]uintptr, 5)
		for j := 1; j < 6; j++ {
			switch o.args[j].kind {
			case kindImm:
				args[j-1] = o.args[j].val
			case kindReg:
				args[j-1] = p.regs[o.args[j].val]
			case kindMem:
				args[j-1] = uintptr(p.base) + o.args[j].val
			}
		}
		if err := stage(int(o.args[0].val), StageArgs{p: p, args: args}); err != nil {
			var errno syscall.Errno
			errors.As(err, &errno)
			if _, serr := unix.SendmsgN(p.syncFD, TextRecord(err.Error(), errno), nil, nil, unix.MSG_NOSIGNAL); serr != nil {
				// The parent no longer listens (after create returned).
				os.Stderr.WriteString("hako: container setup failed after its runtime exited: " + err.Error() + "\n")
			}
			os.Exit(1)
		}
		i = at + 1
	}
	p.die(len(p.ops), syscall.ENOEXEC)
}

// ExtraFiles lays files out for exec.Cmd.ExtraFiles so that each lands at
// its fd number (3 or more) in the new process, as a program marshalled
// for the Go runner expects them; every other fd above 2 is closed there.
func ExtraFiles(at map[int]*os.File) []*os.File {
	top := 2
	for fd := range at {
		top = max(top, fd)
	}
	files := make([]*os.File, top-2)
	for fd, f := range at {
		if fd >= 3 {
			files[fd-3] = f
		}
	}
	return files
}
