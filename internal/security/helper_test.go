package security

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/libseccomp"
	"github.com/hako-dev/hako/internal/testutil"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// helperEnv carries a helperPlan to the re-executed test binary.
const helperEnv = "HAKO_SECURITY_HELPER"

// helperPlan is what the helper process does, in this order, on one locked
// OS thread, before it execs Argv.
type helperPlan struct {
	Rlimits         []specs.POSIXRlimit
	DropSysResource bool // remove CAP_SYS_RESOURCE from the effective set first
	Seccomp         *specs.LinuxSeccomp
	SeccompEarly    bool // load before ChangeUser (else right before exec)
	User            *specs.User
	Caps            *specs.LinuxCapabilities
	NoNewPrivs      bool
	Argv            []string
}

// TestHelperProcess is not a test: it is the re-executed helper.
func TestHelperProcess(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		t.Skip("helper process only")
	}
	var p helperPlan
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		helperFail(err)
	}
	runtime.LockOSThread()
	if err := runPlan(p); err != nil {
		helperFail(err)
	}
	if p.Argv[0] == "threads" {
		reportThreads()
		os.Exit(0)
	}
	env := []string{"PATH=/bin:/usr/bin"}
	helperFail(unix.Exec(p.Argv[0], p.Argv, env))
}

// reportThreads prints one line per thread of the process:
// "self|other Seccomp NoNewPrivs CapBnd".
func reportThreads() {
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		helperFail(err)
	}
	self := strconv.Itoa(unix.Gettid())
	for _, d := range tids {
		raw, err := os.ReadFile("/proc/self/task/" + d.Name() + "/status")
		if err != nil {
			helperFail(err)
		}
		st := parseStatus(string(raw))
		who := "other"
		if d.Name() == self {
			who = "self"
		}
		fmt.Printf("%s %s %s %s\n", who, st["Seccomp"], st["NoNewPrivs"], st["CapBnd"])
	}
}

func helperFail(err error) {
	fmt.Printf("HELPER-ERROR: %v\n", err)
	os.Exit(3)
}

func runPlan(p helperPlan) error {
	if p.DropSysResource {
		cur, err := threadCaps(40)
		if err != nil {
			return err
		}
		if err := setCaps(cur.effective&^(1<<24), cur.permitted, cur.inheritable); err != nil {
			return err
		}
	}
	if err := ApplyRlimits(p.Rlimits); err != nil {
		return err
	}
	load, err := prepareSeccomp(p.Seccomp)
	if err != nil {
		return err
	}
	if p.SeccompEarly {
		if err := load(); err != nil {
			return err
		}
	}
	if p.User != nil {
		if err := ChangeUser(*p.User, p.Caps); err != nil {
			return err
		}
	}
	if p.NoNewPrivs {
		if err := SetNoNewPrivileges(); err != nil {
			return err
		}
	}
	if !p.SeccompEarly {
		if err := load(); err != nil {
			return err
		}
	}
	return nil
}

// runHelper runs p in a re-executed test binary and returns its output and
// exit code.
func runHelper(t *testing.T, p helperPlan) (string, int) {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(raw))
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

var statusArgv = []string{testutil.BusyboxPath, "grep", "-E", "^(Uid|Gid|Groups|Umask|Cap[A-Za-z]+|NoNewPrivs|Seccomp):", "/proc/self/status"}

// parseStatus reads "Key:\tvalue" lines.
func parseStatus(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}

func capHex(bits ...int) string {
	var m uint64
	for _, b := range bits {
		m |= 1 << b
	}
	return fmt.Sprintf("%016x", m)
}

// Capability numbers from <linux/capability.h>, independent of the code
// under test.
const (
	capChown          = 0
	capKill           = 5
	capNetBindService = 10
	capNetRaw         = 13
	capAuditWrite     = 29
)

func requireHelper(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.RequiresBusybox(t)
}

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
			tc.plan.Argv = statusArgv
			out, code := runHelper(t, tc.plan)
			if code != 0 {
				t.Fatalf("helper exited %d:\n%s", code, out)
			}
			got := parseStatus(out)
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
		})
	}
}

func TestChangeUserRefusesAmbientWithoutInheritable(t *testing.T) {
	requireHelper(t)
	out, code := runHelper(t, helperPlan{
		User: &specs.User{UID: 1000, GID: 1000},
		Caps: &specs.LinuxCapabilities{Permitted: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"}},
		Argv: statusArgv,
	})
	if code != 3 || !strings.Contains(out, "process.capabilities.ambient[0]") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestSeccompMkdirDenied(t *testing.T) {
	requireHelper(t)
	for _, tc := range []struct {
		name string
		plan helperPlan
	}{
		{"root, loaded before ChangeUser", helperPlan{Seccomp: testutil.MkdirSeccompProfile(), SeccompEarly: true, User: &specs.User{}, Caps: &specs.LinuxCapabilities{}}},
		{"non-root, loaded last with no_new_privs", helperPlan{Seccomp: testutil.MkdirSeccompProfile(), User: &specs.User{UID: 1000, GID: 1000}, NoNewPrivs: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
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
			if out, code := runHelper(t, control); code != 0 {
				t.Fatalf("control mkdir without the filter: exit %d: %s", code, out)
			}

			target := filepath.Join(dir, "made")
			tc.plan.Argv = []string{testutil.BusyboxPath, "mkdir", target}
			out, code := runHelper(t, tc.plan)
			if code == 0 || code == 3 || !strings.Contains(out, "Operation not permitted") {
				t.Errorf("mkdir under seccomp: exit %d, output:\n%s", code, out)
			}
			if _, err := os.Stat(target); err == nil {
				t.Errorf("%s was created despite the filter", target)
			}
			tc.plan.Argv = statusArgv
			out, code = runHelper(t, tc.plan)
			if code != 0 || parseStatus(out)["Seccomp"] != "2" {
				t.Errorf("status: exit %d, output:\n%s", code, out)
			}
		})
	}
}

func TestPerThreadSettingsStayOnTheCallingThread(t *testing.T) {
	requireHelper(t)
	plan := helperPlan{
		Seccomp: testutil.MkdirSeccompProfile(), SeccompEarly: true, NoNewPrivs: true,
		User: &specs.User{}, Caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}},
		Argv: []string{"threads"},
	}
	out, code := runHelper(t, plan)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("want the Go runtime's several threads, got:\n%s", out)
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 4 {
			t.Fatalf("bad line %q", l)
		}
		if f[0] == "self" && (f[1] != "2" || f[2] != "1" || f[3] != capHex(capChown)) {
			t.Errorf("calling thread: %q, want seccomp 2, no_new_privs 1, bounding %s", l, capHex(capChown))
		}
		if f[0] == "other" && (f[1] != "0" || f[2] != "0" || f[3] == capHex(capChown)) {
			t.Errorf("another thread: %q, want no filter, no no_new_privs, its own bounding set", l)
		}
	}

	// SECCOMP_FILTER_FLAG_TSYNC asks for every thread.
	plan.Seccomp.Flags = []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC"}
	plan.NoNewPrivs = false
	out, code = runHelper(t, plan)
	if code != 0 {
		t.Fatalf("TSYNC: exit %d:\n%s", code, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) != 4 || f[1] != "2" {
			t.Errorf("TSYNC: thread %q has no filter", l)
		}
	}
}

func TestSeccompWithoutPrivilegeExplainsOrder(t *testing.T) {
	requireHelper(t)
	// Non-root, no capabilities, no no_new_privs: the kernel refuses.
	out, code := runHelper(t, helperPlan{Seccomp: testutil.MkdirSeccompProfile(), User: &specs.User{UID: 1000, GID: 1000}, Argv: statusArgv})
	if code != 3 || !strings.Contains(out, "no_new_privs") || !strings.Contains(out, "permission denied") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

func TestRlimitsAfterExec(t *testing.T) {
	requireHelper(t)
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	hard := min(nofile.Max, 4096)
	soft := hard / 2
	out, code := runHelper(t, helperPlan{
		Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: soft, Hard: hard}, {Type: "RLIMIT_CORE", Soft: 0, Hard: 0}},
		Argv:    []string{testutil.BusyboxPath, "cat", "/proc/self/limits"},
	})
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	want := map[string][]string{
		"Max open files":     {strconv.FormatUint(soft, 10), strconv.FormatUint(hard, 10)},
		"Max core file size": {"0", "0"},
	}
	for _, line := range strings.Split(out, "\n") {
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
		t.Errorf("missing lines %v in:\n%s", want, out)
	}
}

func TestRlimitRaiseHardWithoutCapSysResource(t *testing.T) {
	requireHelper(t)
	out, code := runHelper(t, helperPlan{
		DropSysResource: true,
		Rlimits: []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 64, Hard: 128},
			{Type: "RLIMIT_NOFILE", Soft: 64, Hard: 256},
		},
		Argv: statusArgv,
	})
	if code != 3 || !strings.Contains(out, "process.rlimits[1]") || !strings.Contains(out, "CAP_SYS_RESOURCE") || !strings.Contains(out, "operation not permitted") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

// prepareSeccomp compiles s as hako's parent does (here with libseccomp
// linked into the test) and returns its loader.
func prepareSeccomp(s *specs.LinuxSeccomp) (func() error, error) {
	if s == nil {
		return SeccompLoader(nil, 0), nil
	}
	flags, err := seccomp.Flags(s.Flags)
	if err != nil {
		return nil, err
	}
	prog, err := libseccomp.Compile(s)
	if err != nil {
		return nil, err
	}
	return SeccompLoader(prog, flags), nil
}
