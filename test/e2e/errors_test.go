package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Each case breaks one thing; hako must exit non-zero with a message that
// names the object and leave nothing behind.
func TestErrorsTeachAndLeaveNothing(t *testing.T) { forRunners(t, testErrorsTeachAndLeaveNothing) }

func testErrorsTeachAndLeaveNothing(t *testing.T, e *env) {
	cases := []struct {
		name  string
		setup func(t *testing.T) string // returns the bundle
		id    string
		want  []string
	}{
		{"config missing", func(t *testing.T) string {
			b := e.bundle([]string{"true"}, nil)
			os.Remove(filepath.Join(b, "config.json"))
			return b
		}, "c1", []string{"config.json", "no such file", "hako spec"}},
		{"config not JSON", func(t *testing.T) string {
			b := e.bundle([]string{"true"}, nil)
			os.WriteFile(filepath.Join(b, "config.json"), []byte("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {,\n}\n"), 0o644)
			return b
		}, "c2", []string{"config.json:3:"}},
		{"root.path missing", func(t *testing.T) string {
			b := e.bundle([]string{"true"}, nil)
			os.RemoveAll(filepath.Join(b, "rootfs"))
			return b
		}, "c3", []string{"root.path", "rootfs"}},
		{"root.path not a directory", func(t *testing.T) string {
			b := e.bundle([]string{"true"}, func(s *specs.Spec) { s.Root.Path = "rootfs/bin/busybox" })
			return b
		}, "c4", []string{"root.path", "not a directory"}},
		{"args empty", func(t *testing.T) string {
			return e.bundle([]string{}, nil)
		}, "c5", []string{"process.args"}},
		{"args[0] not found", func(t *testing.T) string {
			return e.bundle([]string{"shh"}, nil)
		}, "c6", []string{"shh", "executable file not found in $PATH", "/usr/sbin"}},
		{"args[0] absolute not found", func(t *testing.T) string {
			return e.bundle([]string{"/bin/nope"}, nil)
		}, "c7", []string{"/bin/nope", "no such file or directory"}},
		{"args[0] not executable", func(t *testing.T) string {
			b := e.bundle([]string{"/etc/passwd"}, nil)
			return b
		}, "c8", []string{"/etc/passwd", "permission denied"}},
		{"cwd not a directory", func(t *testing.T) string {
			return e.bundle([]string{"true"}, func(s *specs.Spec) { s.Process.Cwd = "/etc/passwd" })
		}, "c9", []string{"cwd", "/etc/passwd", "not a directory"}},
		{"invalid id", func(t *testing.T) string {
			return e.bundle([]string{"true"}, nil)
		}, "../evil", []string{"invalid container id", "../evil"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.on(t)
			b := c.setup(t)
			before := mountinfo(t)
			r := e.run("run", "--bundle", b, c.id)
			if r.code == 0 {
				t.Fatalf("hako run succeeded: %s", r)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("message lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("hako panicked:\n%s", r.stderr)
			}
			if c.id != "../evil" {
				e.noLeftovers(c.id, before)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(e.root), "evil")); err == nil {
				t.Errorf("an invalid id created a directory outside --root")
			}
		})
	}
}

func TestExistingIDIsRefused(t *testing.T) { forRunners(t, testExistingIDIsRefused) }

func testExistingIDIsRefused(t *testing.T, e *env) {
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("create", "--bundle", b, "dup")
	pid := e.state("dup").Pid
	defer e.deleteAndReap("dup", pid)
	r := e.run("create", "--bundle", b, "dup")
	if r.code == 0 || !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "dup") {
		t.Fatalf("second create: %s", r)
	}
	if st := e.state("dup"); st.Pid != pid || st.Status != "created" {
		t.Fatalf("refused create changed the first container: %+v", st)
	}
}

// One runner: hako refuses a caller that is not root before it chooses a
// runner.
func TestNotRootIsRefused(t *testing.T) {
	e := newEnv(t)
	b := e.bundle([]string{"true"}, nil)
	os.Chmod(filepath.Dir(b), 0o755)
	os.Chmod(b, 0o755)
	root := filepath.Join(t.TempDir(), "root")
	os.MkdirAll(root, 0o777)
	os.Chmod(filepath.Dir(root), 0o777)
	os.Chmod(filepath.Dir(e.bin), 0o755)
	cmd := exec.Command(e.bin, "--root", root, "run", "--bundle", b, "nr")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "root") {
		t.Fatalf("non-root run: err=%v out=%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "nr")); err == nil {
		t.Errorf("state directory left behind")
	}
}

func TestStartOnlyCreated(t *testing.T) { forRunners(t, testStartOnlyCreated) }

func testStartOnlyCreated(t *testing.T, e *env) {
	if r := e.run("start", "ghost"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("start of unknown container: %s", r)
	}
	b := e.bundle([]string{"true"}, nil)
	pidFile := filepath.Join(t.TempDir(), "pid")
	e.must("run", "-d", "--bundle", b, "--pid-file", pidFile, "quick")
	pb, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(string(pb))
	waitReap(t, pid) // the detached init was reparented to us
	if st := e.state("quick"); st.Status != "stopped" {
		t.Fatalf("after exit: %+v", st)
	}
	if r := e.run("start", "quick"); r.code == 0 || !strings.Contains(r.stderr, "stopped") {
		t.Fatalf("start of stopped container: %s", r)
	}
	e.must("delete", "quick")
}
