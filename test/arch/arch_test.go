// Package arch enforces the dependency rules of design.md §2 by walking
// `go list -deps`: the wall between the parent (spawn) and the child
// (containerinit), the runtime half never importing the image half, leaves
// importing no hako package but logging, and the runtime binary linking
// nothing of the image half.
package arch

import (
	"os"
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

// The runtime binary starts for every container, so it must not link (and
// initialise at every start) the image half: hako execs the helper
// hako-image for the image verbs (internal/cli/imagehelper.go).
func TestRuntimeBinaryLinksNoImageHalf(t *testing.T) {
	banned := []string{mod + "internal/image", mod + "internal/unpack", mod + "internal/bundle",
		"github.com/google/go-containerregistry", "net/http", "github.com/klauspost/compress",
		"github.com/vbauerster/mpb", "github.com/docker/cli"}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+"cmd/hako").Output()
	if err != nil {
		t.Fatalf("go list ./cmd/hako: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, b := range banned {
			if d == b || strings.HasPrefix(d, b+"/") {
				t.Errorf("cmd/hako depends on %s: the image half belongs to cmd/hako-image", d)
			}
		}
	}
}

// hako is pure Go: cgo's start-up (static glibc, the cgo runtime) would
// cost every container start about a millisecond of CPU per process.
// libseccomp lives in the helper hako-seccomp (internal/seccompc), which
// `make build` embeds in hako as bytes (the tag hako_embed_seccomp; -e:
// the embedded files exist only after `make build`).
func TestRuntimeBinaryIsPureGo(t *testing.T) {
	for _, b := range []struct{ cmd, tags string }{
		{"cmd/hako", "osusergo,netgo"},
		{"cmd/hako", "osusergo,netgo,hako_embed_seccomp"},
		{"cmd/hako-image", "osusergo,netgo"},
	} {
		out, err := exec.Command("go", "list", "-e", "-tags", b.tags, "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", mod+b.cmd).Output()
		if err != nil {
			t.Fatalf("go list -tags %s %s: %v", b.tags, b.cmd, err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			pkg, n, _ := strings.Cut(l, " ")
			if n != "0" || pkg == "runtime/cgo" || strings.HasPrefix(pkg, "github.com/seccomp/") || pkg == mod+"internal/seccompc" {
				t.Errorf("%s (-tags %s) depends on %s, which needs cgo: libseccomp belongs to cmd/hako-seccomp", b.cmd, b.tags, pkg)
			}
		}
	}
}

func TestLeavesImportOnlyLogging(t *testing.T) {
	for _, leaf := range []string{"internal/state", "internal/initproto", "internal/mount", "internal/security", "internal/seccomp",
		"internal/cgroup", "internal/hooks", "internal/validate", "internal/unpack", "internal/cli/clibase", "internal/sysprog", "internal/sigfwd", "internal/timerslack", "internal/helperbin"} {
		for _, d := range deps(t, leaf) {
			if d != "internal/logging" && d != "internal/sysprog" && d != "internal/timerslack" && d != "internal/helperbin" {
				t.Errorf("leaf %s imports %s; leaves may import only internal/logging, internal/sysprog (the setup-program builder), internal/timerslack and internal/helperbin (finding the helper binaries)", leaf, d)
			}
		}
	}
}

// hako builds for the architectures Go and the runtime spec support, even
// where setup programs (amd64 machine code) do not exist and every
// container takes the Go init.
func TestRuntimeBuildsElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles")
	}
	for _, arch := range []string{"arm64", "s390x"} { // little- and big-endian 64-bit
		cmd := exec.Command("go", "build", "-tags", "osusergo,netgo", "-o", "/dev/null", mod+"cmd/hako", mod+"cmd/hako-image")
		cmd.Env = append(os.Environ(), "GOARCH="+arch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOARCH=%s: %v\n%s", arch, err, out)
		}
	}
}
