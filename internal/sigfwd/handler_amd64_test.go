//go:build linux && amd64

package sigfwd

import (
	"syscall"
	"testing"
	"unsafe"
)

func currentHandler(t *testing.T, sig int) uintptr {
	var old sigaction
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
		t.Fatal(e)
	}
	return old.handler
}
