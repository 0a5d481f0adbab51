package prestack_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testutil"
)

// TestRunsFirst reads the order of package inits of the hako binary
// (GODEBUG=inittrace=1): the stack must be grown before the standard
// library's inits and hako's own run on it, or the growth is one more copy
// instead of the only one. Only the runtime's own internal packages may
// come first.
func TestRunsFirst(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hako binary")
	}
	cmd := exec.Command(testutil.HakoBinary(t), "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hako --version: %v\n%s", err, out)
	}
	var before []string
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "init" {
			continue
		}
		if f[1] == "github.com/hako-dev/hako/internal/prestack" {
			found = true
			break
		}
		before = append(before, f[1])
	}
	if !found {
		t.Fatalf("no init of internal/prestack in hako's init trace: is it still imported by cmd/hako?\n%s", out)
	}
	for _, p := range before {
		if p != "runtime" && !strings.HasPrefix(p, "internal/") && !strings.HasPrefix(p, "crypto/internal/fips140deps/") {
			t.Errorf("package %s is initialised before internal/prestack: its init runs on the small stack; prestack must import nothing", p)
		}
	}
}
