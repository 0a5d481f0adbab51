package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// pause, resume, ps, events --stats and update, driven by go-runc exactly
// as containerd drives runc.
func TestCgroupVerbsThroughGoRunc(t *testing.T) { forRunners(t, testCgroupVerbsThroughGoRunc) }

func testCgroupVerbsThroughGoRunc(t *testing.T, e *env) {
	ctx := e.runcContext()
	client := &runc.Runc{Command: e.bin, Root: e.root}
	b := e.bundle([]string{"sh", "-c", "sleep 1000 & sleep 1000"}, nil)
	e.must("run", "-d", "--bundle", b, "verbs")
	pid := e.state("verbs").Pid
	defer e.deleteAndReap("verbs", pid)
	waitForChild(t, pid)

	pids, err := client.Ps(ctx, "verbs")
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) < 2 || !containsInt(pids, pid) {
		t.Errorf("ps = %v, want the init %d and its child", pids, pid)
	}
	top := e.must("ps", "verbs")
	if !strings.Contains(top, "PID") || !strings.Contains(top, strconv.Itoa(pid)) {
		t.Errorf("ps table:\n%s", top)
	}

	if err := client.Pause(ctx, "verbs"); err != nil {
		t.Fatal(err)
	}
	if st := e.state("verbs"); st.Status != "paused" {
		t.Errorf("after pause: %s", st.Status)
	}
	freezer, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup/freezer", cgroupOf(t, pid, "freezer"), "freezer.state"))
	if strings.TrimSpace(string(freezer)) != "FROZEN" {
		t.Errorf("freezer.state = %q", freezer)
	}
	if r := e.run("pause", "verbs"); r.code == 0 {
		t.Errorf("second pause succeeded")
	}
	if err := client.Resume(ctx, "verbs"); err != nil {
		t.Fatal(err)
	}
	if st := e.state("verbs"); st.Status != "running" {
		t.Errorf("after resume: %s", st.Status)
	}

	stats, err := client.Stats(ctx, "verbs")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Pids.Current < 2 || stats.Memory.Usage.Usage == 0 {
		t.Errorf("stats: pids %d memory %d", stats.Pids.Current, stats.Memory.Usage.Usage)
	}

	limit := int64(42)
	if err := client.Update(ctx, "verbs", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup/pids", cgroupOf(t, pid, "pids"), "pids.max"))
	if strings.TrimSpace(string(got)) != "42" {
		t.Errorf("pids.max after update = %q", got)
	}
	e.must("update", "--memory", "64m", "verbs")
	got, _ = os.ReadFile(filepath.Join("/sys/fs/cgroup/memory", cgroupOf(t, pid, "memory"), "memory.limit_in_bytes"))
	if strings.TrimSpace(string(got)) != strconv.Itoa(64<<20) {
		t.Errorf("memory.limit_in_bytes after update = %q", got)
	}
	if r := e.run("update", "--memory", "lots", "verbs"); r.code == 0 || !strings.Contains(r.stderr, "--memory") {
		t.Errorf("bad --memory: %s", r)
	}
	if out := e.must("features"); !strings.Contains(out, `"ociVersionMax"`) || !strings.Contains(out, "CAP_SYS_ADMIN") {
		t.Errorf("features output:\n%s", out)
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// cgroupOf reads a process's cgroup path for a v1 controller.
func cgroupOf(t *testing.T, pid int, controller string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 {
			for _, c := range strings.Split(f[1], ",") {
				if c == controller {
					return f[2]
				}
			}
		}
	}
	t.Fatalf("pid %d has no %s cgroup:\n%s", pid, controller, b)
	return ""
}

// runc 1.5's answers at the edges of the verbs: `delete --force` of an
// unknown id succeeds (Debian's runc 1.1.5 too, compared); `kill ID 0`
// probes (0 for a live container, "container not running" for a stopped
// one); `ps` of a stopped container prints nothing (`[]` as JSON) and
// succeeds; `list` with a --root given by name that does not exist fails,
// and creates nothing.
func TestVerbEdgesLikeRunc(t *testing.T) { forRunners(t, testVerbEdgesLikeRunc) }

func testVerbEdgesLikeRunc(t *testing.T, e *env) {
	if r := e.run("delete", "--force", "no-such-container"); r.code != 0 {
		t.Errorf("delete --force of an unknown id: %s", r)
	}
	if r := e.run("delete", "no-such-container"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("delete of an unknown id without --force: %s", r)
	}
	if rc := e.runc(t); rc != nil {
		if r := rc.run("delete", "--force", "no-such-container"); r.code != 0 {
			t.Errorf("runc answers delete --force of an unknown id with %s; the test expects success", r)
		}
	}
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "edges")
	pid := e.state("edges").Pid
	if r := e.run("kill", "edges", "0"); r.code != 0 {
		t.Errorf("kill ID 0 of a running container: %s", r)
	}
	e.must("kill", "edges", "KILL")
	waitReap(t, pid)
	if r := e.run("kill", "edges", "0"); r.code == 0 || !strings.Contains(r.stderr, "container not running") {
		t.Errorf("kill ID 0 of a stopped container: %s", r)
	}
	if r := e.run("ps", "edges"); r.code != 0 || r.stdout != "" {
		t.Errorf("ps of a stopped container: %s, want nothing and success", r)
	}
	if r := e.run("ps", "--format", "json", "edges"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("ps --format json of a stopped container: %s, want []", r)
	}
	e.must("delete", "edges")
	missing := filepath.Join(t.TempDir(), "absent")
	r := e.on(t)
	r.root = missing
	if res := r.run("list"); res.code == 0 || !strings.Contains(res.stderr, "--root") {
		t.Errorf("list with a missing --root: %s", res)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("list made the missing --root %s", missing)
	}
}

// --pidfd-socket (runc 1.2+) on create and exec: the listener gets a pidfd
// of the container's process, and of the exec'd one (its pid as
// --pid-file writes it), which can signal it.
func TestPidfdSocket(t *testing.T) { forRunners(t, testPidfdSocket) }

func testPidfdSocket(t *testing.T, e *env) {
	sock := filepath.Join(t.TempDir(), "pidfd.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan int, 2)
	go func() {
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				close(got)
				return
			}
			buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
			_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			c.Close()
			fd := -1
			if msgs, _ := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
				if fds, _ := unix.ParseUnixRights(&msgs[0]); len(fds) == 1 {
					fd = fds[0]
				}
			}
			got <- fd
		}
	}()
	pidOf := func(fd int) int {
		b, _ := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(fd))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Pid:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n
			}
		}
		return -1
	}
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("create", "--pidfd-socket", sock, "--bundle", b, "pidfd")
	pid := e.state("pidfd").Pid
	defer e.deleteAndReap("pidfd", pid)
	fd := <-got
	if fd < 0 || pidOf(fd) != pid {
		t.Fatalf("create sent fd %d of pid %d, want a pidfd of the init %d", fd, pidOf(fd), pid)
	}
	if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
		t.Errorf("the pidfd cannot signal: %v", err)
	}
	unix.Close(fd)
	e.must("start", "pidfd")
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.must("exec", "-d", "--pidfd-socket", sock, "--pid-file", pidFile, "pidfd", "sleep", "1000")
	fd = <-got
	b2, _ := os.ReadFile(pidFile)
	execPid, _ := strconv.Atoi(strings.TrimSpace(string(b2)))
	if fd < 0 || pidOf(fd) != execPid || execPid == pid {
		t.Errorf("exec sent fd %d of pid %d, want a pidfd of the exec'd process %d", fd, pidOf(fd), execPid)
	}
	// The exec'd process is ours to reap (we are the subreaper), as a
	// shim's would be: the init's exit waits for it.
	if fd >= 0 {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		unix.Close(fd)
	}
	waitReap(t, execPid)
}

// `events` reports an OOM kill in the container's cgroup as runc does
// ({"type":"oom","id":ID}), between its stats.
func TestEventsOOM(t *testing.T) { forRunners(t, testEventsOOM) }

func testEventsOOM(t *testing.T, e *env) {
	limit := int64(32 << 20)
	b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &limit}
	})
	e.must("run", "-d", "--bundle", b, "oom")
	pid := e.state("oom").Pid
	defer e.deleteAndReap("oom", pid)
	ev := e.command("events", "--interval", "100ms", "oom")
	out, err := ev.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { ev.Process.Kill(); ev.Wait() }()
	dec := json.NewDecoder(out)
	var first struct{ Type string }
	if err := dec.Decode(&first); err != nil || first.Type != "stats" {
		t.Fatalf("first event %+v, %v; want stats (the OOM watch is armed before it)", first, err)
	}
	if r := e.run("exec", "oom", "sh", "-c", `x=$(head -c 300000000 /dev/zero | tr '\0' a); echo survived`); r.code == 0 {
		t.Fatalf("the memory hog was not OOM-killed: %s", r)
	}
	got := make(chan string, 1)
	go func() {
		for {
			var ev struct{ Type, ID string }
			if err := dec.Decode(&ev); err != nil {
				got <- "error: " + err.Error()
				return
			}
			if ev.Type == "oom" {
				got <- ev.ID
				return
			}
		}
	}()
	select {
	case id := <-got:
		if id != "oom" {
			t.Errorf("oom event for %q", id)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("no oom event within 30 s of the OOM kill")
	}
}

// exec into a paused container is refused, naming --ignore-paused (as
// runc does, compared); with it the process is started, frozen with the
// rest of the container until resume.
func TestExecPausedLikeRunc(t *testing.T) { forRunners(t, testExecPausedLikeRunc) }

func testExecPausedLikeRunc(t *testing.T, e *env) {
	check := func(e *env, who string, ignore bool) {
		t.Helper()
		b := e.bundle([]string{"sleep", "1000"}, nil)
		e.must("run", "-d", "--bundle", b, "paused")
		defer e.deleteAndReap("paused", e.state("paused").Pid)
		e.must("pause", "paused")
		if r := e.run("exec", "paused", "true"); r.code == 0 || !strings.Contains(r.stderr, "paused") || !strings.Contains(r.stderr, "--ignore-paused") {
			t.Errorf("%s: exec into a paused container: %s, want it refused naming --ignore-paused", who, r)
		}
		if !ignore {
			return
		}
		pidFile := filepath.Join(t.TempDir(), "pid")
		e.must("exec", "--ignore-paused", "-d", "--pid-file", pidFile, "paused", "sh", "-c", "echo ran > /dev/shm/ran")
		pb, _ := os.ReadFile(pidFile)
		epid, _ := strconv.Atoi(string(pb))
		if st, _ := os.ReadFile("/proc/" + itoa(epid) + "/cgroup"); epid <= 0 || len(st) == 0 {
			t.Fatalf("%s: exec --ignore-paused started no process (pid %d)", who, epid)
		}
		e.must("resume", "paused")
		waitReap(t, epid)
		if out := e.must("exec", "paused", "cat", "/dev/shm/ran"); out != "ran\n" {
			t.Errorf("%s: the process exec'd while paused did not run after resume: %q", who, out)
		}
	}
	check(e, "hako", true)
	if rc := e.runc(t); rc != nil && e.runner == "" {
		check(rc, "runc", false)
	}
}
