package cgroup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gorunc "github.com/containerd/go-runc"
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }
func boolp(v bool) *bool   { return &v }

func TestNewRejectsBadValuesByField(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  specs.LinuxResources
		want string
	}{
		{"memory limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-5)}}, "linux.resources.memory.limit"},
		{"swap below limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100 << 20), Swap: i64(50 << 20)}}, "linux.resources.memory.swap"},
		{"reservation above limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100 << 20), Reservation: i64(200 << 20)}}, "linux.resources.memory.reservation"},
		{"swappiness", specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(101)}}, "linux.resources.memory.swappiness"},
		{"shares", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1)}}, "linux.resources.cpu.shares"},
		{"quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(500)}}, "linux.resources.cpu.quota"},
		{"period", specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(5_000_000)}}, "linux.resources.cpu.period"},
		{"cpus", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-a"}}, "linux.resources.cpu.cpus"},
		{"cpus reversed", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "3-1"}}, "linux.resources.cpu.cpus"},
		{"mems", specs.LinuxResources{CPU: &specs.LinuxCPU{Mems: "0,,1"}}, "linux.resources.cpu.mems"},
		{"idle", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(2)}}, "linux.resources.cpu.idle"},
		{"rt runtime", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(-2)}}, "linux.resources.cpu.realtimeRuntime"},
		{"blkio weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(5)}}, "linux.resources.blockIO.weight"},
		{"blkio device weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{Weight: u16(100)}, {Weight: u16(2000)}}}}, "linux.resources.blockIO.weightDevice[1].weight"},
		{"blkio throttle", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: -1}}}}}, "linux.resources.blockIO.throttleReadBpsDevice[0].major"},
		{"hugepage size", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "3MB", Limit: 1}}}, "linux.resources.hugepageLimits[0].pageSize"},
		{"net prio", specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: ""}}}}, "linux.resources.network.priorities[0].name"},
		{"device type", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "x"}}}, "linux.resources.devices[1].type"},
		{"device access", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Access: "rwx"}}}, "linux.resources.devices[0].access"},
		{"device major", specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: i64(-3)}}}, "linux.resources.devices[0].major"},
	} {
		_, err := New(Config{ID: "c1", Resources: &tc.res})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want it to name %s", tc.name, err, tc.want)
		}
	}
}

func TestNewRejectsBadIDsAndPaths(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{ID: ""}, "container id"},
		{Config{ID: "a/b"}, "container id"},
		{Config{ID: ".."}, "container id"},
		{Config{ID: "c1", Path: "system.slice:hako:c1"}, "--systemd-cgroup"},
		{Config{ID: "c1", Systemd: true, Path: "/hako/c1"}, "slice:prefix:name"},
		{Config{ID: "c1", Systemd: true, Path: "user:hako:c1"}, `must end in ".slice"`},
	} {
		_, err := New(tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error = %v, want it to contain %q", tc.c, err, tc.want)
		}
	}
}

func TestSystemdNotRunning(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs on this host")
	}
	_, err := New(Config{ID: "c1", Systemd: true, Path: "system.slice:hako:c1"})
	if err == nil || !strings.Contains(err.Error(), "systemd is not running") {
		t.Errorf("error = %v, want it to say systemd is not running", err)
	}
}

func TestUnifiedNeedsV2(t *testing.T) {
	res := &specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}}
	_, err := New(Config{ID: "c1", Resources: res})
	if Mode() == ModeV2 {
		if err != nil {
			t.Errorf("unified on a v2 host: %v", err)
		}
		res.Unified = map[string]string{"nodot": "1"}
		if _, err := New(Config{ID: "c1", Resources: res}); err == nil || !strings.Contains(err.Error(), `linux.resources.unified["nodot"]`) {
			t.Errorf("bad unified key: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), `linux.resources.unified["memory.high"]`) || !strings.Contains(err.Error(), Mode()) {
		t.Errorf("unified on a %s host: error = %v", Mode(), err)
	}
}

func TestDeviceRulesKeepDefaultsAfterDenyAll(t *testing.T) {
	// `runc spec`'s devices: deny everything.
	rules, err := deviceRules([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
		[]specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}, {Path: "/dev/fifo", Type: "p"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.CgroupString())
		if !r.Allow {
			got[len(got)-1] = "deny " + got[len(got)-1]
		}
	}
	if got[0] != "deny a *:* rwm" {
		t.Errorf("first rule = %q, want the config's deny-all first", got[0])
	}
	joined := strings.Join(got, "\n")
	for _, want := range []string{"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:229 rwm", "c *:* m", "b *:* m"} {
		if !strings.Contains(joined, want) {
			t.Errorf("rules lack %q:\n%s", want, joined)
		}
	}
	if len(got) != 2+len(defaultDevices) {
		t.Errorf("got %d rules, want %d (the fifo is no cgroup rule)", len(got), 2+len(defaultDevices))
	}
}

// go-runc is the parser containerd uses for `runc events --stats`: our JSON
// must fill its fields.
func TestStatsJSONMatchesRunc(t *testing.T) {
	in := cgroups.NewStats()
	in.CpuStats.CpuUsage.TotalUsage = 11
	in.CpuStats.CpuUsage.PercpuUsage = []uint64{5, 6}
	in.CpuStats.CpuUsage.UsageInKernelmode = 3
	in.CpuStats.ThrottlingData.ThrottledPeriods = 4
	in.MemoryStats.Usage = cgroups.MemoryData{Usage: 100, MaxUsage: 200, Limit: 300, Failcnt: 1}
	in.MemoryStats.SwapUsage.Usage = 7
	in.MemoryStats.Cache = 9
	in.MemoryStats.Stats["rss"] = 42
	in.PidsStats = cgroups.PidsStats{Current: 2, Limit: 20}
	in.BlkioStats.IoServiceBytesRecursive = []cgroups.BlkioStatEntry{{Major: 8, Minor: 0, Op: "Read", Value: 512}}
	in.HugetlbStats["2MB"] = cgroups.HugetlbStats{Usage: 1, MaxUsage: 2, Failcnt: 3}
	raw, err := json.Marshal(convertStats(in))
	if err != nil {
		t.Fatal(err)
	}
	var out gorunc.Stats
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.Cpu.Usage.Total != 11 || len(out.Cpu.Usage.Percpu) != 2 || out.Cpu.Usage.Kernel != 3 || out.Cpu.Throttling.ThrottledPeriods != 4 {
		t.Errorf("cpu: %+v", out.Cpu)
	}
	if out.Memory.Usage != (gorunc.MemoryEntry{Limit: 300, Usage: 100, Max: 200, Failcnt: 1}) || out.Memory.Swap.Usage != 7 || out.Memory.Cache != 9 || out.Memory.Raw["rss"] != 42 {
		t.Errorf("memory: %+v", out.Memory)
	}
	if out.Pids.Current != 2 || out.Pids.Limit != 20 {
		t.Errorf("pids: %+v", out.Pids)
	}
	if len(out.Blkio.IoServiceBytesRecursive) != 1 || out.Blkio.IoServiceBytesRecursive[0] != (gorunc.BlkioEntry{Major: 8, Op: "Read", Value: 512}) {
		t.Errorf("blkio: %+v", out.Blkio)
	}
	if out.Hugetlb["2MB"] != (gorunc.Hugetlb{Usage: 1, Max: 2, Failcnt: 3}) {
		t.Errorf("hugetlb: %+v", out.Hugetlb)
	}
}

func TestStateRoundTripsThroughJSON(t *testing.T) {
	s := State{Mode: Mode(), Paths: map[string]string{"memory": "/sys/fs/cgroup/memory/hako/x"}, Created: []string{"/sys/fs/cgroup/memory/hako"}, Name: "x", Parent: "/hako"}
	raw, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back State
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Mode != s.Mode || back.Paths["memory"] != s.Paths["memory"] || len(back.Created) != 1 || back.Name != "x" {
		t.Errorf("round trip: %+v", back)
	}
	if _, err := FromState(State{Mode: "v9"}); err == nil || !strings.Contains(err.Error(), `"v9"`) {
		t.Errorf("mode mismatch: %v", err)
	}
	if _, err := FromState(State{Mode: Mode()}); err == nil || !strings.Contains(err.Error(), "no paths") {
		t.Errorf("no paths: %v", err)
	}
}

func TestMode(t *testing.T) {
	m := Mode()
	var st struct{ unified, hybrid bool }
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		st.unified = true
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil {
		st.hybrid = true
	}
	switch {
	case st.unified && m != ModeV2, !st.unified && st.hybrid && m != ModeHybrid, !st.unified && !st.hybrid && m != ModeV1:
		t.Errorf("Mode() = %q, but cgroup.controllers at the root: %v, at unified/: %v", m, st.unified, st.hybrid)
	}
}

// makeDirs reports exactly the directories it made, parents first, and
// never one that existed (Destroy removes what it reports).
func TestMakeDirsReportsWhatItMade(t *testing.T) {
	root := t.TempDir()
	existing := filepath.Join(root, "hako")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{
		"memory": filepath.Join(existing, "c1"),
		"pids":   filepath.Join(root, "new", "deeper", "c1"),
		"":       "",
	}
	got := makeDirs(paths)
	want := []string{filepath.Join(root, "new"), filepath.Join(existing, "c1"), filepath.Join(root, "new", "deeper"), filepath.Join(root, "new", "deeper", "c1")}
	slices.Sort(want)
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		t.Fatalf("makeDirs made %v, want %v", got, want)
	}
	for i, d := range got {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			t.Errorf("%s was not made: %v", d, err)
		}
		for _, later := range got[i+1:] {
			if strings.HasPrefix(d, later+"/") {
				t.Errorf("%s listed before its parent %s", d, later)
			}
		}
	}
	if again := makeDirs(paths); len(again) != 0 {
		t.Errorf("a second makeDirs made %v, want nothing (all existed)", again)
	}
}
