package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/testutil"
)

// enospcMkdir denies mkdir and mkdirat with ENOSPC.
func enospcMkdir() *specs.LinuxSeccomp {
	errno := uint(unix.ENOSPC)
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchAARCH64},
		Syscalls: []specs.LinuxSyscall{{
			Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errno,
		}},
	}
}

// The profile applies on both init paths (the setup program and the Go
// init), to the container's process and to an exec'd one (which takes the
// Go init), and the compiled program is cached in the state root.
func TestSeccompBothInitsAndExec(t *testing.T) { forRunners(t, testSeccompBothInitsAndExec) }

func testSeccompBothInitsAndExec(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) { s.Linux.Seccomp = enospcMkdir() })
	e.must("run", "-d", "--bundle", b, "sc")
	pid := e.state("sc").Pid
	defer e.deleteAndReap("sc", pid)
	status, err := os.ReadFile("/proc/" + itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if got := statusField(string(status), "Seccomp"); got != "2" {
		t.Errorf("the container's process has Seccomp %q, want 2 (filter)", got)
	}
	r := e.run("exec", "sc", "sh", "-c", "mkdir /dev/shm/x && echo made; touch /dev/shm/y && echo touched")
	if !strings.Contains(r.stdout+r.stderr, "No space left on device") || strings.Contains(r.stdout, "made") || !strings.Contains(r.stdout, "touched") {
		t.Errorf("exec'd process under the container's profile: %s", r)
	}
	ents, err := os.ReadDir(filepath.Join(e.root, seccomp.CacheName))
	if err != nil || len(ents) != 1 {
		t.Errorf("cache %s: %d entries, %v; want 1 (create and exec share it)", seccomp.CacheName, len(ents), err)
	}
	if out := e.must("list", "-q"); strings.TrimSpace(out) != "sc" {
		t.Errorf("list -q shows %q, want only sc (not the cache)", out)
	}
}

// A second container with the same profile does not run the helper.
func TestSeccompCacheSkipsTheHelper(t *testing.T) { forRunners(t, testSeccompCacheSkipsTheHelper) }

func testSeccompCacheSkipsTheHelper(t *testing.T, e *env) {
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	helper := filepath.Join(dir, "hako-seccomp")
	os.WriteFile(helper, []byte("#!/bin/sh\necho >>"+count+"\nexec "+testutil.SeccompHelper(t)+"\n"), 0o755)
	t.Setenv(seccomp.HelperEnv, helper)
	runs := func() int { b, _ := os.ReadFile(count); return strings.Count(string(b), "\n") }
	b := e.bundle([]string{"sh", "-c", "mkdir /dev/shm/d 2>&1; true"}, func(s *specs.Spec) { s.Linux.Seccomp = enospcMkdir() })
	for i, want := range []int{1, 1, 1} {
		out := e.must("run", "--bundle", b, "c")
		if !strings.Contains(out, "No space left on device") {
			t.Errorf("run %d: mkdir not denied: %q", i, out)
		}
		if runs() != want {
			t.Errorf("after run %d the helper ran %d times, want %d", i, runs(), want)
		}
	}
}

// Without the helper, a container with a profile is refused before
// anything exists, with the helper's name and what to do; one without a
// profile runs.
func TestSeccompHelperMissing(t *testing.T) { forRunners(t, testSeccompHelperMissing) }

func testSeccompHelperMissing(t *testing.T, e *env) {
	t.Setenv(seccomp.HelperEnv, filepath.Join(t.TempDir(), "gone"))
	mounts := mountinfo(t)
	b := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Linux.Seccomp = enospcMkdir() })
	r := e.run("run", "--bundle", b, "nohelper")
	if r.code == 0 || !strings.Contains(r.stderr, `container "nohelper": compiling the seccomp profile`) ||
		!strings.Contains(r.stderr, "hako-seccomp") || !strings.Contains(r.stderr, "hint:") {
		t.Errorf("without the helper: %s", r)
	}
	e.noLeftovers("nohelper", mounts)
	e.must("run", "--bundle", e.bundle([]string{"true"}, nil), "plain")
}

// A bad profile is refused with the field; an unknown system call name is
// a warning of `hako validate` and of create, whose rule is skipped.
func TestSeccompErrorsAndWarnings(t *testing.T) { forRunners(t, testSeccompErrorsAndWarnings) }

func testSeccompErrorsAndWarnings(t *testing.T, e *env) {
	b := e.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Linux.Seccomp = enospcMkdir()
		s.Linux.Seccomp.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_SOMETIMES"}}
	})
	r := e.run("run", "--bundle", b, "bad")
	if r.code == 0 || !strings.Contains(r.stderr, "linux.seccomp.syscalls[0].args[0].op") {
		t.Errorf("bad operator: %s", r)
	}
	b = e.bundle([]string{"sh", "-c", "mkdir /dev/shm/d 2>&1; true"}, func(s *specs.Spec) {
		s.Linux.Seccomp = enospcMkdir()
		s.Linux.Seccomp.Syscalls[0].Names = []string{"mkdir", "mkdri", "mkdirat"}
	})
	r = e.run("validate", "--bundle", b)
	if r.code != 0 || !strings.Contains(r.stdout, `linux.seccomp.syscalls[0].names[1]: libseccomp does not know the system call "mkdri"`) {
		t.Errorf("validate: %s", r)
	}
	// The log line quotes the message (the default text format).
	warned := func(r result) bool {
		return r.code == 0 && strings.Contains(r.stderr, "level=warning") && strings.Contains(r.stderr, "linux.seccomp.syscalls[0].names[1]: libseccomp does not know the system call") &&
			strings.Contains(r.stderr, "mkdri") && strings.Contains(r.stdout, "No space left on device")
	}
	if r = e.run("run", "--bundle", b, "warned"); !warned(r) {
		t.Errorf("run with an unknown name: %s", r)
	}
	// A cached compile warns the same.
	if r = e.run("run", "--bundle", b, "warned"); !warned(r) {
		t.Errorf("run with an unknown name, from the cache: %s", r)
	}
}

// allowlistWithout is a deny-by-default (EPERM) profile that allows what a
// busybox shell needs and a container engine's default profile allows,
// but not the names in deny: older engine profiles and the OCI validation
// suite's default profile have no close_range.
func allowlistWithout(deny ...string) *specs.LinuxSeccomp {
	names := []string{"access", "arch_prctl", "brk", "capget", "capset", "chdir", "clone", "clone3", "close", "dup", "dup2", "dup3",
		"execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fchdir", "fcntl", "fstat", "futex", "getcwd", "getdents64",
		"getegid", "geteuid", "getgid", "getpgrp", "getpid", "getppid", "getrlimit", "gettid", "getuid", "ioctl", "lseek", "mmap", "mprotect",
		"munmap", "newfstatat", "open", "openat", "pipe", "pipe2", "prctl", "prlimit64", "read", "readlink", "rt_sigaction", "rt_sigprocmask",
		"rt_sigreturn", "sendmsg", "sendto", "set_robust_list", "set_tid_address", "setgid", "setgroups", "setpgid", "setresgid", "setresuid",
		"setsid", "setuid", "stat", "statx", "umask", "uname", "wait4", "write", "writev", "seccomp", "rseq", "getrandom", "lstat", "close_range",
		// what a Go runtime calls (the Go runner's thread runs under the filter until its execve)
		"nanosleep", "clock_nanosleep", "clock_gettime", "sched_yield", "madvise", "sigaltstack", "tgkill", "mincore", "epoll_create1",
		"epoll_ctl", "epoll_pwait", "eventfd2", "sched_getaffinity", "socket", "connect", "recvmsg", "recvfrom", "kill", "pidfd_open", "waitid"}
	var allowed []string
	for _, n := range names {
		if !slices.Contains(deny, n) {
			allowed = append(allowed, n)
		}
	}
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: allowed, Action: specs.ActAllow}},
	}
}

// A profile without close_range runs on both runners, with and without
// no_new_privs, for the container's process and an exec'd one: hako marks
// inherited fds close-on-exec before it loads the filter (it used to fail
// every such container with "closing inherited fds: operation not
// permitted").
func TestSeccompWithoutCloseRange(t *testing.T) {
	forRunners(t, func(t *testing.T, e *env) {
		for _, nnp := range []bool{true, false} {
			b := e.bundle([]string{"sleep", "1000"}, func(s *specs.Spec) {
				s.Linux.Seccomp = allowlistWithout("close_range")
				s.Process.NoNewPrivileges = nnp
			})
			id := "nocr"
			if r := e.run("run", "-d", "--bundle", b, id); r.code != 0 {
				t.Fatalf("noNewPrivileges %v: run: %s", nnp, r)
			}
			pid := e.state(id).Pid
			if r := e.run("exec", id, "sh", "-c", "ls /proc/self/fd | wc -l"); r.code != 0 || strings.TrimSpace(r.stdout) != "4" {
				t.Errorf("noNewPrivileges %v: exec: %s (want 4 fds: 0, 1, 2 and ls's own)", nnp, r)
			}
			e.deleteAndReap(id, pid)
		}
	})
}

// hako alone — copied to an empty directory as "runc", with no helper
// next to it, none named by $HAKO_SECCOMP_BINARY and none in $PATH — runs
// a container with an engine-sized profile, applies it to the container's
// process and to an exec'd one, and validates and reports with the helper
// embedded in it.
func TestSeccompEmbeddedHelperAlone(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	bin, err := os.ReadFile(e.bin)
	if err != nil {
		t.Fatal(err)
	}
	e.bin = filepath.Join(dir, "runc")
	if err := os.WriteFile(e.bin, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(seccomp.HelperEnv, "")
	os.Unsetenv(seccomp.HelperEnv)
	var path []string
	for _, d := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		if _, err := os.Stat(filepath.Join(d, seccomp.Helper)); err != nil {
			path = append(path, d)
		}
	}
	t.Setenv("PATH", strings.Join(path, ":"))

	profile := testutil.EngineSeccompProfile(t)
	b := e.bundle([]string{"sh", "-c", "mkdir /dev/shm/d 2>/dev/shm/mkdir.err; exec sleep 1000"}, func(s *specs.Spec) { s.Linux.Seccomp = profile })
	e.must("run", "-d", "--bundle", b, "alone")
	pid := e.state("alone").Pid
	defer e.deleteAndReap("alone", pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) { // until sh has exec'd sleep
		if comm, _ := os.ReadFile("/proc/" + itoa(pid) + "/comm"); string(comm) == "sleep\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the container's process never got to sleep")
		}
	}
	status, err := os.ReadFile("/proc/" + itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if got := statusField(string(status), "Seccomp"); got != "2" {
		t.Errorf("the container's process has Seccomp %q, want 2 (filter)", got)
	}
	if out := e.must("exec", "alone", "cat", "/dev/shm/mkdir.err"); !strings.Contains(out, "No space left on device") {
		t.Errorf("mkdir in the container's process: %q, want ENOSPC from the filter", out)
	}
	r := e.run("exec", "alone", "sh", "-c", "mkdir /dev/shm/x; touch /dev/shm/y && echo touched; grep Seccomp: /proc/self/status")
	if !strings.Contains(r.stderr, "No space left on device") || !strings.Contains(r.stdout, "touched") || !strings.Contains(r.stdout, "Seccomp:\t2") {
		t.Errorf("exec'd process under the container's profile: %s", r)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 1 {
		t.Errorf("the directory of hako holds %d files (%v), want hako alone", len(ents), err)
	}

	if out := e.must("doctor"); !strings.Contains(out, "(in hako-seccomp embedded in hako)") {
		t.Errorf("doctor does not report the embedded helper:\n%s", out)
	}
	b = e.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Linux.Seccomp = enospcMkdir()
		s.Linux.Seccomp.Syscalls[0].Names = []string{"mkdir", "mkdri", "mkdirat"}
	})
	if r := e.run("validate", "--bundle", b); r.code != 0 || !strings.Contains(r.stdout, `linux.seccomp.syscalls[0].names[1]: libseccomp does not know the system call "mkdri"`) {
		t.Errorf("validate with the embedded helper: %s", r)
	}
}

// A profile that refuses getcwd (the OCI suite's linux_seccomp case) with
// no_new_privs off: the filter is loaded before hako's last steps, and the
// check that the working directory lies inside the root (CVE-2024-21626)
// lets a refused getcwd pass, as runc does; the process still gets the
// profile's errno.
func TestSeccompDenyingGetcwd(t *testing.T) {
	forRunners(t, func(t *testing.T, e *env) {
		errno := uint(unix.EPERM)
		b := e.bundle([]string{"sh", "-c", "cd /tmp && pwd -P 2>&1; echo done"}, func(s *specs.Spec) {
			s.Process.NoNewPrivileges = false
			s.Process.Cwd = "/tmp"
			s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{Names: []string{"getcwd"}, Action: specs.ActErrno, ErrnoRet: &errno}}}
		})
		r := e.run("run", "--bundle", b, "nogetcwd")
		if r.code != 0 || !strings.Contains(r.stdout, "done") || strings.Contains(r.stdout, "\n/tmp\n") {
			t.Errorf("a profile refusing getcwd: %s", r)
		}
	})
}
