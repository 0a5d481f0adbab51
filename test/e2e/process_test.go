package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/spec"
)

// hostname, domainname, env and cwd come from config.json.
func TestProcessIdentityFromConfig(t *testing.T) { forRunners(t, testProcessIdentityFromConfig) }

func testProcessIdentityFromConfig(t *testing.T, e *env) {
	out := e.mustSh("ident", `hostname; cat /proc/sys/kernel/domainname; pwd; echo "FOO=$FOO"; echo "SPACED=$SPACED"; env | grep -c '^HAKO_'`,
		func(s *specs.Spec) {
			s.Hostname = "inbox"
			s.Domainname = "example.test"
			s.Process.Env = append(s.Process.Env, "FOO=bar", "SPACED=a b  c", "HAKO_A=1", "HAKO_B=2")
			s.Process.Cwd = "/home"
		})
	want := []string{"inbox", "example.test", "/home", "FOO=bar", "SPACED=a b  c", "2"}
	if got := lines(out); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// process.user: uid, gid, additionalGids and umask as `id` and `umask` see them.
func TestProcessUser(t *testing.T) { forRunners(t, testProcessUser) }

func testProcessUser(t *testing.T, e *env) {
	umask := uint32(0o027)
	out := e.mustSh("user", "id -u; id -g; id -G; umask; touch /dev/shm/f; stat -c %a /dev/shm/f", func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20}, Umask: &umask}
	})
	l := lines(out)
	if len(l) != 5 {
		t.Fatalf("unexpected output %q", out)
	}
	if l[0] != "1000" || l[1] != "1001" {
		t.Errorf("uid/gid = %s/%s, want 1000/1001", l[0], l[1])
	}
	groups := strings.Fields(l[2])
	for _, g := range []string{"10", "20"} {
		if !contains(groups, g) {
			t.Errorf("groups %v lack additional gid %s", groups, g)
		}
	}
	for _, g := range groups {
		if g != "10" && g != "20" && g != "1001" {
			t.Errorf("unexpected supplementary group %s in %v (host groups leaked?)", g, groups)
		}
	}
	if l[3] != "0027" {
		t.Errorf("umask = %s, want 0027", l[3])
	}
	if l[4] != "640" {
		t.Errorf("a file created with umask 027 has mode %s, want 640", l[4])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// process.rlimits are applied; raising a hard limit past ours fails clearly
// (this machine's bounding set lacks CAP_SYS_RESOURCE).
func TestProcessRlimits(t *testing.T) { forRunners(t, testProcessRlimits) }

func testProcessRlimits(t *testing.T, e *env) {
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &cur); err != nil {
		t.Fatal(err)
	}
	hard := cur.Max
	if hard > 4096 {
		hard = 4096
	}
	out := e.mustSh("rlim", "ulimit -n; ulimit -Hn; ulimit -c", func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 321, Hard: hard},
			{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
		}
	})
	want := []string{"321", strconv.FormatUint(hard, 10), "0"}
	if got := lines(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ulimit -n, -Hn, -c = %q, want %q", got, want)
	}

	if cur.Max == unix.RLIM_INFINITY {
		t.Skip("our NOFILE hard limit is unlimited; cannot ask for more")
	}
	if capable(unix.CAP_SYS_RESOURCE) {
		t.Skip("CAP_SYS_RESOURCE is in our bounding set; raising the hard limit would succeed")
	}
	r := e.sh("rlim-raise", "true", func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: cur.Max + 1000, Hard: cur.Max + 1000}}
	})
	if r.code == 0 {
		t.Fatalf("raising NOFILE past the hard limit %d succeeded", cur.Max)
	}
	for _, w := range []string{"process.rlimits[0]", "RLIMIT_NOFILE", "CAP_SYS_RESOURCE"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("error does not mention %q: %s", w, r.stderr)
		}
	}
}

// capable reports whether cap is in this process's bounding set.
func capable(c int) bool {
	r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
	return err == nil && r == 1
}

// The default config's three capabilities are exactly the effective,
// permitted and bounding sets; inheritable and ambient are empty.
func TestProcessCapabilities(t *testing.T) { forRunners(t, testProcessCapabilities) }

func testProcessCapabilities(t *testing.T, e *env) {
	status := e.mustSh("caps", "cat /proc/self/status", nil)
	var want uint64
	for _, c := range spec.DefaultCaps {
		n, ok := capNumbers[c]
		if !ok {
			t.Fatalf("unknown default capability %s", c)
		}
		want |= 1 << n
	}
	for field, w := range map[string]uint64{"CapEff": want, "CapPrm": want, "CapBnd": want, "CapInh": 0, "CapAmb": 0} {
		got, err := strconv.ParseUint(statusField(status, field), 16, 64)
		if err != nil {
			t.Fatalf("%s: %v in\n%s", field, err, status)
		}
		if got != w {
			t.Errorf("%s = %#x, want %#x", field, got, w)
		}
	}
	// Only CAP_KILL among them: the bounding set shrinks with the config.
	status = e.mustSh("caps-kill", "cat /proc/self/status", func(s *specs.Spec) {
		k := []string{"CAP_KILL"}
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: k, Effective: k, Permitted: k}
	})
	if got := statusField(status, "CapBnd"); got != "0000000000000020" {
		t.Errorf("CapBnd with only CAP_KILL = %s", got)
	}
}

var capNumbers = map[string]uint{"CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_AUDIT_WRITE": 29}

// process.noNewPrivileges sets the no_new_privs bit, and only when asked.
func TestProcessNoNewPrivileges(t *testing.T) { forRunners(t, testProcessNoNewPrivileges) }

func testProcessNoNewPrivileges(t *testing.T, e *env) {
	for _, nnp := range []bool{true, false} {
		status := e.mustSh("nnp", "cat /proc/self/status", func(s *specs.Spec) { s.Process.NoNewPrivileges = nnp })
		want := "0"
		if nnp {
			want = "1"
		}
		if got := statusField(status, "NoNewPrivs"); got != want {
			t.Errorf("noNewPrivileges %v: NoNewPrivs = %q, want %s", nnp, got, want)
		}
	}
}

// A seccomp profile that denies mkdir(at) with ENOSPC: mkdir fails with that
// errno, other calls still work, and without the profile mkdir works.
func TestSeccompDeniesMkdir(t *testing.T) { forRunners(t, testSeccompDeniesMkdir) }

func testSeccompDeniesMkdir(t *testing.T, e *env) {
	errno := uint(unix.ENOSPC)
	profile := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64},
		Syscalls: []specs.LinuxSyscall{{
			Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errno,
		}},
	}
	script := "touch /dev/shm/file && echo touched; mkdir /dev/shm/dir 2>&1 && echo made; true"
	for _, nnp := range []bool{true, false} {
		out := e.mustSh("seccomp", script, func(s *specs.Spec) {
			s.Linux.Seccomp = profile
			s.Process.NoNewPrivileges = nnp
		})
		if !strings.Contains(out, "touched") {
			t.Errorf("nnp=%v: the filter blocked more than mkdir: %q", nnp, out)
		}
		if strings.Contains(out, "made") || !strings.Contains(out, "No space left on device") {
			t.Errorf("nnp=%v: mkdir was not denied with ENOSPC: %q", nnp, out)
		}
	}
	if out := e.mustSh("no-seccomp", script, nil); !strings.Contains(out, "made") {
		t.Errorf("without a profile mkdir failed: %q", out)
	}
}

// The environment as runc makes it: each name once with its last value,
// values with newlines kept, and HOME, when unset or empty, from the
// container's /etc/passwd for process.user.uid ("/" for a uid it lacks),
// for the container's process and for `exec -u`. HOME is compared with
// Debian's runc (1.1.5 already sets it so; it does not deduplicate).
func TestProcessEnvLikeRunc(t *testing.T) { forRunners(t, testProcessEnvLikeRunc) }

func testProcessEnvLikeRunc(t *testing.T, e *env) {
	passwd := "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:a user:/home/user:/bin/sh\n"
	mod := func(uid uint32, env ...string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Process.User = specs.User{UID: uid, GID: uid}
			s.Process.Env = append([]string{"PATH=/bin:/usr/bin"}, env...)
		}
	}
	run := func(e *env, id string, uid uint32, env ...string) string {
		t.Helper()
		b := e.bundle([]string{"sh", "-c", `echo "HOME=$HOME"; env | grep -c '^A='; echo "A=$A"; echo "M=$M"`}, mod(uid, env...))
		openRootfs(t, b)
		os.MkdirAll(filepath.Join(b, "rootfs", "etc"), 0o755)
		if err := os.WriteFile(filepath.Join(b, "rootfs", "etc", "passwd"), []byte(passwd), 0o644); err != nil {
			t.Fatal(err)
		}
		return e.must("run", "--bundle", b, id)
	}
	got := run(e, "env1000", 1000, "A=1", "M=two\nlines", "A=3", "HOME=")
	want := "HOME=/home/user\n1\nA=3\nM=two\nlines\n"
	if got != want {
		t.Errorf("uid 1000: %q, want %q", got, want)
	}
	if got := lines(run(e, "env2000", 2000))[0]; got != "HOME=/" {
		t.Errorf("a uid without a passwd entry: %q, want HOME=/", got)
	}
	if got := lines(run(e, "envhome", 1000, "HOME=/mine"))[0]; got != "HOME=/mine" {
		t.Errorf("a HOME of the config's: %q, want it kept", got)
	}
	// exec -u takes the user's home too.
	b := e.bundle([]string{"sleep", "1000"}, mod(0))
	openRootfs(t, b)
	os.MkdirAll(filepath.Join(b, "rootfs", "etc"), 0o755)
	os.WriteFile(filepath.Join(b, "rootfs", "etc", "passwd"), []byte(passwd), 0o644)
	e.must("run", "-d", "--bundle", b, "envexec")
	pid := e.state("envexec").Pid
	defer e.deleteAndReap("envexec", pid)
	if got := strings.TrimSpace(e.must("exec", "-u", "1000", "--env", "B=1", "--env", "B=2", "envexec", "sh", "-c", `echo "$HOME $B"; env | grep -c ^B=`)); got != "/home/user 2\n1" {
		t.Errorf("exec -u 1000: %q, want HOME /home/user and B=2 once", got)
	}
	if r := e.runc(t); r != nil {
		for _, c := range []struct {
			uid  uint32
			want string
		}{{1000, "HOME=/home/user"}, {2000, "HOME=/"}} {
			if got := lines(run(r, "runc-env", c.uid))[0]; got != c.want {
				t.Errorf("runc gives %q for uid %d, hako's test expects %q", got, c.uid, c.want)
			}
		}
	}
}

// Process start-up as runc does it, each case run under hako and Debian's
// runc alike: an ambient capability missing from the inheritable set is a
// warning, not an error (the process runs without it); root with
// CAP_DAC_OVERRIDE runs a program whose only x bit is another user's (the
// kernel allows it, so nothing refuses it first), and without the
// capability the kernel's EACCES is what fails; the cwd is entered before
// privileges drop, so a user may start in a directory only root may enter.
func TestProcessStartLikeRunc(t *testing.T) { forRunners(t, testProcessStartLikeRunc) }

func testProcessStartLikeRunc(t *testing.T, e *env) {
	type tc struct {
		name  string
		mod   func(*specs.Spec)
		args  []string
		code  int    // the exit code wanted
		out   string // stdout wanted (when code is 0)
		inErr string // stderr must say this
	}
	addCap := func(s *specs.Spec, c string) {
		caps := s.Process.Capabilities
		caps.Bounding, caps.Effective, caps.Permitted = append(caps.Bounding, c), append(caps.Effective, c), append(caps.Permitted, c)
	}
	cases := []tc{
		{"ambient not inheritable", func(s *specs.Spec) {
			s.Process.Capabilities.Ambient = []string{"CAP_KILL"}
			s.Process.Capabilities.Inheritable = nil
		}, []string{"sh", "-c", "grep CapAmb /proc/self/status | tr -d '\\t'"}, 0, "CapAmb:0000000000000000\n", ""},
		{"dac_override runs another user's program", func(s *specs.Spec) { addCap(s, "CAP_DAC_OVERRIDE") },
			[]string{"/x/echo", "ran"}, 0, "ran\n", ""},
		{"without dac_override the kernel refuses", nil, []string{"/x/echo", "ran"}, -1, "", "ermission denied"},
		{"cwd entered before privileges drop", func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000}
			s.Process.Cwd = "/private"
		}, []string{"sh", "-c", "pwd"}, 0, "/private\n", ""},
	}
	run := func(e *env, c tc) result {
		t.Helper()
		b := e.bundle(c.args, c.mod)
		rootfs := filepath.Join(b, "rootfs")
		os.Mkdir(filepath.Join(rootfs, "x"), 0o755)
		in, _ := os.ReadFile(filepath.Join(rootfs, "bin", "busybox"))
		os.WriteFile(filepath.Join(rootfs, "x", "echo"), in, 0o100)
		os.Chmod(filepath.Join(rootfs, "x", "echo"), 0o100) // only its owner's x bit
		os.Chown(filepath.Join(rootfs, "x", "echo"), 1234, 1234)
		os.Mkdir(filepath.Join(rootfs, "private"), 0o700)
		return e.run("run", "--bundle", b, "start")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := func(who string, r result) {
				t.Helper()
				if c.code == 0 && (r.code != 0 || r.stdout != c.out) {
					t.Errorf("%s: %s, want exit 0 and %q", who, r, c.out)
				}
				if c.code != 0 && r.code == 0 {
					t.Errorf("%s: %s, want a failure", who, r)
				}
				if c.inErr != "" && !strings.Contains(r.stderr, c.inErr) {
					t.Errorf("%s: stderr %q, want it to say %q", who, r.stderr, c.inErr)
				}
			}
			check("hako", run(e.on(t), c))
			if rc := e.runc(t); rc != nil && e.runner == "" {
				check("runc", run(rc, c))
			}
		})
	}
}
