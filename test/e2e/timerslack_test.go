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
func TestTimerSlackDoesNotLeak(t *testing.T) {
	e := newEnv(t)
	b, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Skip("no /proc/self/timerslack_ns:", err)
	}
	want := strings.TrimSpace(string(b))
	hookOut := filepath.Join(t.TempDir(), "hook-slack")
	for _, init := range []string{"", "go"} {
		t.Run("init="+init, func(t *testing.T) {
			t.Setenv("HAKO_INIT", init)
			out := e.mustSh("slack"+init, "cat /proc/self/timerslack_ns", func(s *specs.Spec) {
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
		})
	}
}
