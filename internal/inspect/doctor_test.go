package inspect

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

func findCheck(t *testing.T, r *Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check in %+v", name, r.Checks)
	return Check{}
}

// TestDoctorKernelMatchesUname compares the kernel line with `uname -r`.
func TestDoctorKernelMatchesUname(t *testing.T) {
	out, err := exec.Command("uname", "-r").Output()
	if err != nil {
		t.Skip("no uname:", err)
	}
	r := Doctor(ThisHost())
	k := findCheck(t, r, "kernel")
	if want := "Linux " + strings.TrimSpace(string(out)); k.What != want {
		t.Errorf("kernel check says %q, uname -r says %q", k.What, want)
	}
}

// TestDoctorCgroupModeMatchesMounts derives the cgroup mode from the mount
// table with moby/sys/mountinfo, independently of ReadCgroupInfo.
func TestDoctorCgroupModeMatchesMounts(t *testing.T) {
	v1, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup2"))
	if err != nil {
		t.Fatal(err)
	}
	// A v1 hierarchy counts when it carries a controller the kernel lists
	// in /proc/cgroups (name=systemd alone does not).
	known := map[string]bool{}
	data, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		t.Skip("no /proc/cgroups:", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			known[f[0]] = true
		}
	}
	controllers := 0
	for _, m := range v1 {
		for _, o := range strings.Split(m.VFSOptions, ",") {
			if known[o] {
				controllers++
			}
		}
	}
	want := "none"
	switch {
	case controllers > 0 && len(v2) > 0:
		want = "hybrid"
	case controllers > 0:
		want = "v1"
	case len(v2) > 0:
		want = "v2"
	}
	ci, err := ReadCgroupInfo("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	if string(ci.Mode) != want {
		t.Errorf("ReadCgroupInfo says %q, the mount table says %q", ci.Mode, want)
	}
	c := findCheck(t, Doctor(ThisHost()), "cgroup")
	prefix := map[string]string{"hybrid": "hybrid:", "v1": "v1 (legacy)", "v2": "v2 (unified)", "none": "no cgroup"}[want]
	if !strings.HasPrefix(c.What, prefix) {
		t.Errorf("cgroup line %q, want it to start with %q", c.What, prefix)
	}
}

// fakeProc builds a /proc-like tree for the checks that read files.
func fakeProc(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func allNamespaces() map[string]string {
	m := map[string]string{}
	for _, ns := range nsFiles {
		m["self/ns/"+ns.file] = ""
	}
	return m
}

func fakeHost(t *testing.T, euid int, files map[string]string) Host {
	base := map[string]string{
		"sys/kernel/osrelease": "6.1.0-18-amd64\n",
		"filesystems":          "nodev\tproc\nnodev\toverlay\n",
		"self/status":          "Name:\tx\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\nSeccomp:\t0\n",
		"self/mounts":          "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n",
	}
	for k, v := range allNamespaces() {
		base[k] = v
	}
	for k, v := range files {
		base[k] = v
	}
	for k, v := range base {
		if v == "\x00delete" {
			delete(base, k)
		}
	}
	return Host{Proc: fakeProc(t, base), Sys: t.TempDir(), Euid: euid,
		LookPath: func(string) (string, error) { return "", exec.ErrNotFound }}
}

func TestDoctorFailsWithoutNamespaces(t *testing.T) {
	r := Doctor(fakeHost(t, 0, map[string]string{"self/ns/pid": "\x00delete"}))
	if r.CanRun || findCheck(t, r, "namespace pid").Status != Fail {
		t.Fatalf("no pid namespace must fail: %+v", r)
	}
	r = Doctor(fakeHost(t, 0, map[string]string{"self/ns/time": "\x00delete"}))
	if !r.CanRun || findCheck(t, r, "namespace time").Status != Warn {
		t.Fatalf("no time namespace is only a warning: %+v", r)
	}
}

func TestDoctorRootlessNeedsUserNamespaces(t *testing.T) {
	r := Doctor(fakeHost(t, 1000, map[string]string{"sys/user/max_user_namespaces": "0\n"}))
	if r.CanRun || findCheck(t, r, "user namespaces").Status != Fail {
		t.Fatalf("not root and no user namespaces must fail: %+v", findCheck(t, r, "user namespaces"))
	}
	r = Doctor(fakeHost(t, 1000, map[string]string{"sys/kernel/unprivileged_userns_clone": "0\n"}))
	if c := findCheck(t, r, "user namespaces"); r.CanRun || !strings.Contains(c.What, "unprivileged_userns_clone") {
		t.Fatalf("unprivileged_userns_clone=0 must fail for a user: %+v", c)
	}
	r = Doctor(fakeHost(t, 0, map[string]string{"sys/user/max_user_namespaces": "0\n"}))
	if !r.CanRun || findCheck(t, r, "user namespaces").Status != Warn {
		t.Fatalf("root without user namespaces can still run containers: %+v", r)
	}
	if findCheck(t, r, "newuidmap/newgidmap").Status != OK {
		t.Error("newuidmap is optional for root")
	}
	r = Doctor(fakeHost(t, 1000, nil))
	if findCheck(t, r, "newuidmap/newgidmap").Status != Warn || findCheck(t, r, "user").Status != Warn {
		t.Error("a user without newuidmap gets a warning")
	}
}

func TestDoctorRootWithoutSysAdmin(t *testing.T) {
	r := Doctor(fakeHost(t, 0, map[string]string{"self/status": "CapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\nSeccomp:\t0\n"}))
	if r.CanRun || findCheck(t, r, "capabilities").Status != Fail {
		t.Fatalf("root without CAP_SYS_ADMIN must fail: %+v", findCheck(t, r, "capabilities"))
	}
	r = Doctor(fakeHost(t, 0, map[string]string{"self/status": "CapEff:\t000001fffeffffff\nCapBnd:\t000001fffeffffff\nSeccomp:\t2\n"}))
	if c := findCheck(t, r, "capabilities"); c.Status != Warn || !strings.Contains(c.What, "CAP_SYS_RESOURCE") {
		t.Errorf("missing CAP_SYS_RESOURCE: %+v", c)
	}
	if c := findCheck(t, r, "seccomp"); c.Status != Warn {
		t.Errorf("running under a filter: %+v", c)
	}
}

func TestCgroupModes(t *testing.T) {
	cases := []struct {
		mounts string
		mode   CgroupMode
		status Status
	}{
		{"cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", CgroupUnified, OK},
		{"cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup /sys/fs/cgroup/systemd cgroup rw,name=systemd 0 0\n", CgroupV1, OK},
		{"cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n", CgroupHybrid, OK},
		{"proc /proc proc rw 0 0\n", CgroupNone, Fail},
	}
	for _, c := range cases {
		p := fakeProc(t, map[string]string{"mounts": c.mounts})
		ci, err := ReadCgroupInfo(filepath.Join(p, "mounts"))
		if err != nil {
			t.Fatal(err)
		}
		if ci.Mode != c.mode {
			t.Errorf("%q: mode %q, want %q", c.mounts, ci.Mode, c.mode)
		}
		r := Doctor(fakeHost(t, 0, map[string]string{"self/mounts": c.mounts}))
		if got := findCheck(t, r, "cgroup").Status; got != c.status {
			t.Errorf("%q: cgroup check %q, want %q", c.mounts, got, c.status)
		}
	}
	// v1 without hugetlb: the crun warning.
	r := Doctor(fakeHost(t, 0, map[string]string{"self/mounts": "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"}))
	if c := findCheck(t, r, "cgroup hugetlb"); c.Status != Warn || !strings.Contains(c.Hint, "crun") {
		t.Errorf("hugetlb: %+v", c)
	}
}

func TestParseKernelVersion(t *testing.T) {
	for rel, want := range map[string][2]int{"6.18.44-fc-v595": {6, 18}, "5.10.0-28-amd64": {5, 10}, "4.19+": {4, 19}, "3.10.0-1160.el7.x86_64": {3, 10}} {
		ma, mi, ok := parseKernelVersion(rel)
		if !ok || ma != want[0] || mi != want[1] {
			t.Errorf("%s: %d.%d %v", rel, ma, mi, ok)
		}
	}
	if _, _, ok := parseKernelVersion("garbage"); ok {
		t.Error("garbage parsed")
	}
	r := Doctor(fakeHost(t, 0, map[string]string{"sys/kernel/osrelease": "2.6.32\n"}))
	if r.CanRun || findCheck(t, r, "kernel").Status != Fail {
		t.Error("Linux 2.6 must fail")
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/mnt/a\040b`); got != "/mnt/a b" {
		t.Errorf("got %q", got)
	}
	if got := unescapeMount(`/x\`); got != `/x\` {
		t.Errorf("got %q", got)
	}
}

func TestReportOutput(t *testing.T) {
	r := &Report{Checks: []Check{{Name: "kernel", Status: OK, What: "Linux 6.1"}, {Name: "LSM", Status: Warn, What: "none", Hint: "h"}}, CanRun: true}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "ok    kernel: Linux 6.1\nwarn  LSM: none — hint: h\na container can run here (1 warning)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
