package e2e

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"
)

// The process attributes of runtime-spec 1.1–1.3 (linux.personality,
// linux.memoryPolicy, process.scheduler, process.ioPriority,
// linux.timeOffsets), read back by the container's process and by a
// process `hako exec` starts in it.

// inBoth runs script in a container of its own (config changed by mod),
// then in a process exec'd into a running one of the same config, and
// returns both outputs.
func (e *env) inBoth(id, script string, mod func(*specs.Spec)) (run, exec string) {
	e.t.Helper()
	run = e.mustSh(id+"-run", script, mod)
	b := e.bundle([]string{"sleep", "1000"}, mod)
	openRootfs(e.t, b)
	e.must("run", "-d", "--bundle", b, id)
	defer e.deleteAndReap(id, e.state(id).Pid)
	exec = e.must("exec", id, "sh", "-c", script)
	return run, exec
}

// statFields returns the fields of a /proc/PID/stat line after the
// command's name (field 3 of proc(5) first).
func statFields(t *testing.T, line string) []string {
	t.Helper()
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		t.Fatalf("not a /proc/PID/stat line: %q", line)
	}
	return strings.Fields(line[i+1:])
}

// statField is field n (1-based, as in proc(5)) of a /proc/PID/stat line.
func statField(t *testing.T, line string, n int) string {
	t.Helper()
	f := statFields(t, line)
	if n-3 >= len(f) {
		t.Fatalf("/proc/PID/stat line has no field %d: %q", n, line)
	}
	return f[n-3]
}

// linux.personality LINUX32: uname(2) reports the 32-bit machine.
func TestPersonality(t *testing.T) { forRunners(t, testPersonality) }

func testPersonality(t *testing.T, e *env) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"x86_64": "i686", "aarch64": "armv8l"}[unix.ByteSliceToString(u.Machine[:])]
	if want == "" {
		t.Skipf("no known 32-bit machine name for %s", u.Machine[:])
	}
	run, exec := e.inBoth("per", "uname -m", func(s *specs.Spec) {
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	})
	for what, got := range map[string]string{"container": run, "exec": exec} {
		if strings.TrimSpace(got) != want {
			t.Errorf("%s: uname -m = %q, want %q", what, strings.TrimSpace(got), want)
		}
	}
	// LINUX is the 64-bit domain: the host's machine.
	if got := strings.TrimSpace(e.mustSh("per64", "uname -m", func(s *specs.Spec) {
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
	})); got != unix.ByteSliceToString(u.Machine[:]) {
		t.Errorf("LINUX: uname -m = %q, want the host's %q", got, u.Machine[:])
	}
	r := e.sh("perflags", "true", func(s *specs.Spec) {
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
	})
	if r.code == 0 || !strings.Contains(r.stderr, "linux.personality.flags") {
		t.Errorf("personality flags, which hako does not apply, were not refused by name: %s", r)
	}
}

// linux.memoryPolicy: the process's policy, as numa_maps shows it for its
// mappings that have none of their own.
func TestMemoryPolicy(t *testing.T) { forRunners(t, testMemoryPolicy) }

func testMemoryPolicy(t *testing.T, e *env) {
	if _, err := os.Stat("/proc/self/numa_maps"); err != nil {
		t.Skip("no NUMA support in this kernel")
	}
	// The policy of the first mapping (the executable's text) of cat.
	script := "head -n1 /proc/self/numa_maps | cut -d' ' -f2"
	cases := []struct {
		policy *specs.LinuxMemoryPolicy
		want   string
	}{
		{&specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0"}, "bind:0"},
		{&specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}}, "interleave=static:0"},
		{&specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "0"}, "prefer:0"},
	}
	if got := strings.TrimSpace(e.mustSh("mpol-none", script, nil)); got != "default" {
		t.Fatalf("without linux.memoryPolicy numa_maps says %q; the test expects \"default\"", got)
	}
	for i, c := range cases {
		run, exec := e.inBoth("mpol"+strconv.Itoa(i), script, func(s *specs.Spec) { s.Linux.MemoryPolicy = c.policy })
		for what, got := range map[string]string{"container": run, "exec": exec} {
			if strings.TrimSpace(got) != c.want {
				t.Errorf("%s with %s %q %v: numa_maps policy %q, want %q", what, c.policy.Mode, c.policy.Nodes, c.policy.Flags, strings.TrimSpace(got), c.want)
			}
		}
	}
	r := e.sh("mpol-bad", "true", func(s *specs.Spec) {
		s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "1000"}
	})
	if r.code == 0 || !strings.Contains(r.stderr, "linux.memoryPolicy") {
		t.Errorf("a policy bound to a node that is not online was not refused by name: %s", r)
	}
}

// process.scheduler: policy, nice and real-time priority as the kernel
// reports them (proc(5) stat fields 19 nice, 40 rt_priority, 41 policy).
func TestScheduler(t *testing.T) { forRunners(t, testScheduler) }

func testScheduler(t *testing.T, e *env) {
	script := "cat /proc/self/stat"
	run, exec := e.inBoth("sched", script, func(s *specs.Spec) {
		s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}
	})
	for what, got := range map[string]string{"container": run, "exec": exec} {
		if n, p := statField(t, got, 19), statField(t, got, 41); n != "7" || p != strconv.Itoa(unix.SCHED_BATCH) {
			t.Errorf("%s: nice %s policy %s, want 7 and SCHED_BATCH (%d)", what, n, p, unix.SCHED_BATCH)
		}
	}
	// A real-time policy needs the cgroup's real-time time on cgroup v1
	// (RT group scheduling), which a cgroup can give only from its
	// parent's: the container's goes right under the root.
	// SCHED_FLAG_RESET_ON_FORK keeps the policy from the process's
	// children: the shell has it, the cat it forks has not.
	rt := func(s *specs.Spec) {
		s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedRR, Priority: 3, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}}
		if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"); err == nil {
			runtime, period := int64(10000), uint64(1000000)
			s.Linux.Resources.CPU = &specs.LinuxCPU{RealtimeRuntime: &runtime, RealtimePeriod: &period}
			s.Linux.CgroupsPath = "/hako-e2e-rt-" + e.runner + strconv.Itoa(os.Getpid())
		}
	}
	// (The first cat is forked; sh executes the last command itself.)
	run, exec = e.inBoth("schedrt", "cat /proc/self/stat; cat /proc/$$/stat", rt)
	for what, got := range map[string]string{"container": run, "exec": exec} {
		l := lines(got)
		if len(l) != 2 {
			t.Fatalf("%s: unexpected output %q", what, got)
		}
		l[0], l[1] = l[1], l[0]
		if p, prio := statField(t, l[0], 41), statField(t, l[0], 40); p != strconv.Itoa(unix.SCHED_RR) || prio != "3" {
			t.Errorf("%s: the shell has policy %s priority %s, want SCHED_RR (%d) 3", what, p, prio, unix.SCHED_RR)
		}
		if p := statField(t, l[1], 41); p != "0" {
			t.Errorf("%s: the shell's child has policy %s: SCHED_FLAG_RESET_ON_FORK did not reach the process", what, p)
		}
	}
}

// process.ioPriority: the I/O class and priority ionice(1) reads back.
func TestIOPriority(t *testing.T) { forRunners(t, testIOPriority) }

func testIOPriority(t *testing.T, e *env) {
	run, exec := e.inBoth("ioprio", "ionice -p $$", func(s *specs.Spec) {
		s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}
	})
	for what, got := range map[string]string{"container": run, "exec": exec} {
		if strings.TrimSpace(got) != "best-effort: prio 6" {
			t.Errorf("%s: ionice says %q, want best-effort priority 6", what, strings.TrimSpace(got))
		}
	}
	if got := strings.TrimSpace(e.mustSh("ioidle", "ionice -p $$", func(s *specs.Spec) {
		s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE}
	})); got != "idle" {
		t.Errorf("IOPRIO_CLASS_IDLE: ionice says %q", got)
	}
}

// linux.timeOffsets: the new time namespace's offsets, and the clocks
// they move (/proc/uptime counts boottime).
func TestTimeOffsets(t *testing.T) { forRunners(t, testTimeOffsets) }

func testTimeOffsets(t *testing.T, e *env) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("no time namespaces here")
	}
	const year, day = 365 * 24 * 3600, 24 * 3600
	run, exec := e.inBoth("timeoff", "cat /proc/self/timens_offsets /proc/uptime", func(s *specs.Spec) {
		setNS(s, specs.TimeNamespace, "")
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: year, Nanosecs: 5}, "monotonic": {Secs: day}}
	})
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		t.Fatal(err)
	}
	for what, got := range map[string]string{"container": run, "exec": exec} {
		offs := map[string]string{}
		var uptime float64
		for _, l := range lines(got) {
			f := strings.Fields(l)
			if len(f) == 3 {
				offs[f[0]] = f[1] + " " + f[2]
			} else if len(f) == 2 {
				uptime, _ = strconv.ParseFloat(f[0], 64)
			}
		}
		if offs["monotonic"] != strconv.Itoa(day)+" 0" || offs["boottime"] != strconv.Itoa(year)+" 5" {
			t.Errorf("%s: timens_offsets %v, want monotonic %d 0 and boottime %d 5", what, offs, day, year)
		}
		if uptime < year || uptime > year+float64(ts.Sec)+60 {
			t.Errorf("%s: uptime %.0f s, want a year (%d s) more than the host's %d s", what, uptime, year, ts.Sec)
		}
	}
	r := e.sh("timeoff-nons", "true", func(s *specs.Spec) {
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 1}}
	})
	if r.code == 0 || !strings.Contains(r.stderr, "linux.timeOffsets") {
		t.Errorf("offsets without a time namespace were not refused by name: %s", r)
	}
}

// linux.intelRdt is refused by name (hako manages no resctrl groups, and
// says when the host has no resctrl at all), and `hako features` says so
// next to the fields it applies.
func TestIntelRdtAndFeatures(t *testing.T) {
	e := newEnv(t)
	r := e.sh("rdt", "true", func(s *specs.Spec) {
		s.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "hako", L3CacheSchema: "L3:0=f"}
	})
	if r.code == 0 || !strings.Contains(r.stderr, "linux.intelRdt") {
		t.Errorf("linux.intelRdt was not refused by name: %s", r)
	}
	var f features.Features
	if err := json.Unmarshal([]byte(e.must("features")), &f); err != nil {
		t.Fatal(err)
	}
	l := f.Linux
	if l.IntelRdt == nil || l.IntelRdt.Enabled == nil || *l.IntelRdt.Enabled {
		t.Errorf("features: intelRdt %+v, want enabled false", l.IntelRdt)
	}
	if l.NetDevices == nil || l.NetDevices.Enabled == nil || !*l.NetDevices.Enabled {
		t.Errorf("features: netDevices %+v, want enabled", l.NetDevices)
	}
	if l.MountExtensions == nil || l.MountExtensions.IDMap == nil || l.MountExtensions.IDMap.Enabled == nil || !*l.MountExtensions.IDMap.Enabled {
		t.Errorf("features: mountExtensions.idmap %+v, want enabled on this kernel", l.MountExtensions)
	}
	if l.MemoryPolicy == nil || !slices.Contains(l.MemoryPolicy.Modes, "MPOL_BIND") || !slices.Contains(l.MemoryPolicy.Flags, "MPOL_F_STATIC_NODES") {
		t.Errorf("features: memoryPolicy %+v", l.MemoryPolicy)
	}
	for _, o := range []string{"idmap", "ridmap", "rro", "rnosuid", "rnodev", "rnoexec", "rnoatime", "tmpcopyup"} {
		if !slices.Contains(f.MountOptions, o) {
			t.Errorf("features: mountOptions lack %q", o)
		}
	}
	if !slices.Contains(l.Namespaces, "time") {
		t.Errorf("features: namespaces %v lack time", l.Namespaces)
	}
}

// The LSM fields, which hako does not apply: on this host, which has
// neither AppArmor nor SELinux, they are ignored with a warning naming the
// field (where the host has the module they are refused; see
// docs/security.md); exec --cgroup, not supported, is refused by name.
func TestLSMFields(t *testing.T) {
	e := newEnv(t)
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && strings.TrimSpace(string(b)) == "Y" {
		r := e.sh("aa", "true", func(s *specs.Spec) { s.Process.ApparmorProfile = "hako-test" })
		if r.code == 0 || !strings.Contains(r.stderr, "process.apparmorProfile") {
			t.Errorf("an AppArmor profile on an AppArmor host was not refused: %s", r)
		}
		return
	}
	r := e.sh("aa", "true", func(s *specs.Spec) { s.Process.ApparmorProfile = "hako-test" })
	if r.code != 0 || !strings.Contains(r.stderr, "process.apparmorProfile") || !strings.Contains(r.stderr, "ignored") {
		t.Errorf("an AppArmor profile on a host without AppArmor: %s, want success and a warning", r)
	}
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "lsm")
	pid := e.state("lsm").Pid
	defer e.deleteAndReap("lsm", pid)
	if r := e.run("exec", "--cgroup", "sub", "lsm", "true"); r.code == 0 || !strings.Contains(r.stderr, "--cgroup") {
		t.Errorf("exec --cgroup: %s, want it refused by name", r)
	}
}
