package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/spec"
)

// sh runs `sh -c script` in a fresh busybox container (config changed by
// mod) in the foreground and returns its result.
func (e *env) sh(id, script string, mod func(*specs.Spec)) result {
	e.t.Helper()
	b := e.bundle([]string{"sh", "-c", script}, mod)
	openRootfs(e.t, b)
	return e.run("run", "--bundle", b, id)
}

// openRootfs makes the bundle's rootfs directory 0755 as an unpacked image's
// is (the test template is a 0700 temp dir, which a non-root user could
// not enter).
func openRootfs(t *testing.T, bundle string) {
	t.Helper()
	if err := os.Chmod(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// mustSh is sh that fails the test unless the container exits 0.
func (e *env) mustSh(id, script string, mod func(*specs.Spec)) string {
	e.t.Helper()
	r := e.sh(id, script, mod)
	if r.code != 0 {
		e.t.Fatalf("container %s (%q): %s", id, script, r)
	}
	return r.stdout
}

// lines splits output into trimmed, non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// statusField returns a field of a /proc/PID/status text ("CapEff").
func statusField(status, name string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// withoutNS removes a namespace type from the config.
func withoutNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != t {
			ns = append(ns, n)
		}
	}
	s.Linux.Namespaces = ns
}

// setNS adds or replaces a namespace (with path "" for a new one).
func setNS(s *specs.Spec, t specs.LinuxNamespaceType, path string) {
	withoutNS(s, t)
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: t, Path: path})
}

// writeFile writes a file in the test's temp dir and returns its path.
func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// reapWithin waits up to ms milliseconds for a container init that was
// reparented to us to exit, reaps it and returns its wait status; it fails
// the test when the init is still alive.
func reapWithin(t *testing.T, pid, ms int) unix.WaitStatus {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	if n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms); n == 0 {
		t.Fatalf("pid %d still runs after %d ms", pid, ms)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatalf("waiting for pid %d: %v", pid, err)
	}
	return ws
}

// pollPid blocks until pid exits or ms milliseconds passed (a poll on its
// pidfd, not a sleep).
func pollPid(pid, ms int) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
}

func readConfig(t *testing.T, bundle string) *specs.Spec {
	t.Helper()
	s, err := spec.Load(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeConfig(t *testing.T, bundle string, s *specs.Spec) {
	t.Helper()
	if err := spec.Write(filepath.Join(bundle, "config.json"), s); err != nil {
		t.Fatal(err)
	}
}
