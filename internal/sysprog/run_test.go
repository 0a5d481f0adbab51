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

// The test binary is also a Go runner: with $SYSPROG_TEST_RUNNER set it
// reads a program from that fd and runs it.
func TestMain(m *testing.M) {
	if fd := os.Getenv("SYSPROG_TEST_RUNNER"); fd != "" {
		n, _ := strconv.Atoi(fd)
		f := os.NewFile(uintptr(n), "program")
		b, err := readAll(f)
		if err != nil {
			os.Exit(3)
		}
		p, err := Unmarshal(b)
		if err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(4)
		}
		p.Run(func(id int, a StageArgs) error {
			switch id {
			case 1: // write the bytes of argument 0 (length 1) to the file named by argument 2 (length 3)
				return os.WriteFile(string(a.Bytes(2, int(a.Int(3)))), a.Bytes(0, int(a.Int(1))), 0o644)
			case 2:
				return &os.PathError{Op: "stage", Path: "two", Err: syscall.EXDEV}
			}
			return errors.New("unknown stage")
		})
		os.Exit(5) // Run never returns
	}
	os.Exit(m.Run())
}

func readAll(f *os.File) ([]byte, error) {
	var b []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := f.Read(buf)
		b = append(b, buf[:n]...)
		if n == 0 || err != nil {
			return b, nil
		}
	}
}

// goRunner starts the test binary as the Go runner of p.
func goRunner(t *testing.T, p *Program, parent int, child *os.File, extra map[int]*os.File) *Child {
	t.Helper()
	mfd, err := unix.MemfdCreate("program", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	prog := os.NewFile(uintptr(mfd), "program")
	defer prog.Close()
	if _, err := prog.Write(p.Marshal()); err != nil {
		t.Fatal(err)
	}
	prog.Seek(0, 0)
	at := map[int]*os.File{int(child.Fd()): child, 100: prog}
	for fd, f := range extra {
		at[fd] = f
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SYSPROG_TEST_RUNNER=100")
	cmd.ExtraFiles = ExtraFiles(at)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	c, err := p.Attach(cmd.Process.Pid, parent)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Release()
	t.Cleanup(func() { c.Close() })
	return c
}

// The same program runs in the raw child and in the Go runner, which also
// runs its stages: a stage's failure comes back as the stage's error.
func TestGoRunnerRunsTheSameProgram(t *testing.T) {
	for _, runner := range []string{"raw", "go"} {
		dir := t.TempDir()
		made, staged := filepath.Join(dir, "made"), filepath.Join(dir, "staged")
		parent, child, err := Pair()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Trampoline(int(child.Fd()), TrampolineOptions{Fifo: -1})
		if err != nil {
			t.Fatal(err)
		}
		trFD, err := unix.FcntlInt(tr.Fd(), unix.F_DUPFD_CLOEXEC, 50)
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
		trf := os.NewFile(uintptr(trFD), "tramp")
		p := New(int(child.Fd()))
		p.Call(nil, syscall.SYS_CLOSE, Imm(parent))
		p.Tolerate(syscall.EBADF) // the Go runner never had it
		p.Signal('A')
		p.Wait(nil)
		p.Call(nil, syscall.SYS_MKDIRAT, Imm(atFDCWD), p.Str(made), Imm(0o700))
		if runner == "go" {
			msg := "from a stage"
			p.Stage("a test stage", 1, p.Str(msg), Imm(len(msg)), p.Str(staged), Imm(len(staged)))
		}
		idx := p.FindExec(nil, []string{"/bin/sh"})
		p.ExecThrough(nil, trFD, []string{"/bin/sh"}, idx, []string{"sh", "-c", "exit 7"}, nil)
		var c *Child
		if runner == "raw" {
			if c, err = p.Start(0, parent); err != nil {
				t.Fatal(err)
			}
			child.Close()
		} else {
			c = goRunner(t, p, parent, child, map[int]*os.File{trFD: trf})
		}
		trf.Close()
		if err := c.Expect('A'); err != nil {
			t.Fatalf("%s: %v", runner, err)
		}
		c.Continue()
		if err := c.Expect('R'); err != nil {
			t.Fatalf("%s: %v", runner, err)
		}
		if err := c.Done(); err != nil {
			t.Fatalf("%s: %v", runner, err)
		}
		if ws, err := c.Wait(); err != nil || ws.ExitStatus() != 7 {
			t.Fatalf("%s: exit %v %v, want 7", runner, ws, err)
		}
		if _, err := os.Stat(made); err != nil {
			t.Errorf("%s: the op did not run: %v", runner, err)
		}
		if b, _ := os.ReadFile(staged); runner == "go" && string(b) != "from a stage" {
			t.Errorf("the stage wrote %q", b)
		}
	}
}

func TestGoRunnerStageFailure(t *testing.T) {
	parent, child, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	p := New(int(child.Fd()))
	p.Stage("a test stage", 2)
	c := goRunner(t, p, parent, child, nil)
	err = c.Expect('R')
	var se *StageError
	if !errors.As(err, &se) || !errors.Is(err, syscall.EXDEV) || se.Msg != "stage two: invalid cross-device link" {
		t.Fatalf("got %v, want the stage's error with EXDEV", err)
	}
	if ws, _ := c.Wait(); ws.ExitStatus() != 1 {
		t.Fatalf("exit %v, want 1", ws)
	}
}

// The raw child refuses a program with a stage.
func TestRawChildRefusesStages(t *testing.T) {
	parent, child, _ := Pair()
	defer child.Close()
	p := New(int(child.Fd()))
	p.Stage("hooks", 1)
	if _, err := p.Start(0, parent); err == nil {
		t.Fatal("Start ran a program with a Go stage")
	}
}

// A program survives the wire whole; a malformed one is refused.
func TestWire(t *testing.T) {
	p := New(7)
	r := p.Result(nil, syscall.SYS_OPENAT, Imm(atFDCWD), p.Str("/x"), Imm(0), Imm(0))
	l, _ := p.StrList([]string{"a", "bc"})
	p.Call(nil, syscall.SYS_CLOSE, R(r), l)
	p.Tolerate(syscall.EBADF)
	p.TolerateAll()
	p.Stage("why", 3, p.Filter(closeRangeRefused()))
	b := p.Marshal()
	q, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(q.Marshal()) != string(b) {
		t.Fatal("the program changed on the wire")
	}
	if q.NeedsGo() != "why" || q.SyncFD() != 7 {
		t.Fatalf("needsGo %q syncFD %d", q.NeedsGo(), q.SyncFD())
	}
	for i := range b {
		c := append([]byte(nil), b...)
		c[i] ^= 0xff
		q, err := Unmarshal(c)
		if err == nil {
			q.check() // must not panic either
		}
	}
	for n := 0; n < len(b); n += 7 {
		if _, err := Unmarshal(b[:n]); err == nil {
			t.Fatalf("a program cut at %d bytes was read", n)
		}
	}
}
