package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hako coarsens its own threads' timer slack (internal/timerslack); the
// container's process, on both init paths, and a hook must get the slack
// hako was started with, not hako's.
func TestTimerSlackDoesNotLeak(t *testing.T) { forRunners(t, testTimerSlackDoesNotLeak) }

func testTimerSlackDoesNotLeak(t *testing.T, e *env) {
	b, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Skip("no /proc/self/timerslack_ns:", err)
	}
	want := strings.TrimSpace(string(b))
	hookOut := filepath.Join(t.TempDir(), "hook-slack")
	out := e.mustSh("slack", "cat /proc/self/timerslack_ns", func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat /proc/self/timerslack_ns > " + hookOut}}}}
	})
	if got := strings.TrimSpace(out); got != want {
		t.Errorf("the container's process has timer slack %s, want the caller's %s", got, want)
	}
	hb, err := os.ReadFile(hookOut)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(hb)); got != want {
		t.Errorf("the poststart hook has timer slack %s, want the caller's %s", got, want)
	}
}

// hako's own threads, every one of them, have the coarse slack: the entry
// stub sets it before the Go runtime starts its first thread.
func TestTimerSlackCoarseOnEveryHakoThread(t *testing.T) {
	forRunners(t, testTimerSlackCoarseOnEveryHakoThread)
}

func testTimerSlackCoarseOnEveryHakoThread(t *testing.T, e *env) {
	b, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Skip("no /proc/self/timerslack_ns:", err)
	}
	if strings.TrimSpace(string(b)) == "1000000" {
		t.Skip("this test already runs with a 1 ms slack: nothing to tell apart")
	}
	cmd, pid := e.startForeground(e.bundle([]string{"sleep", "1000"}, nil), "coarse")
	tasks, err := os.ReadDir("/proc/" + itoa(cmd.Process.Pid) + "/task")
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) < 2 {
		t.Fatalf("hako run has %d threads; the Go runtime starts several", len(tasks))
	}
	for _, task := range tasks {
		s, err := os.ReadFile("/proc/" + task.Name() + "/timerslack_ns")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(s)); got != "1000000" {
			t.Errorf("hako's thread %s has timer slack %s, want 1000000", task.Name(), got)
		}
	}
	e.must("kill", "coarse", "KILL")
	cmd.Wait()
	reap(pid)
}
