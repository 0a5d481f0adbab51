// Package goinit is the Go runner of a container's setup: hako executed as
// "hako-init" in the container's namespaces, by the raw child that entered
// them (or, where there is no raw child, by internal/spawn through
// os/exec), with the compiled setup program (package sysprog) in a memfd.
// It runs the program's ops on its locked thread, exactly as the raw child
// would,
// and does at the program's stages what needs Go (package stage): hooks
// inside the container's namespaces, filling a tmpcopyup tmpfs, waiting
// for start before startContainer hooks. It never decides what the setup
// does or in which order: the compiler did.
//
// It talks to the parent only through the program's socket (sysprog's
// records) and never imports the parent side (internal/spawn).
package goinit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/hooks"
	"github.com/hako-dev/hako/internal/mount"
	"github.com/hako-dev/hako/internal/stage"
	"github.com/hako-dev/hako/internal/sysprog"
	"github.com/hako-dev/hako/internal/timerslack"
)

// Arg0 is argv[0] of the Go runner.
const Arg0 = "hako-init"

// EnvProgramFD names the environment variable holding the program's fd.
const EnvProgramFD = "_HAKO_PROGRAM_FD"

// IsInit reports whether this process was started as the Go runner.
func IsInit() bool { return len(os.Args) > 0 && os.Args[0] == Arg0 }

// Main is the Go runner's entry point; it never returns.
func Main() {
	runtime.LockOSThread()
	// Nothing may reach this process's /proc files (exe, fd, mem) without
	// CAP_SYS_PTRACE: an execve made it dumpable again.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// This thread executes the process: it gives it the caller's timer
	// slack, not the coarse one hako's entry stub set for its own threads.
	timerslack.Restore()
	fd, err := strconv.Atoi(os.Getenv(EnvProgramFD))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hako-init: must be started by hako, not by hand")
		os.Exit(255)
	}
	// Our pid as the host sees it, for the hooks' state: here /proc is
	// still the host's (the root changes later, with the program).
	if self, err := os.Readlink("/proc/self"); err == nil {
		hostPid, _ = strconv.Atoi(self)
	}
	f := os.NewFile(uintptr(fd), "program")
	b, err := io.ReadAll(f)
	f.Close()
	if err == nil {
		var p *sysprog.Program
		if p, err = sysprog.Unmarshal(b); err == nil {
			r := &stages{}
			p.Run(r.run) // does not return
		}
	}
	fmt.Fprintln(os.Stderr, "hako-init: reading the setup program:", err)
	os.Exit(255)
}

// hostPid is this process's pid in the host's pid namespace (0: unknown).
var hostPid int

// stages runs the program's stages.
type stages struct {
	// fifo is the exec fifo opened for writing: it stays open until the
	// execve closes it, so that `hako start` returns only after it.
	fifo *os.File
}

func (s *stages) run(id int, a sysprog.StageArgs) error {
	switch id {
	case stage.Hooks:
		var h stage.HooksPayload
		if err := json.Unmarshal(a.Bytes(0, int(a.Int(1))), &h); err != nil {
			return fmt.Errorf("hooks: %w", err)
		}
		state := h.State
		if hostPid > 0 {
			// The compiler could not know the container's pid.
			var st map[string]any
			if json.Unmarshal(state, &st) == nil {
				st["pid"] = hostPid
				if b, err := json.Marshal(st); err == nil {
					state = b
				}
			}
		}
		if err := hooks.Run(h.Name, h.Hooks, state); err != nil {
			return fmt.Errorf("%s hooks: %w", h.Name, err)
		}
		return nil
	case stage.WaitStart:
		// Reopened for writing through the container's /proc/self/fd:
		// the open blocks until `hako start` opens the other end.
		name := "/proc/self/fd/" + strconv.Itoa(int(a.Int(0)))
		fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		for err == unix.EINTR {
			fd, err = unix.Open(name, unix.O_WRONLY|unix.O_CLOEXEC, 0)
		}
		if err != nil {
			return fmt.Errorf("waiting for start: %w", &os.PathError{Op: "open", Path: name, Err: err})
		}
		s.fifo = os.NewFile(uintptr(fd), "exec fifo")
		if _, err := s.fifo.Write([]byte{'0'}); err != nil {
			return fmt.Errorf("waiting for start: %w", err)
		}
		unix.Close(int(a.Int(0)))
		return nil
	case stage.CopyUp:
		return mount.CopyUpStage(a)
	}
	return errors.New("hako-init: unknown stage " + strconv.Itoa(id))
}
