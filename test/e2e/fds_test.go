package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// procFDs lists a process's open fds as the host sees them.
func procFDs(t *testing.T, pid int) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	var fds []int
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		fds = append(fds, n)
	}
	sort.Ints(fds)
	var out []string
	for _, n := range fds {
		out = append(out, strconv.Itoa(n))
	}
	return out
}

// --preserve-fds N passes hako's fds 3..3+N-1 to the process, in order;
// every other fd hako holds or inherited stays outside (CVE-2024-21626).
func TestPreserveFDs(t *testing.T) { forRunners(t, testPreserveFDs) }

func testPreserveFDs(t *testing.T, e *env) {
	three := writeFile(t, "three", "fd three\n", 0o644)
	fThree, _ := os.Open(three)
	defer fThree.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	hostDir, _ := os.Open(t.TempDir()) // offered at fd 5 but not preserved
	defer hostDir.Close()
	b := e.bundle([]string{"sh", "-c", "cat <&3; echo via-four >&4; exec 4>&-; exec sleep 1000"}, nil)
	cmd := e.command("run", "-d", "--preserve-fds", "2", "--bundle", b, "fds")
	cmd.ExtraFiles = []*os.File{fThree, pw, hostDir}
	so, se := tempFile(t), tempFile(t)
	cmd.Stdout, cmd.Stderr = so, se
	if err := cmd.Run(); err != nil {
		t.Fatalf("run -d: %v: %s", err, readAll(se))
	}
	pw.Close()
	pid := e.state("fds").Pid
	defer e.deleteAndReap("fds", pid)
	buf := make([]byte, 64)
	n, _ := pr.Read(buf)
	if got := string(buf[:n]); got != "via-four\n" {
		t.Errorf("read %q from the pipe passed as fd 4, want via-four", got)
	}
	// The process has exec'd sleep once fd 4 is closed and comm changed.
	waitComm(t, pid, "sleep")
	if got := procFDs(t, pid); strings.Join(got, " ") != "0 1 2 3" {
		t.Errorf("the container process holds fds %v, want 0 1 2 3 (3 preserved; 4 closed by it; nothing else)", got)
	}
	if out := readAll(so); out != "fd three\n" {
		t.Errorf("cat <&3 printed %q", out)
	}
}

// Without --preserve-fds, fds hako inherited are not passed on.
func TestNoLeakedFDs(t *testing.T) { forRunners(t, testNoLeakedFDs) }

func testNoLeakedFDs(t *testing.T, e *env) {
	hostDir, _ := os.Open(t.TempDir())
	defer hostDir.Close()
	b := e.bundle([]string{"sleep", "1000"}, nil)
	cmd := e.command("run", "-d", "--bundle", b, "noleak")
	cmd.ExtraFiles = []*os.File{hostDir, hostDir, hostDir}
	se := tempFile(t)
	cmd.Stdout, cmd.Stderr = tempFile(t), se
	if err := cmd.Run(); err != nil {
		t.Fatalf("run -d: %v: %s", err, readAll(se))
	}
	pid := e.state("noleak").Pid
	defer e.deleteAndReap("noleak", pid)
	if got := procFDs(t, pid); strings.Join(got, " ") != "0 1 2" {
		t.Errorf("the container process holds fds %v, want only 0 1 2", got)
	}
}

// waitComm waits until pid runs the named program (it has exec'd).
func waitComm(t *testing.T, pid int, comm string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if err != nil {
			t.Fatalf("pid %d: %v", pid, err)
		}
		if strings.TrimSpace(string(b)) == comm {
			return
		}
		pollPid(pid, 20)
	}
	t.Fatalf("pid %d never became %s", pid, comm)
}

// The CVE-2024-21626 escape: process.cwd naming an fd of the init that
// points outside the rootfs. A preserved host directory at fd 3 and every
// fd the init may hold must not give the process a cwd outside its root.
func TestCwdThroughProcSelfFDIsRefused(t *testing.T) {
	forRunners(t, testCwdThroughProcSelfFDIsRefused)
}

func testCwdThroughProcSelfFDIsRefused(t *testing.T, e *env) {
	d := hostSecretDir(t)
	for fd := 3; fd <= 9; fd++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(fd)
		b := e.bundle([]string{"sh", "-c", "pwd; ls; cat ../host-secret"}, func(s *specs.Spec) { s.Process.Cwd = cwd })
		// The directory exists in the rootfs image, so a host-side check
		// passes; at run time procfs covers it with the magic link.
		if err := os.MkdirAll(b+"/rootfs"+cwd, 0o755); err != nil {
			t.Fatal(err)
		}
		expectCwdRefused(t, cwd, e.command("run", "--preserve-fds", "1", "--bundle", b, "cwdescape"), d, "process.cwd")
	}
}

// hostSecretDir opens a host directory holding host-secret: what a cwd
// through /proc/self/fd/N must never reach.
func hostSecretDir(t *testing.T) *os.File {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/host-secret", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// expectCwdRefused runs cmd, which asks for cwd and a preserved fd 3 (the
// host directory d), and fails unless hako refused it with an error
// naming want and the process never reached the host directory.
func expectCwdRefused(t *testing.T, cwd string, cmd *exec.Cmd, d *os.File, want string) {
	t.Helper()
	cmd.ExtraFiles = []*os.File{d}
	so, se := tempFile(t), tempFile(t)
	cmd.Stdout, cmd.Stderr = so, se
	err := cmd.Run()
	if out := readAll(so); strings.Contains(out, "host-secret") {
		t.Errorf("cwd %s: the process reached the host directory: %s", cwd, out)
	} else if err == nil {
		t.Errorf("cwd %s: the process ran: %q", cwd, out)
	} else if msg := readAll(se); !strings.Contains(msg, want) {
		t.Errorf("cwd %s: error does not name %s: %s", cwd, want, msg)
	} else {
		t.Logf("cwd %s: %s", cwd, msg)
	}
}

// exec, through both ways it starts a process: fds hako inherited are not
// passed on, and a cwd through /proc/self/fd/N (a preserved host
// directory, or any fd the setup holds) never takes the process outside
// the container's root (CVE-2024-21626).
func TestExecFDs(t *testing.T) { forRunners(t, testExecFDs) }

func testExecFDs(t *testing.T, e *env) {
	d := hostSecretDir(t)
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "execfds")
	pid := e.state("execfds").Pid
	defer e.deleteAndReap("execfds", pid)

	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	cmd := e.command("exec", "--detach", "--pid-file", pidFile, "execfds", "sleep", "999")
	cmd.ExtraFiles = []*os.File{d, d, d}
	se := tempFile(t)
	cmd.Stdout, cmd.Stderr = tempFile(t), se
	if err := cmd.Run(); err != nil {
		t.Fatalf("exec -d: %v: %s", err, readAll(se))
	}
	pb, _ := os.ReadFile(pidFile)
	epid, _ := strconv.Atoi(string(pb))
	waitComm(t, epid, "sleep")
	if got := procFDs(t, epid); strings.Join(got, " ") != "0 1 2" {
		t.Errorf("the exec'd process holds fds %v, want only 0 1 2", got)
	}
	syscall.Kill(epid, syscall.SIGKILL)
	waitReap(t, epid)

	for fd := 3; fd <= 9; fd++ {
		cwd := "/proc/self/fd/" + strconv.Itoa(fd)
		expectCwdRefused(t, cwd, e.command("exec", "--preserve-fds", "1", "--cwd", cwd, "execfds", "sh", "-c", "pwd; ls; cat ../host-secret"), d, "cwd")
	}
}
