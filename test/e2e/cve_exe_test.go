package e2e

import (
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/testutil"
)

// CVE-2019-5736: a process in a container opened the runtime's binary
// through /proc/PID/exe and overwrote it on the host. hako executes its
// init from a read-only, detached mount of itself (internal/spawn/exe.go),
// so every such open must fail, before and after the process that runs the
// binary exits, and the host binary must stay as it was. While the binary
// runs, the kernel refuses with ETXTBSY before it looks at the mount, so
// those steps also check that the file is reached through a read-only
// mount (or is a sealed memfd copy); once nothing runs it, only the
// read-only mount stands between the handle and the host file: EROFS.
//
// Victim: container A, created and then started, whose process is the
// script "#!/proc/self/exe --help": the kernel runs the init's own
// executable (hako) as its interpreter, inside the container; its stdout is
// a full pipe, so it blocks writing the help text and can be attacked at
// leisure.
// Attacker: container B, privileged (every capability this process holds,
// so that ptrace access rules are no obstacle) and in the host's pid
// namespace, running testdata/exeattack against A's process; the host side
// of the test attacks too.
//
// The test fails if spawn runs the binary from its plain path: the opens
// then fail with ETXTBSY at best while the binary runs, and the reopen
// after exit succeeds and changes the binary.
//
// Both runners are attacked. Either way the container's process is
// executed through a sealed memfd trampoline, so the interpreter
// "/proc/self/exe" is that trampoline, not hako. The Go runner is hako,
// from a read-only mount of itself, while it sets the container up: with a
// startContainer hook it waits for start as hako, so there the created
// init is attacked while it runs hako.
func TestHostBinaryNotWritableFromContainer(t *testing.T) { forRunners(t, testExeAttack) }

func testExeAttack(t *testing.T, e *env) {
	before := fileHash(t, e.bin)
	attacker := buildExeAttack(t)

	// A: the victim, "#!/proc/self/exe" as its process.
	a := e.bundle([]string{"/evil"}, func(s *specs.Spec) {
		if e.runner == "go" {
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true"}}}
		}
	})
	if err := os.WriteFile(filepath.Join(a, "rootfs", "evil"), []byte("#!/proc/self/exe --help\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// `hako validate` checks that a script's interpreter exists in the
	// rootfs; the /proc mount hides this placeholder at run time.
	placeholder := filepath.Join(a, "rootfs", "proc", "self", "exe")
	if err := os.MkdirAll(filepath.Dir(placeholder), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(placeholder, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	full, fullR := fullPipe(t)
	create := e.command("create", "--bundle", a, "victim")
	stderr := tempFile(t)
	create.Stdout, create.Stderr = full, stderr
	if err := create.Run(); err != nil {
		t.Fatalf("hako create: %v: %s", err, readAll(stderr))
	}
	full.Close()
	pid := e.state("victim").Pid
	exe := "/proc/" + strconv.Itoa(pid) + "/exe"
	if e.runner == "go" {
		if l, _ := os.Readlink(exe); strings.HasPrefix(l, "/memfd:") {
			t.Fatalf("the created init of the Go runner waiting for start runs %s, not hako", l)
		}
	}
	expectRefused(t, "host, created init", exe)

	// B: the attacker, told A's pid; two fifos pace it.
	out := t.TempDir()
	for _, f := range []string{"go", "ack"} {
		if err := unix.Mkfifo(filepath.Join(out, f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := e.bundle([]string{"/exeattack", strconv.Itoa(pid), "/out/go", "/out/ack", "/out/report"}, func(s *specs.Spec) {
		withoutNS(s, specs.PIDNamespace)
		caps := allCaps(t)
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/out", Type: "bind", Source: out, Options: []string{"rbind", "rw"}})
	})
	copyInto(t, attacker, filepath.Join(b, "rootfs", "exeattack"))
	e.must("run", "-d", "--bundle", b, "attacker")
	bPid := e.state("attacker").Pid
	t.Cleanup(func() { e.run("delete", "--force", "attacker"); reap(bPid) })
	goFifo := openFifo(t, filepath.Join(out, "go"))
	ackFifo := openFifo(t, filepath.Join(out, "ack"))
	ack := func() { waitAck(t, ackFifo, bPid) }
	next := func() {
		if _, err := goFifo.Write([]byte{'.'}); err != nil {
			t.Fatal(err)
		}
	}

	ack() // init-alive: done while A's init waits for start
	go io.Copy(io.Discard, fullR)
	e.must("start", "victim")
	next()
	ack() // interpreter-alive (the process may be gone)

	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatalf("waiting for pid %d: %v", pid, err)
	}
	if ws.ExitStatus() != 127 {
		// The interpreter /proc/self/exe is the trampoline, which finds
		// no report socket the second time and gives up: hako never runs.
		t.Errorf("\"#!/proc/self/exe\" exited %v, want 127 (the trampoline refusing, not hako running)", ws)
	}
	e.must("delete", "victim")
	next()
	ack() // after-exit: nothing runs the binary any more

	report, err := os.ReadFile(filepath.Join(out, "report"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, l := range lines(string(report)) {
		f := strings.Fields(l)
		got[f[0]] = f[1:]
	}
	for _, step := range []string{"init-alive", "interpreter-alive", "after-exit"} {
		r := got[step]
		if step != "init-alive" {
			// The process is gone: whatever the attacker got, it must not
			// have written.
			if len(r) == 0 || r[0] == "WROTE" {
				t.Errorf("from inside a container, %s: %q (report:\n%s)", step, r, report)
			}
			continue
		}
		// On a read-only mount: EROFS (ETXTBSY while the binary runs). A
		// sealed memfd copy may open, but refuses the write (EPERM); it
		// is not the host file anyway.
		ok := len(r) == 2 && r[0] != "WROTE" && (r[1] == "memfd" ||
			r[1] == "ro" && (r[0] == "EROFS" || step != "after-exit" && r[0] == "ETXTBSY"))
		if !ok {
			t.Errorf("from inside a container, %s: opening the runtime's exe for writing gave %q, want a refusal on a read-only mount (report:\n%s)", step, r, report)
		}
	}
	if after := fileHash(t, e.bin); after != before {
		t.Fatalf("the host's hako binary %s was changed from inside a container", e.bin)
	}
}

// expectRefused opens exe (a /proc/PID/exe of a process running hako)
// for writing, appending a byte if that worked, and fails the test unless
// the open is refused and the file lies on a read-only mount or is a
// sealed memfd copy (see TestHostBinaryNotWritableFromContainer).
func expectRefused(t *testing.T, what, exe string) {
	t.Helper()
	f, err := os.OpenFile(exe, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = f.Write([]byte{'x'})
		f.Close()
		t.Errorf("%s: %s could be opened for writing (write: %v)", what, exe, err)
	}
	if l, _ := os.Readlink(exe); strings.HasPrefix(l, "/memfd:") {
		return
	}
	var st unix.Statfs_t
	if err := unix.Statfs(exe, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("%s: %s lies on a writable mount (open for writing: %v); it must be reachable only through a read-only mount", what, exe, err)
	}
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// buildExeAttack builds testdata/exeattack as a static binary.
func buildExeAttack(t *testing.T) string {
	t.Helper()
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "exeattack")
	cmd := exec.Command("go", "build", "-o", bin, "./test/e2e/testdata/exeattack")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building exeattack: %v: %s", err, out)
	}
	return bin
}

func copyInto(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// fullPipe returns a pipe of one page whose buffer is already full, so
// that a process writing to it blocks until the test reads the other end.
func fullPipe(t *testing.T) (w, r *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	size, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, os.Getpagesize())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	return w, r
}

// openFifo opens a fifo read-write: that never blocks, and keeps it open
// whichever side comes first.
func openFifo(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// waitAck reads one acknowledgement byte, failing the test if pid exits
// first.
func waitAck(t *testing.T, ack *os.File, pid int) {
	t.Helper()
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pfd)
	fds := []unix.PollFd{{Fd: int32(ack.Fd()), Events: unix.POLLIN}, {Fd: int32(pfd), Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			t.Fatal(err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			if _, err := ack.Read(make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			return
		}
		if fds[1].Revents != 0 {
			t.Fatalf("the attacker (pid %d) exited before it acknowledged a step", pid)
		}
	}
}

// allCaps lists the capabilities in this process's bounding set, as
// config.json names them.
func allCaps(t *testing.T) []string {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	mask, err := strconv.ParseUint(statusField(string(status), "CapBnd"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	var caps []string
	for _, c := range capability.ListKnown() {
		if mask&(1<<uint(c)) != 0 {
			caps = append(caps, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	return caps
}

// The same attack through `hako exec`: the exec'd process is the script
// "#!/proc/self/exe --help". With either runner its /proc/self/exe is the
// trampoline, which finds its report socket gone and exits 127: hako never
// runs in the container. The host binary stays unchanged.
func TestExecHostBinaryNotWritable(t *testing.T) { forRunners(t, testExecHostBinaryNotWritable) }

func testExecHostBinaryNotWritable(t *testing.T, e *env) {
	before := fileHash(t, e.bin)
	b := e.bundle([]string{"sleep", "1000"}, nil)
	if err := os.WriteFile(filepath.Join(b, "rootfs", "evil"), []byte("#!/proc/self/exe --help\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.must("run", "-d", "--bundle", b, "execvictim")
	pid := e.state("execvictim").Pid
	defer e.deleteAndReap("execvictim", pid)

	full, fullR := fullPipe(t)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	cmd := e.command("exec", "--detach", "--pid-file", pidFile, "execvictim", "/evil")
	stderr := tempFile(t)
	cmd.Stdout, cmd.Stderr = full, stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hako exec: %v: %s", err, readAll(stderr))
	}
	full.Close()
	pb, _ := os.ReadFile(pidFile)
	epid, _ := strconv.Atoi(string(pb))
	if l, err := os.Readlink("/proc/" + strconv.Itoa(epid) + "/exe"); err == nil && !strings.HasPrefix(l, "/memfd:") {
		// Only the trampoline may run (or the process is gone).
		t.Errorf("the exec'd \"#!/proc/self/exe\" process runs %s", l)
		go io.Copy(io.Discard, fullR)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(epid, &ws, 0, nil); err != nil {
		t.Fatalf("waiting for pid %d: %v", epid, err)
	}
	if ws.ExitStatus() != 127 {
		t.Errorf("the exec'd \"#!/proc/self/exe\" exited %v, want 127 (the trampoline refusing, not hako running)", ws)
	}
	if after := fileHash(t, e.bin); after != before {
		t.Fatalf("the host's hako binary %s was changed from inside a container", e.bin)
	}
}
