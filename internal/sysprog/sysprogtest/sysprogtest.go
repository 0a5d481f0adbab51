// Package sysprogtest holds what the test helpers of packages that compile
// setup programs (mount, security) share: the Go runner's entry point and
// placing a program where the Go runner reads it.
package sysprogtest

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/sysprog"
)

// RunnerMain is a test binary's Go runner: it reads the program from the
// fd named by fdText and runs it with stages; it never returns (exit 3 or
// 4 when the program cannot be read).
func RunnerMain(fdText string, stages func(id int, a sysprog.StageArgs) error) {
	fd, _ := strconv.Atoi(fdText)
	f := os.NewFile(uintptr(fd), "program")
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go runner: reading the program:", err)
		os.Exit(3)
	}
	p, err := sysprog.Unmarshal(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go runner:", err)
		os.Exit(4)
	}
	p.Run(stages)
	os.Exit(5) // Run never returns
}

// memfd is a memfd holding b, read from its start.
func memfd(b []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("program", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "program")
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// PlaceProgram puts p, marshalled, in a memfd at fd (close-on-exec; the
// handover passes it on), where the Go runner reads it.
func PlaceProgram(p *sysprog.Program, fd int) error {
	prog, err := memfd(p.Marshal())
	if err != nil {
		return err
	}
	defer prog.Close()
	return unix.Dup3(int(prog.Fd()), fd, unix.O_CLOEXEC)
}
