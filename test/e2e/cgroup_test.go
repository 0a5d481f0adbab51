package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cgroupDir is the host directory of pid's cgroup for a v1 controller.
func cgroupDir(t *testing.T, pid int, controller string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(b)) {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && contains(strings.Split(f[1], ","), controller) {
			if f[2] == "/" {
				t.Fatalf("pid %d is in the root %s cgroup", pid, controller)
			}
			return filepath.Join("/sys/fs/cgroup", controller, f[2])
		}
	}
	t.Skipf("no cgroup v1 %s controller (cgroups are not v1/hybrid here)", controller)
	return ""
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// linux.resources memory and pids limits land in the container's cgroups
// on the host, the pids limit bites inside, and delete removes them.
func TestCgroupResources(t *testing.T) { forRunners(t, testCgroupResources) }

func testCgroupResources(t *testing.T, e *env) {
	mem, pids := int64(64<<20), int64(8)
	limit := func(s *specs.Spec) {
		s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &mem}
		s.Linux.Resources.Pids = &specs.LinuxPids{Limit: &pids}
	}
	// The pids limit bites: the shell cannot fork a 9th process.
	r := e.sh("forkbomb", "i=0; while [ $i -lt 12 ]; do sleep 1000 & i=$((i+1)); done; echo all-forked", limit)
	if strings.Contains(r.stdout, "all-forked") || !strings.Contains(r.stderr, "fork") {
		t.Errorf("13 processes under pids.max 8: %s", r)
	}
	b := e.bundle([]string{"sh", "-c", "sleep 1000 & wait"}, limit)
	se := tempFile(t)
	cmd := e.command("run", "-d", "--bundle", b, "limits")
	cmd.Stdout, cmd.Stderr = tempFile(t), se
	if err := cmd.Run(); err != nil {
		t.Fatalf("run -d: %v: %s", err, readAll(se))
	}
	pid := e.state("limits").Pid
	memDir, pidsDir := cgroupDir(t, pid, "memory"), cgroupDir(t, pid, "pids")
	if got := readTrim(t, filepath.Join(memDir, "memory.limit_in_bytes")); got != strconv.FormatInt(mem, 10) {
		t.Errorf("memory.limit_in_bytes = %s, want %d", got, mem)
	}
	if got := readTrim(t, filepath.Join(pidsDir, "pids.max")); got != "8" {
		t.Errorf("pids.max = %s, want 8", got)
	}
	waitForChild(t, pid)
	if got := readTrim(t, filepath.Join(pidsDir, "pids.current")); got != "2" {
		t.Errorf("pids.current = %s, want 2 (sh and sleep)", got)
	}
	e.deleteAndReap("limits", pid)
	for _, d := range []string{memDir, pidsDir} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s is still there after delete", d)
		}
	}
}

// kill --all signals every process of the container. Without a pid
// namespace the init's death would leave its children running, so only
// --all can stop them; with one, TERM to the init alone (PID 1, no
// handler) does nothing while --all ends everything.
func TestKillAll(t *testing.T) { forRunners(t, testKillAll) }

func testKillAll(t *testing.T, e *env) {
	t.Run("host pid namespace", func(t *testing.T) {
		e := e.on(t)
		b := e.bundle([]string{"sh", "-c", "sleep 1000 & sleep 1000 & wait"}, func(s *specs.Spec) {
			withoutNS(s, specs.PIDNamespace)
		})
		e.must("run", "-d", "--bundle", b, "killall")
		pid := e.state("killall").Pid
		defer e.deleteAndReap("killall", pid)
		procs := filepath.Join(cgroupDir(t, pid, "pids"), "cgroup.procs")
		for i := 0; i < 100 && len(lines(readTrim(t, procs))) < 3; i++ {
			pollPid(pid, 20)
		}
		members := lines(readTrim(t, procs))
		if len(members) != 3 {
			t.Fatalf("cgroup holds %v, want the shell and two sleeps", members)
		}
		e.must("kill", "--all", "killall", "KILL")
		for _, m := range members {
			p, _ := strconv.Atoi(m)
			reapWithin(t, p, 5000) // each was ours to reap: we are the subreaper
		}
		if left := readTrim(t, procs); left != "" {
			t.Errorf("processes left in the cgroup: %s", left)
		}
		if st := e.state("killall"); st.Status != "stopped" {
			t.Errorf("after kill --all: %s", st.Status)
		}
	})
	t.Run("own pid namespace", func(t *testing.T) {
		e := e.on(t)
		b := e.bundle([]string{"sh", "-c", "sleep 1000 & wait"}, nil)
		e.must("run", "-d", "--bundle", b, "killall2")
		pid := e.state("killall2").Pid
		defer e.deleteAndReap("killall2", pid)
		waitForChild(t, pid)
		e.must("kill", "killall2", "TERM")
		if n, _ := unix.Poll([]unix.PollFd{{Fd: int32(pidfd(t, pid)), Events: unix.POLLIN}}, 200); n != 0 {
			t.Fatalf("TERM to PID 1 without a handler ended the container")
		}
		e.must("kill", "--all", "killall2", "TERM")
		reapWithin(t, pid, 5000)
	})
}

func pidfd(t *testing.T, pid int) int {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// linux.resources.devices apply in their order (runtime-spec: "The runtime
// MUST apply entries in the listed order"): on v1 the kernel lists the
// exceptions as they were added, the config's first, then hako's
// defaults; a deny after an allow takes back what it names.
func TestDeviceRulesInOrder(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/devices"); err != nil {
		t.Skip("no v1 devices controller here")
	}
	forRunners(t, func(t *testing.T, e *env) {
		i := func(v int64) *int64 { return &v }
		b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
			s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
				{Allow: false, Access: "rwm"},
				{Allow: true, Type: "c", Major: i(10), Minor: i(229), Access: "rwm"},
				{Allow: true, Type: "b", Major: i(8), Minor: i(4), Access: "rw"},
				{Allow: false, Type: "c", Major: i(10), Minor: i(229), Access: "w"},
			}}
		})
		e.must("run", "-d", "--bundle", b, "devorder")
		pid := e.state("devorder").Pid
		defer e.deleteAndReap("devorder", pid)
		list, err := os.ReadFile("/sys/fs/cgroup/devices/hako/devorder/devices.list")
		if err != nil {
			t.Fatal(err)
		}
		got := lines(string(list))
		if len(got) < 3 || got[0] != "c 10:229 rm" || got[1] != "b 8:4 rw" || got[2] != "c *:* m" {
			t.Errorf("devices.list:\n%s\nwant c 10:229 rm, b 8:4 rw, then the defaults (c *:* m first)", list)
		}
	})
}

// create refuses a cgroup that holds processes already (runc 1.2+ does):
// the cgroup and its process are left as they were, nothing else is made.
func TestCreateRefusesBusyCgroup(t *testing.T) { forRunners(t, testCreateRefusesBusyCgroup) }

func testCreateRefusesBusyCgroup(t *testing.T, e *env) {
	ctrl := "/sys/fs/cgroup/pids"
	if _, err := os.Stat(filepath.Join(ctrl, "cgroup.procs")); err != nil {
		ctrl = "/sys/fs/cgroup" // cgroup v2
	}
	name := "hako-e2e-busy-" + e.runner + strconv.Itoa(os.Getpid())
	dir := filepath.Join(ctrl, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "1000")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sleeper.Process.Kill()
		sleeper.Wait()
		os.Remove(dir)
	}()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	r := e.sh("busycg", "true", func(s *specs.Spec) { s.Linux.CgroupsPath = "/" + name })
	if r.code == 0 || !strings.Contains(r.stderr, "linux.cgroupsPath") || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("a busy cgroup: %s, want it refused by name", r)
	}
	if got := readTrim(t, filepath.Join(dir, "cgroup.procs")); got != strconv.Itoa(sleeper.Process.Pid) {
		t.Errorf("the busy cgroup now holds %q, want only the process it had", got)
	}
	if ents, _ := os.ReadDir(e.root); len(ents) != 0 {
		t.Errorf("left in --root: %v", ents)
	}
}

// delete --force removes the sub-cgroups a container's processes made
// below its own (as runc does on v1 and v2), killing the processes moved
// into them first: every directory of the container's cgroups is gone.
func TestDeleteForceRemovesSubCgroups(t *testing.T) {
	forRunnersAndRunc(t, func(t *testing.T, e *env, _ bool) { testDeleteForceRemovesSubCgroups(t, e) })
}

func testDeleteForceRemovesSubCgroups(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "sleep 1000 & wait"}, nil)
	e.must("run", "-d", "--bundle", b, "subcg")
	pid := e.state("subcg").Pid
	waitForChild(t, pid)
	child, err := os.ReadFile("/proc/" + itoa(pid) + "/task/" + itoa(pid) + "/children")
	if err != nil {
		t.Fatal(err)
	}
	sleeper := strings.Fields(string(child))[0]
	raw, err := os.ReadFile("/proc/" + itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, l := range lines(string(raw)) {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 || f[2] == "/" || strings.HasPrefix(f[1], "name=") {
			continue
		}
		ctrl := strings.Split(f[1], ",")[0]
		if f[1] == "" {
			ctrl = "unified"
			if _, err := os.Stat("/sys/fs/cgroup/unified"); err != nil {
				ctrl = ""
			}
		}
		dir := filepath.Join("/sys/fs/cgroup", ctrl, f[2])
		if _, err := os.Stat(dir); err != nil {
			continue // a comounted controller's other name
		}
		dirs = append(dirs, dir)
		sub := filepath.Join(dir, "sub")
		if err := os.MkdirAll(filepath.Join(sub, "deeper"), 0o755); err != nil {
			t.Fatal(err)
		}
		// v2 forbids processes in an inner node with controllers on; a v1
		// cpuset takes none before its cpus and mems are set.
		if f[1] != "" && ctrl != "cpuset" {
			if err := os.WriteFile(filepath.Join(sub, "cgroup.procs"), []byte(sleeper), 0); err != nil {
				t.Fatalf("moving the sleep into %s: %v", sub, err)
			}
		}
	}
	if len(dirs) == 0 {
		t.Skip("the container is in no cgroup of its own")
	}
	e.must("delete", "--force", "subcg")
	reap(pid)
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			ents, _ := os.ReadDir(d)
			var names []string
			for _, x := range ents {
				if x.IsDir() {
					names = append(names, x.Name())
				}
			}
			t.Errorf("after delete --force, %s is still there (subdirectories %v)", d, names)
		}
	}
	if _, err := os.Stat("/proc/" + sleeper); err == nil {
		if b, _ := os.ReadFile("/proc/" + sleeper + "/cmdline"); strings.HasPrefix(string(b), "sleep") {
			t.Errorf("the sleep moved into a sub-cgroup (pid %s) survived delete --force", sleeper)
		}
	}
}

// exec --cgroup places the process in existing sub-cgroups of the
// container's, as runc's: one PATH for every hierarchy (v1 controllers
// and v2), CONTROLLER:PATH for some v1 controllers only; a missing
// sub-cgroup or one outside the container's is refused and nothing runs.
// The first case is compared with Debian's runc.
func TestExecSubCgroup(t *testing.T) { forRunnersAndRunc(t, testExecSubCgroup) }

func testExecSubCgroup(t *testing.T, e *env, all bool) {
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "subexec")
	pid := e.state("subexec").Pid
	defer e.deleteAndReap("subexec", pid)
	raw, err := os.ReadFile("/proc/" + itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(raw)) {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 || f[2] == "/" {
			continue
		}
		mnt := strings.TrimPrefix(strings.Split(f[1], ",")[0], "name=")
		if f[1] == "" {
			mnt = "unified"
		}
		dir := filepath.Join("/sys/fs/cgroup", mnt, f[2])
		if _, err := os.Stat(dir); err != nil {
			dir = filepath.Join("/sys/fs/cgroup", f[2]) // cgroup v2 only
		}
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if mnt == "cpuset" {
			for _, k := range []string{"cpuset.cpus", "cpuset.mems"} {
				os.WriteFile(filepath.Join(sub, k), []byte(readTrim(t, filepath.Join(dir, k))), 0)
			}
		}
	}
	in := func(out, ctrl string) bool { // the line of ctrl ends in /sub
		for _, l := range lines(out) {
			f := strings.SplitN(l, ":", 3)
			if len(f) == 3 && (f[1] == ctrl || contains(strings.Split(f[1], ","), ctrl)) {
				return strings.HasSuffix(f[2], "/sub")
			}
		}
		return false
	}
	out := e.must("exec", "--cgroup", "sub", "subexec", "cat", "/proc/self/cgroup")
	for _, l := range lines(out) {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 && !strings.HasSuffix(f[2], "/sub") {
			t.Errorf("exec --cgroup sub: %q is not in the sub-cgroup:\n%s", l, out)
		}
	}
	if !all {
		return
	}
	if strings.Contains(string(raw), ":pids:") {
		out = e.must("exec", "--cgroup", "pids:sub", "--cgroup", "memory,devices:sub", "subexec", "cat", "/proc/self/cgroup")
		if !in(out, "pids") || !in(out, "memory") || !in(out, "devices") || in(out, "freezer") {
			t.Errorf("exec --cgroup pids:sub --cgroup memory,devices:sub: only those three in sub, got:\n%s", out)
		}
	}
	marker := "/ran-" + e.runner
	for _, bad := range []struct{ arg, says string }{
		{"nosuch", "does not exist"},
		{"../../../escape", "below the container's cgroup"},
	} {
		r := e.run("exec", "--cgroup", bad.arg, "subexec", "touch", marker)
		if r.code == 0 || !strings.Contains(r.stderr, "--cgroup") || !strings.Contains(r.stderr, bad.says) {
			t.Errorf("exec --cgroup %s: %s, want it refused (%q)", bad.arg, r, bad.says)
		}
	}
	if r := e.run("exec", "subexec", "test", "-e", marker); r.code == 0 {
		t.Errorf("a refused exec ran its process")
	}
}

// update changes the cpu controller's values as runc 1.5's update does:
// CFS period, quota and burst, shares, cpu.idle, and the real-time period
// and runtime (once the parent cgroup has real-time time to give), each
// read back from the container's cgroup. The flags Debian's runc 1.1.5
// has (all but --cpu-burst and --cpu-idle) are checked on it too.
func TestUpdateCPU(t *testing.T) { forRunnersAndRunc(t, testUpdateCPU) }

func testUpdateCPU(t *testing.T, e *env, new bool) {
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "updcpu")
	pid := e.state("updcpu").Pid
	defer e.deleteAndReap("updcpu", pid)
	dir := cgroupDir(t, pid, "cpu")
	expect := func(file, want string) {
		t.Helper()
		if got := readTrim(t, filepath.Join(dir, file)); got != want {
			t.Errorf("%s = %s, want %s", file, got, want)
		}
	}
	e.must("update", "--cpu-period", "200000", "--cpu-quota", "100000", "--cpu-share", "512", "updcpu")
	expect("cpu.cfs_period_us", "200000")
	expect("cpu.cfs_quota_us", "100000")
	expect("cpu.shares", "512")
	if new {
		if _, err := os.Stat(filepath.Join(dir, "cpu.cfs_burst_us")); err == nil {
			e.must("update", "--cpu-burst", "50000", "updcpu")
			expect("cpu.cfs_burst_us", "50000")
		}
		if _, err := os.Stat(filepath.Join(dir, "cpu.idle")); err == nil {
			e.must("update", "--cpu-idle", "1", "updcpu")
			expect("cpu.idle", "1")
			e.must("update", "--cpu-idle", "0", "updcpu")
			expect("cpu.idle", "0")
		}
	}
	parent := filepath.Dir(dir)
	if _, err := os.Stat(filepath.Join(dir, "cpu.rt_runtime_us")); err != nil || parent == "/sys/fs/cgroup/cpu" {
		return
	}
	old := readTrim(t, filepath.Join(parent, "cpu.rt_runtime_us"))
	if err := os.WriteFile(filepath.Join(parent, "cpu.rt_runtime_us"), []byte("10000"), 0); err != nil {
		t.Skipf("cannot give %s real-time time: %v", parent, err)
	}
	defer os.WriteFile(filepath.Join(parent, "cpu.rt_runtime_us"), []byte(old), 0)
	e.must("update", "--cpu-rt-period", "900000", "--cpu-rt-runtime", "1000", "updcpu")
	expect("cpu.rt_period_us", "900000")
	expect("cpu.rt_runtime_us", "1000")
	e.must("update", "--cpu-rt-runtime", "0", "updcpu") // so that the parent's may go back
	expect("cpu.rt_runtime_us", "0")
}

// linux.resources.unified on a host whose controllers are on cgroup v1
// (hybrid here) is refused at create with the key named and nothing left:
// the v2 files it names would not limit anything. runc refuses it too.
func TestUnifiedResourcesRefusedOnV1(t *testing.T) { forRunners(t, testUnifiedResourcesRefusedOnV1) }

func testUnifiedResourcesRefusedOnV1(t *testing.T, e *env) {
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		t.Skip("the memory controller is on cgroup v2 here")
	}
	unified := func(s *specs.Spec) { s.Linux.Resources.Unified = map[string]string{"memory.high": "1073741824"} }
	before := mountinfo(t)
	r := e.sh("unifiedv1", "true", unified)
	if r.code == 0 || !strings.Contains(r.stderr, `linux.resources.unified["memory.high"]`) || !strings.Contains(r.stderr, "cgroup v2") {
		t.Errorf("unified resources on a v1 host: %s", r)
	}
	e.noLeftovers("unifiedv1", before)
	if rc := e.runc(t); rc != nil && e.runner == "" {
		if r := rc.sh("unifiedv1", "true", unified); r.code == 0 {
			t.Errorf("runc accepted unified resources on a v1 host: %s", r)
		}
	}
}

// update leaves the device rules as create set them, with no moment of
// denial for the container (runc 1.5 computes minimal transitions to
// rewrite the same rules; hako does not rewrite them): a reader of
// /dev/zero inside runs while updates come, devices sent again in -r (as
// containerd sends them, here "allow all") change nothing, and the rules
// read back the same.
func TestUpdateKeepsDeviceRules(t *testing.T) { forRunners(t, testUpdateKeepsDeviceRules) }

func testUpdateKeepsDeviceRules(t *testing.T, e *env) {
	b := e.bundle([]string{"sh", "-c", "while [ ! -e /dev/shm/stop ]; do head -c1 /dev/zero >/dev/null || echo DENIED >> /dev/shm/result; done; echo done >> /dev/shm/result; sleep 1000"}, nil)
	e.must("run", "-d", "--bundle", b, "upddev")
	pid := e.state("upddev").Pid
	defer e.deleteAndReap("upddev", pid)
	devs := filepath.Join(cgroupDir(t, pid, "devices"), "devices.list")
	before := readTrim(t, devs)
	res := filepath.Join(t.TempDir(), "res.json")
	os.WriteFile(res, []byte(`{"devices":[{"allow":true,"access":"rwm"}],"pids":{"limit":100}}`), 0o644)
	for i := 0; i < 20; i++ {
		e.must("update", "--memory", strconv.Itoa(64+i)+"m", "upddev")
		e.must("update", "-r", res, "upddev")
	}
	if after := readTrim(t, devs); after != before {
		t.Errorf("devices.list changed by update:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	e.must("exec", "upddev", "touch", "/dev/shm/stop")
	for i := 0; i < 200; i++ {
		if r := e.run("exec", "upddev", "cat", "/dev/shm/result"); r.code == 0 && strings.Contains(r.stdout, "done") {
			if strings.Contains(r.stdout, "DENIED") {
				t.Errorf("the container was denied /dev/zero during an update:\n%s", r.stdout)
			}
			return
		}
		pollPid(pid, 20)
	}
	t.Errorf("the reader inside never finished")
}
