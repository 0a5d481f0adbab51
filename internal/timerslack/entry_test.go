//go:build amd64

package timerslack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Linked with the entry stub, a program's threads have the coarse slack
// before its first package init runs; linked without, the one it was
// started with.
func TestEntryStub(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	b, err := os.ReadFile("/proc/self/timerslack_ns")
	if err != nil {
		t.Skip("no timerslack_ns:", err)
	}
	mine := strings.TrimSpace(string(b))
	if mine == "1000000" {
		t.Skip("this test already runs with a 1 ms slack: nothing to tell apart")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		ldflags, want string
	}{
		{"-E=github.com/hako-dev/hako/internal/timerslack.entry", "1000000"},
		{"", mine},
	} {
		bin := filepath.Join(dir, "stubcheck")
		build := exec.Command("go", "build", "-ldflags", tc.ldflags, "-o", bin, "./testdata/stubcheck")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", tc.ldflags, err, out)
		}
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		lines := strings.Fields(string(out))
		if len(lines) < 2 {
			t.Fatalf("ldflags %q: %d threads at init, the Go runtime starts several: %q", tc.ldflags, len(lines), out)
		}
		for i, l := range lines {
			if l != tc.want {
				t.Errorf("ldflags %q: thread %d has slack %s at init, want %s", tc.ldflags, i, l, tc.want)
			}
		}
	}
}
