// Package arch enforces the dependency rules of design.md §2 by walking
// `go list -deps`: the wall between the parent (spawn) and the child
// (containerinit), the runtime half never importing the image half, and
// leaves importing no hako package but logging.
package arch

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/hako-dev/hako/"

// deps returns the hako packages pkg depends on, transitively.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var ds []string
	for _, l := range strings.Fields(string(out)) {
		if strings.HasPrefix(l, mod) && l != mod+pkg {
			ds = append(ds, strings.TrimPrefix(l, mod))
		}
	}
	return ds
}

func forbid(t *testing.T, pkg string, banned ...string) {
	t.Helper()
	for _, d := range deps(t, pkg) {
		for _, b := range banned {
			if d == b || strings.HasPrefix(d, b+"/") {
				t.Errorf("%s depends on %s (design.md §2 forbids it)", pkg, d)
			}
		}
	}
}

func TestParentChildWall(t *testing.T) {
	forbid(t, "internal/spawn", "internal/containerinit")
	forbid(t, "internal/containerinit", "internal/spawn", "internal/runtime", "internal/cli")
}

func TestRuntimeHalfIgnoresImageHalf(t *testing.T) {
	forbid(t, "internal/runtime", "internal/containerinit", "internal/cli",
		"internal/image", "internal/unpack", "internal/bundle")
}

func TestLeavesImportOnlyLogging(t *testing.T) {
	for _, leaf := range []string{"internal/state", "internal/initproto", "internal/mount", "internal/security",
		"internal/cgroup", "internal/hooks", "internal/validate", "internal/unpack"} {
		for _, d := range deps(t, leaf) {
			if d != "internal/logging" {
				t.Errorf("leaf %s imports %s; leaves may import only internal/logging", leaf, d)
			}
		}
	}
}
