package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/spec"
	"github.com/hako-dev/hako/internal/testutil"
)

// env is one isolated --root with the built binary.
type env struct {
	t    *testing.T
	bin  string
	root string
	// runner is "go" to force the Go runner (HAKO_INIT=go), "" for hako's
	// own choice (the raw child wherever it can run the program).
	runner string
}

// runners are the ways hako runs a container's setup program: its own
// choice (the raw child) and the Go runner, forced with HAKO_INIT=go.
var runners = []struct{ name, init string }{{"raw", ""}, {"go", "go"}}

// forRunners runs f once per runner, each with an env of its own.
func forRunners(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	for _, r := range runners {
		t.Run(r.name, func(t *testing.T) {
			e := newEnv(t)
			e.runner = r.init
			f(t, e)
		})
	}
}

// forRunnersAndRunc is forRunners (f's hako true), then the same scenario
// under Debian's runc (hako false) where it is installed, to compare.
func forRunnersAndRunc(t *testing.T, f func(t *testing.T, e *env, hako bool)) {
	t.Helper()
	forRunners(t, func(t *testing.T, e *env) { f(t, e, true) })
	t.Run("runc", func(t *testing.T) {
		if r := newEnv(t).runc(t); r != nil {
			f(t, r, false)
		}
	})
}

// on is e for a subtest of a test that forRunners runs: the same root and
// runner, with failures reported (and temporary directories made) on t.
func (e *env) on(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// runc is e with Debian's runc in hako's place (its own --root), to run
// the same scenario under both and compare; nil where runc is missing.
func (e *env) runc(t *testing.T) *env {
	p, err := exec.LookPath("runc")
	if err != nil {
		return nil
	}
	c := *e
	c.t, c.bin, c.root = t, p, t.TempDir()
	t.Cleanup(c.cleanupAll)
	return &c
}

// command is hako with --root set, as the runner asks.
func (e *env) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, append([]string{"--root", e.root}, args...)...)
	cmd.Env = append(os.Environ(), "HAKO_INIT="+e.runner)
	return cmd
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testutil.RequiresRoot(t)
	testutil.RequiresBusybox(t)
	testutil.BecomeSubreaper(t)
	e := &env{t: t, bin: testutil.HakoBinary(t), root: t.TempDir()}
	t.Cleanup(e.cleanupAll)
	return e
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "exit " + itoa(r.code) + "\nstdout: " + r.stdout + "\nstderr: " + r.stderr
}

func itoa(i int) string { return jsonInt(i) }

func jsonInt(i int) string { b, _ := json.Marshal(i); return string(b) }

// run executes hako with --root set and returns its output.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runIn("", nil, args...)
}

func (e *env) runIn(dir string, stdin []byte, args ...string) result {
	e.t.Helper()
	cmd := e.command(args...)
	cmd.Dir = dir
	// Files, not pipes: a detached container inherits hako's stdio and
	// would keep a pipe open long after hako exits.
	so, se := tempFile(e.t), tempFile(e.t)
	cmd.Stdout, cmd.Stderr = so, se
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("running hako %v: %v", args, err)
	}
	return result{readAll(so), readAll(se), code}
}

func tempFile(t *testing.T) *os.File {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readAll(f *os.File) string {
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

// must runs hako and fails the test unless it exits 0.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("hako %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// bundle writes a busybox bundle whose config is hako's default with
// terminal off and args as given, changed by mod.
func (e *env) bundle(args []string, mod func(*specs.Spec)) string {
	e.t.Helper()
	dir := e.t.TempDir()
	rootfs := testutil.BusyboxRootfs(e.t)
	if err := os.Rename(rootfs, filepath.Join(dir, "rootfs")); err != nil {
		e.t.Fatal(err)
	}
	s := spec.Default()
	s.Process.Terminal = false
	s.Process.Args = args
	if mod != nil {
		mod(s)
	}
	if err := spec.Write(filepath.Join(dir, "config.json"), s); err != nil {
		e.t.Fatal(err)
	}
	return dir
}

type ociState struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
	Bundle string `json:"bundle"`
}

func (e *env) state(id string) ociState {
	e.t.Helper()
	var s ociState
	out := e.must("state", id)
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		e.t.Fatalf("state output is not JSON: %q", out)
	}
	return s
}

// cleanupAll force-deletes whatever a failed test left and reaps zombies.
func (e *env) cleanupAll() {
	ents, _ := os.ReadDir(e.root)
	for _, d := range ents {
		var st ociState
		if b, err := os.ReadFile(filepath.Join(e.root, d.Name(), "state.json")); err == nil {
			var raw struct {
				Pid int `json:"init_process_pid"`
			}
			json.Unmarshal(b, &raw)
			st.Pid = raw.Pid
		}
		e.command("delete", "--force", d.Name()).Run()
		reap(st.Pid)
	}
}

// reap collects a container init that was reparented to us (we are a
// subreaper), without touching other children.
func reap(pid int) {
	if pid <= 0 {
		return
	}
	var ws unix.WaitStatus
	unix.Wait4(pid, &ws, unix.WNOHANG, nil)
}

// waitReap blocks until a container init that was reparented to us (we are
// a subreaper) exits, and reaps it.
func waitReap(t *testing.T, pid int) {
	t.Helper()
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatalf("waiting for pid %d: %v", pid, err)
	}
}

// deleteAndReap deletes a container and reaps its init.
func (e *env) deleteAndReap(id string, pid int) {
	e.t.Helper()
	e.must("delete", "--force", id)
	reap(pid)
}

// hostNS returns the host's namespace link for a type (e.g. "net").
func hostNS(t *testing.T, name string) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// mountinfo returns the host's mount table (to detect leaked mounts).
func mountinfo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noLeftovers checks that a container id left no state dir, cgroup or mount.
func (e *env) noLeftovers(id, mountsBefore string) {
	e.t.Helper()
	if _, err := os.Stat(filepath.Join(e.root, id)); err == nil {
		e.t.Errorf("state directory %s was left behind", filepath.Join(e.root, id))
	}
	for _, c := range []string{"pids", "memory", "cpu", "devices", "freezer"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, "hako", id)); err == nil {
			e.t.Errorf("cgroup %s/hako/%s was left behind", c, id)
		}
	}
	if after := mountinfo(e.t); after != mountsBefore {
		e.t.Errorf("host mount table changed:\nbefore:\n%s\nafter:\n%s", mountsBefore, after)
	}
}

// startForeground starts `hako run` in the foreground and returns once the
// container is running, with the init's pid.
func (e *env) startForeground(bundle, id string) (*exec.Cmd, int) {
	e.t.Helper()
	pidFile := filepath.Join(e.t.TempDir(), "pid")
	cmd := e.command("run", "--bundle", bundle, "--pid-file", pidFile, id)
	cmd.Stdout, cmd.Stderr = tempFile(e.t), tempFile(e.t)
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for {
		st := e.run("state", id)
		if st.code == 0 && strings.Contains(st.stdout, `"running"`) {
			var s ociState
			json.Unmarshal([]byte(st.stdout), &s)
			return cmd, s.Pid
		}
		if cmd.ProcessState != nil {
			e.t.Fatalf("hako run exited early")
		}
		waitAny(cmd)
	}
}

// waitAny blocks briefly on the process's pidfd: it returns when the
// process exits or after 50ms, whichever is first (a poll, not a sleep).
func waitAny(cmd *exec.Cmd) {
	fd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50)
}

// waitForChild waits until pid has a child that runs sleep: the test
// shells start `sleep 1000` in the background after everything else they
// do, so by then their output is written and their traps are set. Any
// child would not do: a shell that runs `id` or `cat` first has those as
// children for a moment, and a child still between fork and exec is the
// shell itself.
func waitForChild(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	path := "/proc/" + itoa(pid) + "/task/" + itoa(pid) + "/children"
	for i := 0; i < 200; i++ {
		if b, err := os.ReadFile(path); err == nil {
			for _, c := range strings.Fields(string(b)) {
				if cmdline, err := os.ReadFile("/proc/" + c + "/cmdline"); err == nil && strings.HasPrefix(string(cmdline), "sleep\x00") {
					return
				}
			}
		}
		if n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 50); n > 0 {
			t.Fatalf("pid %d exited while waiting for its child sleep", pid)
		}
	}
	t.Fatalf("pid %d never started its child sleep", pid)
}
