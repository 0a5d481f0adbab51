//go:build linux && amd64

package sigfwd

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// handler and restorer are in handler_amd64.s: handler writes the signal's
// number (one byte) to pipeW; restorer returns from the handler
// (rt_sigreturn), as the x86-64 kernel requires a restorer.
func handlerAddr() uintptr
func restorerAddr() uintptr

// pipeW is the pipe's write end, read by handler (handler_amd64.s). It is
// set once and never closed: a handler running on another thread while
// Stop restores the runtime's handlers must never write to an fd that was
// closed and reused.
var pipeW int64 = -1

var (
	mu      sync.Mutex
	pipeR   *os.File
	current chan os.Signal // receives what the reader goroutine reads
	saved   [65]sigaction  // the Go runtime's handlers, restored by Stop
	chain   [65]uint8      // 1: a fault goes on to the saved handler (handler_amd64.s)
)

// sigaction is the kernel's struct sigaction on x86-64.
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const (
	saSiginfo  = 0x4
	saRestorer = 0x04000000
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
)

// Catch starts catching every forwardable signal. Only one Catcher may be
// active at a time.
func Catch() (*Catcher, error) {
	mu.Lock()
	defer mu.Unlock()
	if current != nil {
		return nil, fmt.Errorf("sigfwd: signals are already being caught")
	}
	if pipeR == nil {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			return nil, fmt.Errorf("pipe for signals: %w", err)
		}
		pipeR = os.NewFile(uintptr(p[0]), "sigfwd")
		pipeW = int64(p[1])
		go reader(pipeR)
	}
	c := make(chan os.Signal, 64)
	current = c
	act := sigaction{handler: handlerAddr(), flags: saSiginfo | saOnstack | saRestart | saRestorer, restorer: restorerAddr(), mask: ^uint64(0)}
	var installed []int
	for sig := 1; sig < 65; sig++ {
		if !forwarded(sig) && !synchronous(sig) {
			continue
		}
		if synchronous(sig) {
			chain[sig] = 1
		}
		if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), uintptr(unsafe.Pointer(&saved[sig])), 8, 0, 0); e != 0 {
			restore(installed)
			current = nil
			return nil, fmt.Errorf("catching signal %d: %w", sig, e)
		}
		installed = append(installed, sig)
	}
	return &Catcher{C: c, stop: func() {
		mu.Lock()
		defer mu.Unlock()
		restore(installed)
		current = nil
	}}, nil
}

func restore(sigs []int) {
	for _, sig := range sigs {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&saved[sig])), 0, 8, 0, 0)
	}
}

// reader turns the handler's bytes back into signals for the active
// Catcher; with none, or a full channel, a signal is dropped (as
// os/signal drops it).
func reader(f *os.File) {
	buf := make([]byte, 64)
	for {
		n, err := f.Read(buf)
		if err != nil {
			return
		}
		mu.Lock()
		c := current
		mu.Unlock()
		for _, b := range buf[:n] {
			if c == nil {
				continue
			}
			select {
			case c <- syscall.Signal(b):
			default:
			}
		}
	}
}
