//go:build linux && amd64

package sysprog

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

type started struct {
	c    *Child
	prog *Program
}

// start runs build's program in a child (no new namespaces: no root needed).
func start(t *testing.T, build func(p *Program, tramp int)) *started {
	t.Helper()
	parent, child, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Trampoline(int(child.Fd()), TrampolineOptions{Fifo: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p := New(int(child.Fd()))
	p.Call(nil, syscall.SYS_CLOSE, Imm(parent))
	build(p, int(tr.Fd()))
	c, err := p.Start(0, parent)
	child.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &started{c: c, prog: p}
}

func (s *started) wait(t *testing.T) syscall.WaitStatus {
	t.Helper()
	ws, err := s.c.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestProgramRunsAndExecs(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "made")
	s := start(t, func(p *Program, tramp int) {
		p.Signal('A')
		p.Wait(nil)
		p.Call(nil, syscall.SYS_MKDIRAT, Imm(atFDCWD), p.Str(out), Imm(0o700))
		idx := p.FindExec(nil, []string{filepath.Join(dir, "missing"), "/bin/sh"})
		p.ExecThrough(nil, tramp, []string{filepath.Join(dir, "missing"), "/bin/sh"}, idx,
			[]string{"sh", "-c", `test "$0" = sh && test "$X" = y && exit 7`}, []string{"X=y"})
	})
	if err := s.c.Expect('A'); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Continue(); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Expect('R'); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Done(); err != nil {
		t.Fatal(err)
	}
	if ws := s.wait(t); ws.ExitStatus() != 7 {
		t.Fatalf("exit status %d, want 7 (argv[0], args and env through the trampoline)", ws.ExitStatus())
	}
	if fi, err := os.Stat(out); err != nil || !fi.IsDir() {
		t.Fatalf("mkdirat in the child had no effect: %v", err)
	}
}

var errMarked = errors.New("the op's own error")

func TestFailureNamesTheOp(t *testing.T) {
	var got syscall.Errno
	s := start(t, func(p *Program, tramp int) {
		p.Call(nil, syscall.SYS_GETPID)
		p.Call(func(e syscall.Errno) error { got = e; return errMarked },
			syscall.SYS_MKDIRAT, Imm(atFDCWD), p.Str("/nonexistent-hako/a/b"), Imm(0o700))
	})
	err := s.c.Expect('A')
	if !errors.Is(err, errMarked) || got != syscall.ENOENT {
		t.Fatalf("err %v (errno %v), want the op's error with ENOENT", err, got)
	}
	if ws := s.wait(t); ws.ExitStatus() != 1 {
		t.Fatalf("exit status %d, want 1", ws.ExitStatus())
	}
}

func TestToleratedErrno(t *testing.T) {
	dir := t.TempDir()
	s := start(t, func(p *Program, tramp int) {
		p.Call(nil, syscall.SYS_MKDIRAT, Imm(atFDCWD), p.Str(dir), Imm(0o700))
		p.Tolerate(syscall.EEXIST)
		p.Signal('B')
	})
	if err := s.c.Expect('B'); err != nil {
		t.Fatal(err)
	}
	s.wait(t)
}

func TestFindExecErrors(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("x"), 0o644)
	for _, tc := range []struct {
		paths []string
		want  syscall.Errno
	}{
		{[]string{filepath.Join(dir, "none")}, syscall.ENOENT},
		{[]string{filepath.Join(dir, "none"), dir}, syscall.EISDIR},
		{[]string{plain}, syscall.EACCES},
	} {
		var got syscall.Errno
		s := start(t, func(p *Program, tramp int) {
			p.FindExec(func(e syscall.Errno) error { got = e; return e }, tc.paths)
		})
		if err := s.c.Expect('X'); err == nil || got != tc.want {
			t.Errorf("%v: err %v errno %v, want %v", tc.paths, err, got, tc.want)
		}
		s.wait(t)
	}
}

func TestTrampolineReportsExecFailure(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(bad, []byte("\x00\x01\x02\x03 not an executable"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := start(t, func(p *Program, tramp int) {
		idx := p.FindExec(nil, []string{bad})
		p.SetExecFail(func(e syscall.Errno) error { return &Error{Op: -1, Errno: e} })
		p.ExecThrough(nil, tramp, []string{bad}, idx, []string{"garbage"}, nil)
	})
	if err := s.c.Expect('R'); err != nil {
		t.Fatal(err)
	}
	err := s.c.Done()
	var e *Error
	if !errors.As(err, &e) || e.Errno != unix.ENOEXEC {
		t.Fatalf("err %v, want the trampoline's ENOEXEC", err)
	}
	if ws := s.wait(t); ws.ExitStatus() != 127 {
		t.Fatalf("exit status %d, want 127", ws.ExitStatus())
	}
}

func TestParentGoneMeansQuietExit(t *testing.T) {
	s := start(t, func(p *Program, tramp int) {
		p.Wait(nil)
		p.Call(nil, syscall.SYS_GETPID)
	})
	s.c.Close()
	if ws := s.wait(t); ws.ExitStatus() != 1 {
		t.Fatalf("exit status %d, want 1", ws.ExitStatus())
	}
}

// Signal reaches the child through its pidfd and Wait reports how it died.
func TestSignalAndWait(t *testing.T) {
	s := start(t, func(p *Program, tramp int) {
		p.Signal('W')
		p.Wait(nil)
	})
	if err := s.c.Expect('W'); err != nil {
		t.Fatal(err)
	}
	if err := s.c.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ws := s.wait(t)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("wait status %v, want killed by SIGKILL", ws)
	}
}

// The child runs with every signal blocked; the process the trampoline
// executes starts with none blocked (grep, not a shell: shells reset their
// mask themselves).
func TestTrampolineUnblocksSignals(t *testing.T) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		t.Skip("no grep")
	}
	s := start(t, func(p *Program, tramp int) {
		idx := p.FindExec(nil, []string{grep})
		p.ExecThrough(nil, tramp, []string{grep}, idx, []string{"grep", "-q", "^SigBlk:[[:space:]]*0*$", "/proc/self/status"}, nil)
	})
	if err := s.c.Expect('R'); err != nil {
		t.Fatal(err)
	}
	if ws := s.wait(t); ws.ExitStatus() != 0 {
		t.Fatalf("grep exited %d: the executed process has blocked signals", ws.ExitStatus())
	}
}

// SpawnThrough: the process executing the trampoline is our child too, in
// a session of its own; the child that spawned it exits with 0; an exec
// failure after the trampoline comes back, and the failed process can be
// reaped through Forked.
func TestSpawnThrough(t *testing.T) {
	for _, missing := range []bool{false, true} {
		parent, child, err := Pair()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Trampoline(int(child.Fd()), TrampolineOptions{Fifo: -1, Session: NewSession})
		if err != nil {
			t.Fatal(err)
		}
		p := New(int(child.Fd()))
		p.Call(nil, syscall.SYS_CLOSE, Imm(parent))
		path := "/bin/sh"
		if missing {
			path = filepath.Join(t.TempDir(), "missing")
		}
		// exit 5 when the shell leads its own session (field 6 of stat).
		p.SpawnThrough(nil, int(tr.Fd()), []string{path}, 0, []string{"sh", "-c", `set -- $(cat /proc/$$/stat); test "$6" = $$ && exit 5; exit 6`}, nil)
		c, err := p.Start(0, parent)
		child.Close()
		tr.Close()
		if err != nil {
			t.Fatal(err)
		}
		rerr := c.Expect('R')
		if ws, err := c.Wait(); err != nil || !ws.Exited() || ws.ExitStatus() != 0 {
			t.Fatalf("the child that spawned ended with %v (%v), want exit 0", ws, err)
		}
		f, err := c.Forked()
		if err != nil {
			t.Fatal(err)
		}
		if f.Pid == c.Pid || f.Pid <= 0 {
			t.Fatalf("spawned pid %d (the child was %d)", f.Pid, c.Pid)
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
		derr := f.Done()    // the records after the spawn are the process's (Forked)
		ws, err := f.Wait() // only our own child can be waited for
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		if missing {
			if !errors.Is(derr, syscall.ENOENT) || ws.ExitStatus() != 127 {
				t.Errorf("exec of a missing file: %v, exit %v; want ENOENT and 127", derr, ws)
			}
			continue
		}
		if derr != nil {
			t.Fatal(derr)
		}
		if ws.ExitStatus() != 5 {
			t.Errorf("the spawned process exited with %v, want 5 (6: not a session leader)", ws)
		}
	}
}

// A child that fails with a token of ours unread (sent before it reached
// its Wait) exits with data in its socket's queue; the kernel then reports
// ECONNRESET once, ahead of the child's failure record. The record must
// still come back as the op's error.
func TestFailureWithTokenUnread(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	failed := errors.New("the op after the pipe failed")
	s := start(t, func(p *Program, tramp int) {
		// Blocks until the test writes to the pipe: the parent's 'G'
		// arrives meanwhile and is never read.
		p.Call(nil, syscall.SYS_READ, Imm(r.Fd()), p.Buffer(1), Imm(1))
		p.Call(func(syscall.Errno) error { return failed }, syscall.SYS_CLOSE, Imm(-1))
		p.Wait(nil)
	})
	if err := s.c.Continue(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	s.wait(t) // exited, with the 'G' unread
	if err := s.c.Expect('R'); !errors.Is(err, failed) {
		t.Fatalf("got %v, want the failing op's error", err)
	}
}

// closeRangeRefused is a seccomp filter that fails close_range with EPERM
// and allows everything else, as a profile without close_range does.
func closeRangeRefused() []unix.SockFilter {
	return []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_CLOSE_RANGE},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
}

// TestCloexecFromFallsBack: where close_range is refused, every inherited
// fd is still marked close-on-exec, one by one.
func TestCloexecFromFallsBack(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		// An inherited fd without close-on-exec, as a leak would be.
		leak, err := unix.Dup(int(w.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		s := start(t, func(p *Program, tramp int) {
			if refuse {
				p.Call(nil, unix.SYS_PRCTL, Imm(unix.PR_SET_NO_NEW_PRIVS), Imm(1), Imm(0), Imm(0), Imm(0))
				p.Call(nil, unix.SYS_SECCOMP, Imm(unix.SECCOMP_SET_MODE_FILTER), Imm(0), p.Filter(closeRangeRefused()))
			}
			p.CloexecFrom(nil, 3)
			idx := p.FindExec(nil, []string{"/bin/sh"})
			p.ExecThrough(nil, tramp, []string{"/bin/sh"}, idx,
				[]string{"sh", "-c", "test ! -e /proc/self/fd/" + strconv.Itoa(leak)}, nil)
		})
		unix.Close(leak)
		w.Close()
		r.Close()
		if err := s.c.Expect('R'); err != nil {
			t.Fatal(err)
		}
		if err := s.c.Done(); err != nil {
			t.Fatal(err)
		}
		if ws := s.wait(t); ws.ExitStatus() != 0 {
			t.Errorf("refused close_range %v: fd %d leaked into the process (exit %d)", refuse, leak, ws.ExitStatus())
		}
	}
}
