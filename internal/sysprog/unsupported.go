//go:build linux && !amd64

package sysprog

import (
	"errors"
	"os"
	"syscall"
)

// Supported: the raw child needs the amd64 clone and trampoline; here
// every program runs in the Go runner, and ends in opExecve.
const Supported = false

var errUnsupported = errors.New("the raw child and the trampoline are implemented for linux/amd64 only")

// Session is what the trampoline does about the process's session.
type Session uint8

const (
	KeepSession Session = iota
	NewSession
	NewSessionTTY
)

// TrampolineSeccomp is what the trampoline loads; unused here.
type TrampolineSeccomp struct {
	Filter []byte
	Flags  uint
}

// TrampolineOptions say what a trampoline does; unused here.
type TrampolineOptions struct {
	Fifo    int
	Session Session
	Seccomp *TrampolineSeccomp
	Silent  bool
	Sched   []byte
}

func Trampoline(sync int, o TrampolineOptions) (*os.File, error) {
	return nil, errUnsupported
}

func (p *Program) Start(cloneFlags uintptr, sock int) (*Child, error)   { return nil, errUnsupported }
func (p *Program) StartGo(cloneFlags uintptr, sock int) (*Child, error) { return nil, errUnsupported }

func (p *Program) ExecThrough(fail Fail, tramp int, paths []string, idx Reg, argv, envp []string) {
	panic("sysprog: no trampoline on this architecture")
}

func (p *Program) SpawnThrough(fail Fail, tramp int, paths []string, idx Reg, argv, envp []string) {
	panic("sysprog: no trampoline on this architecture")
}

//go:nosplit
func spawnTramp(pidfd *int32, t *spawnCtx) syscall.Errno { return syscall.ENOSYS }
