package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/state"
)

// Unit tests of the lifecycle's pure parts: no root, no container.

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{"": unix.SIGTERM, "KILL": unix.SIGKILL, "sigkill": unix.SIGKILL, "SIGHUP": unix.SIGHUP, "9": unix.SIGKILL, "64": 64, "0": 0} { // 0 probes, as kill(2)'s
		if got, err := ParseSignal(in); err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"65", "-1", "BOGUS", "SIG"} {
		if _, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) accepted", in)
		}
	}
}

// The exit code run and exec report: the process's, 128+N for signal N,
// 255 when it could not be waited for.
func TestExitCode(t *testing.T) {
	for _, c := range []struct {
		x    exited
		want int
	}{
		{exited{ws: syscall.WaitStatus(3 << 8)}, 3},
		{exited{ws: syscall.WaitStatus(syscall.SIGKILL)}, 137},
		{exited{err: errors.New("lost")}, 255},
	} {
		if got := c.x.code(); got != c.want {
			t.Errorf("%+v: code %d, want %d", c.x, got, c.want)
		}
	}
}

func TestStateErrorWords(t *testing.T) {
	e := &StateError{ID: "web", Status: state.Stopped, Op: "start", Hint: "delete it"}
	if got := e.Error(); got != `cannot start container "web": it is stopped — hint: delete it` {
		t.Errorf("%q", got)
	}
	// containerd matches these words on kill.
	if ErrNotRunning.Error() != "container not running" {
		t.Errorf("ErrNotRunning says %q", ErrNotRunning)
	}
}

// What create cannot run without, checked even when full validation is
// skipped; a config without a process is created (start refuses it).
func TestCheckMinimal(t *testing.T) {
	bundle := t.TempDir()
	os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755)
	os.WriteFile(filepath.Join(bundle, "file"), nil, 0o644)
	ok := &specs.Spec{Root: &specs.Root{Path: "rootfs"}, Process: &specs.Process{Args: []string{"sh"}}}
	if err := checkMinimal(ok, bundle); err != nil {
		t.Errorf("a minimal config: %v", err)
	}
	if err := checkMinimal(&specs.Spec{Root: &specs.Root{Path: "rootfs"}}, bundle); err != nil {
		t.Errorf("no process: %v (process is required at start only)", err)
	}
	for _, c := range []struct {
		s    *specs.Spec
		want string
	}{
		{&specs.Spec{Process: ok.Process}, "root.path"},
		{&specs.Spec{Root: &specs.Root{Path: "missing"}, Process: ok.Process}, "no such file or directory"},
		{&specs.Spec{Root: &specs.Root{Path: "file"}, Process: ok.Process}, "not a directory"},
		{&specs.Spec{Root: &specs.Root{Path: "rootfs"}, Process: &specs.Process{}}, "process.args"},
		{&specs.Spec{Root: &specs.Root{Path: "rootfs"}, Process: &specs.Process{Args: []string{""}}}, "process.args"},
	} {
		if err := checkMinimal(c.s, bundle); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want one naming %s", c.s, err, c.want)
		}
	}
}

// The host ids of the container's root (its exec fifo is chowned to
// them) and the namespace paths exec joins.
func TestRootIDsAndNamespacePaths(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{
		Namespaces:  []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: "/var/run/netns/x"}},
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 1, HostID: 5, Size: 1}, {ContainerID: 0, HostID: 100000, Size: 1}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 1}},
	}}
	if uid, gid, ok := rootIDs(s); !ok || uid != 100000 || gid != 200000 {
		t.Errorf("rootIDs = %d, %d, %v", uid, gid, ok)
	}
	if _, _, ok := rootIDs(&specs.Spec{Linux: &specs.Linux{}}); ok {
		t.Error("rootIDs without a user namespace")
	}
	got := nsPaths(s, 42)
	want := map[string]string{"user": "/proc/42/ns/user", "mount": "/proc/42/ns/mnt", "network": "/proc/42/ns/net"}
	if len(got) != len(want) {
		t.Fatalf("nsPaths = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("nsPaths[%s] = %q, want %q", k, got[k], v)
		}
	}
}

// Socket activation: $LISTEN_FDS counts only when $LISTEN_PID is ours or
// unset.
func TestListenFDs(t *testing.T) {
	t.Setenv("LISTEN_FDS", "2")
	t.Setenv("LISTEN_PID", "")
	if n := listenFDs(); n != 2 {
		t.Errorf("listenFDs = %d, want 2", n)
	}
	t.Setenv("LISTEN_PID", "1")
	if n := listenFDs(); n != 0 {
		t.Errorf("listenFDs for another pid = %d, want 0", n)
	}
	t.Setenv("LISTEN_FDS", "x")
	t.Setenv("LISTEN_PID", "")
	if n := listenFDs(); n != 0 {
		t.Errorf("listenFDs of garbage = %d", n)
	}
}
