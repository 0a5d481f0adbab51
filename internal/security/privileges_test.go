package security

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/testutil"
)

func TestChangeUserAfterExec(t *testing.T) {
	requireHelper(t)
	umask := uint32(0o027)
	for _, tc := range []struct {
		name string
		plan helperPlan
		want map[string]string
	}{
		{
			name: "non-root with an ambient capability",
			plan: helperPlan{
				User: &specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}, Umask: &umask},
				Caps: &specs.LinuxCapabilities{
					Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
					Effective:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
					Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
					Inheritable: []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"},
					Ambient:     []string{"CAP_NET_BIND_SERVICE"},
				},
				NoNewPrivs: true,
			},
			// A non-root process keeps only its ambient capabilities
			// across execve of a file without file capabilities.
			want: map[string]string{
				"Uid": "1000 1000 1000 1000", "Gid": "1001 1001 1001 1001", "Groups": "10 20", "Umask": "0027",
				"CapBnd": capHex(capChown, capKill, capNetBindService, capNetRaw),
				"CapInh": capHex(capKill, capNetBindService, capNetRaw),
				"CapPrm": capHex(capNetBindService), "CapEff": capHex(capNetBindService), "CapAmb": capHex(capNetBindService),
				"NoNewPrivs": "1", "Seccomp": "0",
			},
		},
		{
			name: "root gets its bounding set back at exec",
			plan: helperPlan{
				User: &specs.User{},
				Caps: &specs.LinuxCapabilities{
					Bounding:  []string{"CAP_CHOWN", "CAP_KILL", "CAP_AUDIT_WRITE"},
					Effective: []string{"CAP_KILL"},
					Permitted: []string{"CAP_KILL"},
				},
			},
			// execve as uid 0: permitted = effective = bounding | inheritable.
			want: map[string]string{
				"Uid": "0 0 0 0", "Gid": "0 0 0 0", "Groups": "",
				"CapBnd": capHex(capChown, capKill, capAuditWrite),
				"CapPrm": capHex(capChown, capKill, capAuditWrite), "CapEff": capHex(capChown, capKill, capAuditWrite),
				"CapInh": capHex(), "CapAmb": capHex(), "NoNewPrivs": "0",
			},
		},
		{
			name: "nil capabilities drop everything",
			plan: helperPlan{User: &specs.User{UID: 0, GID: 0}},
			want: map[string]string{
				"Uid": "0 0 0 0", "CapBnd": capHex(), "CapPrm": capHex(), "CapEff": capHex(), "CapInh": capHex(), "CapAmb": capHex(),
			},
		},
		{
			name: "a capability above 31 uses the high word",
			plan: helperPlan{
				User: &specs.User{},
				// CAP_BPF is 39: the second 32-bit word of capset.
				Caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_BPF"}},
			},
			want: map[string]string{"CapBnd": capHex(39)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forRunners(t, func(t *testing.T, runner string) {
				tc.plan.Argv = statusArgv
				o := runPlan(t, tc.plan, runner)
				if o.Code != 0 {
					t.Fatalf("exited %d:\n%s", o.Code, o.Out)
				}
				got := parseStatus(o.Out)
				for k, want := range tc.want {
					if got[k] != want {
						t.Errorf("%s = %q, want %q", k, got[k], want)
					}
				}
			})
		})
	}
}

// An ambient capability that is not inheritable is not raised, and the
// process still starts (runc >= 1.1 warns and goes on).
func TestChangeUserDropsAmbientWithoutInheritable(t *testing.T) {
	requireHelper(t)
	forRunners(t, func(t *testing.T, runner string) {
		o := runPlan(t, helperPlan{
			User: &specs.User{UID: 1000, GID: 1000},
			Caps: &specs.LinuxCapabilities{Permitted: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"}},
			Argv: statusArgv,
		}, runner)
		if o.Code != 0 {
			t.Fatalf("exit %d, output:\n%s", o.Code, o.Out)
		}
		if got := parseStatus(o.Out); got["CapAmb"] != capHex() {
			t.Errorf("CapAmb %s, want no ambient capability", got["CapAmb"])
		}
	})
}

func TestSeccompMkdirDenied(t *testing.T) {
	requireHelper(t)
	for _, tc := range []struct {
		name string
		plan helperPlan
	}{
		{"root, loaded before the user's ops", helperPlan{Seccomp: testutil.MkdirSeccompProfile(), SeccompEarly: true, User: &specs.User{}, Caps: &specs.LinuxCapabilities{}}},
		{"non-root, loaded last with no_new_privs", helperPlan{Seccomp: testutil.MkdirSeccompProfile(), User: &specs.User{UID: 1000, GID: 1000}, NoNewPrivs: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forRunners(t, func(t *testing.T, runner string) {
				// A directory every uid may write in, so that only the
				// filter can make mkdir fail.
				dir, err := os.MkdirTemp("", "hako-seccomp-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(dir) })
				if err := os.Chmod(dir, 0o777); err != nil {
					t.Fatal(err)
				}

				control := tc.plan
				control.Seccomp = nil
				control.Argv = []string{testutil.BusyboxPath, "mkdir", filepath.Join(dir, "control")}
				if o := runPlan(t, control, runner); o.Code != 0 {
					t.Fatalf("control mkdir without the filter: exit %d: %s", o.Code, o.Out)
				}

				target := filepath.Join(dir, "made")
				plan := tc.plan
				plan.Argv = []string{testutil.BusyboxPath, "mkdir", target}
				o := runPlan(t, plan, runner)
				if o.Code == 0 || o.Code == 3 || !strings.Contains(o.Out, "Operation not permitted") {
					t.Errorf("mkdir under seccomp: exit %d, output:\n%s", o.Code, o.Out)
				}
				if _, err := os.Stat(target); err == nil {
					t.Errorf("%s was created despite the filter", target)
				}
				plan.Argv = statusArgv
				o = runPlan(t, plan, runner)
				if o.Code != 0 || parseStatus(o.Out)["Seccomp"] != "2" {
					t.Errorf("status: exit %d, output:\n%s", o.Code, o.Out)
				}
			})
		})
	}
}

// The thread that runs the ops holds the per-thread settings (the
// filter, no_new_privs, the bounding set); in the Go runner, a
// multi-threaded process, its other threads do not, unless the filter
// asks for SECCOMP_FILTER_FLAG_TSYNC. The raw child has one thread.
func TestPerThreadSettingsStayOnTheCallingThread(t *testing.T) {
	requireHelper(t)
	forRunners(t, func(t *testing.T, runner string) {
		plan := helperPlan{
			Seccomp: testutil.MkdirSeccompProfile(), SeccompEarly: true, NoNewPrivs: true,
			User: &specs.User{}, Caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}},
			Argv: []string{"threads"},
		}
		o := runPlan(t, plan, runner)
		if o.Code != 0 {
			t.Fatalf("exit %d:\n%s", o.Code, o.Out)
		}
		self, ok := o.Threads[o.Tid]
		if !ok {
			t.Fatalf("the thread %d that ran the ops is not among the runner's %v", o.Tid, o.Threads)
		}
		if self["Seccomp"] != "2" || self["NoNewPrivs"] != "1" || self["CapBnd"] != capHex(capChown) {
			t.Errorf("the thread that ran the ops: seccomp %s, no_new_privs %s, bounding %s; want 2, 1, %s",
				self["Seccomp"], self["NoNewPrivs"], self["CapBnd"], capHex(capChown))
		}
		if runner == "raw" {
			if len(o.Threads) != 1 {
				t.Errorf("the raw child has %d threads, want 1", len(o.Threads))
			}
		} else if len(o.Threads) < 2 {
			t.Fatalf("want the Go runtime's several threads, got %v", o.Threads)
		}
		for tid, st := range o.Threads {
			if tid != o.Tid && (st["Seccomp"] != "0" || st["NoNewPrivs"] != "0" || st["CapBnd"] == capHex(capChown)) {
				t.Errorf("another thread %d: seccomp %s, no_new_privs %s, bounding %s; want no filter, no no_new_privs, its own bounding set",
					tid, st["Seccomp"], st["NoNewPrivs"], st["CapBnd"])
			}
		}

		// SECCOMP_FILTER_FLAG_TSYNC asks for every thread.
		plan.Seccomp.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"}
		plan.NoNewPrivs = false
		o = runPlan(t, plan, runner)
		if o.Code != 0 {
			t.Fatalf("TSYNC: exit %d:\n%s", o.Code, o.Out)
		}
		for tid, st := range o.Threads {
			if st["Seccomp"] != "2" {
				t.Errorf("TSYNC: thread %d has no filter (seccomp %s)", tid, st["Seccomp"])
			}
		}
	})
}

func TestSeccompWithoutPrivilegeExplainsOrder(t *testing.T) {
	requireHelper(t)
	forRunners(t, func(t *testing.T, runner string) {
		// Non-root, no capabilities, no no_new_privs: the kernel refuses.
		o := runPlan(t, helperPlan{Seccomp: testutil.MkdirSeccompProfile(), User: &specs.User{UID: 1000, GID: 1000}, Argv: statusArgv}, runner)
		if o.Code != 3 || !strings.Contains(o.Out, "no_new_privs") || !strings.Contains(o.Out, "permission denied") {
			t.Errorf("exit %d, output:\n%s", o.Code, o.Out)
		}
	})
}

func TestRlimitsAfterExec(t *testing.T) {
	requireHelper(t)
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	hard := min(nofile.Max, 4096)
	soft := hard / 2
	forRunners(t, func(t *testing.T, runner string) {
		o := runPlan(t, helperPlan{
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: soft, Hard: hard}, {Type: "RLIMIT_CORE", Soft: 0, Hard: 0}},
			Argv:    []string{testutil.BusyboxPath, "cat", "/proc/self/limits"},
		}, runner)
		if o.Code != 0 {
			t.Fatalf("exit %d:\n%s", o.Code, o.Out)
		}
		want := map[string][]string{
			"Max open files":     {strconv.FormatUint(soft, 10), strconv.FormatUint(hard, 10)},
			"Max core file size": {"0", "0"},
		}
		for _, line := range strings.Split(o.Out, "\n") {
			for name, w := range want {
				if strings.HasPrefix(line, name) {
					f := strings.Fields(strings.TrimPrefix(line, name))
					if len(f) < 2 || f[0] != w[0] || f[1] != w[1] {
						t.Errorf("%s: got %q, want soft %s hard %s", name, line, w[0], w[1])
					}
					delete(want, name)
				}
			}
		}
		if len(want) != 0 {
			t.Errorf("missing lines %v in:\n%s", want, o.Out)
		}
	})
}

// A hard limit raised above the one an earlier entry set, without
// CAP_SYS_RESOURCE: the kernel refuses, and the error names the entry and
// the capability.
func TestRlimitRaiseHardWithoutCapSysResource(t *testing.T) {
	requireHelper(t)
	forRunners(t, func(t *testing.T, runner string) {
		o := runPlan(t, helperPlan{
			DropSysResource: true,
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Soft: 64, Hard: 128},
				{Type: "RLIMIT_NOFILE", Soft: 64, Hard: 256},
			},
			Argv: statusArgv,
		}, runner)
		if o.Code != 3 || !strings.Contains(o.Out, "process.rlimits[1]") || !strings.Contains(o.Out, "operation not permitted") {
			t.Errorf("exit %d, output:\n%s", o.Code, o.Out)
		}
		if !strings.Contains(o.Out, "CAP_SYS_RESOURCE") {
			t.Errorf("the refusal of raising an earlier entry's hard limit does not name CAP_SYS_RESOURCE: %s", o.Out)
		}
	})
}

// The same refusal, found in the parent: a hard limit above the runtime's
// own, without CAP_SYS_RESOURCE.
func TestRlimitRaiseHardRefusedInParent(t *testing.T) {
	requireHelper(t)
	if hasCap(unix.CAP_SYS_RESOURCE) {
		t.Skip("hako has CAP_SYS_RESOURCE here")
	}
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	if nofile.Max == unix.RLIM_INFINITY {
		t.Skip("no hard limit to raise")
	}
	forRunners(t, func(t *testing.T, runner string) {
		o := runPlan(t, helperPlan{
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Soft: 0, Hard: 0}, {Type: "RLIMIT_NOFILE", Soft: 64, Hard: nofile.Max + 1}},
			Argv:    statusArgv,
		}, runner)
		if o.Code != 3 || !strings.Contains(o.Out, "process.rlimits[1]") || !strings.Contains(o.Out, "CAP_SYS_RESOURCE") ||
			!strings.Contains(o.Out, "operation not permitted") {
			t.Errorf("exit %d, output:\n%s", o.Code, o.Out)
		}
	})
}
