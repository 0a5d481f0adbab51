//go:build !(linux && amd64)

package sysprog

import (
	"errors"
	"os"
	"syscall"
)

// Supported: setup programs need the amd64 clone and trampoline; here
// every container takes the Go init (internal/spawn checks this first).
const Supported = false

var errUnsupported = errors.New("setup programs are implemented for linux/amd64 only")

// ErrExited is never returned here.
var ErrExited = errors.New("the container's setup process exited early")

// Child is never started here.
type Child struct{ Pid int }

func Pair() (int, *os.File, error) { return -1, nil, errUnsupported }

// Session is what the trampoline does about the process's session.
type Session uint8

const (
	KeepSession Session = iota
	NewSession
	NewSessionTTY
)

func Trampoline(sync, fifo int, session Session) (*os.File, error) { return nil, errUnsupported }

func (p *Program) Start(cloneFlags uintptr, sock int) (*Child, error) { return nil, errUnsupported }

func (p *Program) ExecThrough(fail Fail, tramp int, paths []string, idx Reg, argv, envp []string) {}

func (p *Program) SpawnThrough(fail Fail, tramp int, paths []string, idx Reg, argv, envp []string) {}

func (c *Child) KeepAlive()                           {}
func (c *Child) Signal(sig syscall.Signal) error      { return errUnsupported }
func (c *Child) Wait() (syscall.WaitStatus, error)    { return 0, errUnsupported }
func (c *Child) Release()                             {}
func (c *Child) Expect(t byte) error                  { return errUnsupported }
func (c *Child) RecvFD(name string) (*os.File, error) { return nil, errUnsupported }
func (c *Child) Failed() error                        { return errUnsupported }
func (c *Child) Continue() error                      { return errUnsupported }
func (c *Child) Done() error                          { return errUnsupported }
func (c *Child) Close() error                         { return nil }
func (c *Child) Forked() (*Child, error)              { return nil, errUnsupported }
