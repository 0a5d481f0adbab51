package firstinit_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	_ "github.com/hako-dev/hako/internal/firstinit"
	"github.com/hako-dev/hako/internal/testutil"
)

// TestRunsFirst reads the order of package inits of the hako binary
// (GODEBUG=inittrace=1): the stack must be grown before the standard
// library's inits and hako's own run on it, or the growth is one more copy
// instead of the only one. Only the runtime and the leaves of the
// standard library it waits for (runtimeLeaf) may come first.
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
		if f[1] == "github.com/hako-dev/hako/internal/firstinit" {
			found = true
			break
		}
		before = append(before, f[1])
	}
	if !found {
		t.Fatalf("no init of internal/firstinit in hako's init trace: is it still imported by cmd/hako?\n%s", out)
	}
	for _, p := range before {
		if !runtimeLeaf(p) {
			t.Errorf("package %s is initialised before internal/firstinit: its init runs on the small stack; firstinit must import nothing but runtime", p)
		}
	}
}

// The package's init has run in this test binary too.
func TestOneP(t *testing.T) {
	if n := runtime.GOMAXPROCS(0); n != 1 {
		t.Fatalf("GOMAXPROCS is %d after firstinit's init, want 1", n)
	}
}

// runtimeLeaf reports whether p is the runtime or one of the standard
// library's packages without imports outside the runtime's own, whose
// inits fill a few variables and may run before firstinit's.
func runtimeLeaf(p string) bool {
	return p == "runtime" || p == "math" || strings.HasPrefix(p, "internal/") || strings.HasPrefix(p, "crypto/internal/fips140deps/")
}
