// Package arch enforces the dependency rules of the design
// (docs/architecture.md): the wall between the compiler (spawn) and the Go
// runner (goinit), the runtime half never importing the image half, leaves
// importing no hako package but the few named below, the runtime binary
// linking nothing of the image half and no cgo, hako building for other
// architectures, and the linker's method dead-code elimination staying on.
//
// The rules read one `go list -deps -json` of the whole module, run once
// (graph); the cross-architecture check type-checks the sources for each
// other architecture from one `go list` each (cross_test.go); only the
// dead-code check links (deadcode_test.go).
package arch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

const mod = "github.com/hako-dev/hako/"

// tags are the build tags of `make build`.
const tags = "osusergo,netgo"

// pkg is what the rules need of one `go list -json` entry.
type pkg struct {
	ImportPath string
	Deps       []string // every package it depends on, transitively
	CgoFiles   []string
	Error      *struct{ Err string }
}

// golist runs `go list -deps -json` and decodes its stream of packages,
// in dependency order. fields limits the JSON to what the caller reads.
func golist(env []string, fields string, patterns ...string) ([]json.RawMessage, error) {
	args := append([]string{"list", "-deps", "-json=" + fields, "-tags", tags}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var msgs []json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m json.RawMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return msgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list: %v", err)
		}
		msgs = append(msgs, m)
	}
}

var graph = sync.OnceValues(func() (map[string]*pkg, error) {
	// CGO_ENABLED=1 so that cgo files are listed as such (with cgo off they
	// would be ignored, and the pure-Go rule could not fail); go list
	// compiles nothing, so no C compiler is needed.
	msgs, err := golist([]string{"CGO_ENABLED=1"}, "ImportPath,Deps,CgoFiles,Error", mod+"...")
	if err != nil {
		return nil, err
	}
	g := make(map[string]*pkg, len(msgs))
	for _, m := range msgs {
		var p pkg
		if err := json.Unmarshal(m, &p); err != nil {
			return nil, err
		}
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		g[p.ImportPath] = &p
	}
	return g, nil
})

// load returns the module's package graph, listed once per test binary.
func load(t *testing.T) map[string]*pkg {
	t.Helper()
	g, err := graph()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// rule: no package in from may depend, transitively, on a package in
// banned (a path or a path prefix ending in "/..."; hako's packages are
// named without the module prefix), except those in allowed.
type rule struct {
	name    string
	from    []string
	banned  []string
	allowed []string
	why     string
}

var rules = []rule{
	{
		name:   "the compiler never links the Go runner",
		from:   []string{"internal/spawn"},
		banned: []string{"internal/goinit/..."},
		why:    "spawn compiles a setup and drives its runner; the Go runner (goinit) only executes the compiled program: they share only the program (internal/sysprog) and the stage vocabulary (internal/stage) (docs/architecture.md)",
	},
	{
		name:   "the Go runner never links the compiler",
		from:   []string{"internal/goinit"},
		banned: []string{"internal/spawn/...", "internal/runtime/...", "internal/cli/...", "internal/validate/...", "internal/security/..."},
		why:    "the Go runner runs inside the container and must never decide what a setup does (that is the compiler's, once) nor reach back into the parent's lifecycle or CLI (docs/architecture.md)",
	},
	{
		name: "the runtime half ignores the image half",
		from: []string{"internal/runtime"},
		banned: []string{"internal/goinit/...", "internal/cli/...",
			"internal/image/...", "internal/unpack/...", "internal/bundle/..."},
		why: "the runtime half only ever sees bundles, like runc; only the CLI joins the halves (docs/architecture.md)",
	},
	{
		name: "the runtime binary links no image half",
		from: []string{"cmd/hako"},
		banned: []string{"internal/image/...", "internal/unpack/...", "internal/bundle/...",
			"github.com/google/go-containerregistry/...", "net/http/...", "github.com/klauspost/compress/...",
			"github.com/vbauerster/mpb/...", "github.com/docker/cli/..."},
		why: "hako starts for every container, so it must not link (and initialise at every start) the image half: " +
			"hako execs the helper hako-image for the image verbs (internal/cli/imagehelper.go)",
	},
	{
		name:   "hako and hako-image link no libseccomp",
		from:   []string{"cmd/hako", "cmd/hako-image"},
		banned: []string{"runtime/cgo", "github.com/seccomp/...", "internal/libseccomp/..."},
		why: "hako is pure Go: cgo's start-up (static glibc, the cgo runtime) would cost every container start about a " +
			"millisecond of CPU per process; libseccomp lives in the helper hako-seccomp (internal/libseccomp)",
	},
	{
		name: "leaves import only logging, sysprog, stage, timerslack and helperbin",
		from: []string{"internal/state", "internal/stage", "internal/mount", "internal/security", "internal/seccomp",
			"internal/cgroup", "internal/hooks", "internal/validate", "internal/unpack", "internal/cli/cliroot",
			"internal/sysprog", "internal/sigfwd", "internal/timerslack", "internal/helperbin", "internal/netdev"},
		banned:  []string{"..."},
		allowed: []string{"internal/logging", "internal/sysprog", "internal/stage", "internal/timerslack", "internal/helperbin"},
		why: "leaves may import only internal/logging, internal/sysprog (the setup-program builder), internal/stage (the Go runner's stages), internal/timerslack " +
			"and internal/helperbin (finding the helper binaries), so that each can be read, tested and changed alone (docs/architecture.md)",
	},
}

// full gives a package a rule names its import path: hako's own are named
// without the module's prefix.
func full(p string) string {
	if strings.HasPrefix(p, "internal/") || strings.HasPrefix(p, "cmd/") {
		return mod + p
	}
	return p
}

// matches reports whether path is named by pattern: the path itself, or,
// for "x/...", x and everything below it; "..." alone names every hako
// package.
func matches(pattern, path string) bool {
	if pattern == "..." {
		return strings.HasPrefix(path, mod)
	}
	if pre, ok := strings.CutSuffix(pattern, "/..."); ok {
		pre = full(pre)
		return path == pre || strings.HasPrefix(path, pre+"/")
	}
	return path == full(pattern)
}

// check returns the violations of r in g, one line each, or an error when
// a package the rule names is not in g (a rule about a package that no
// longer exists would pass forever).
func (r rule) check(g map[string]*pkg) ([]string, error) {
	var bad []string
	for _, from := range r.from {
		p, ok := g[full(from)]
		if !ok {
			return nil, fmt.Errorf("rule %q names %s, which go list does not list: rename it in the rule", r.name, from)
		}
	deps:
		for _, d := range p.Deps {
			for _, a := range r.allowed {
				if matches(a, d) {
					continue deps
				}
			}
			for _, b := range r.banned {
				if matches(b, d) {
					bad = append(bad, fmt.Sprintf("%s depends on %s", from, strings.TrimPrefix(d, mod)))
					break
				}
			}
		}
	}
	return bad, nil
}

func TestDependencyRules(t *testing.T) {
	g := load(t)
	for _, r := range rules {
		t.Run(strings.ReplaceAll(r.name, " ", "_"), func(t *testing.T) {
			bad, err := r.check(g)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range bad {
				t.Errorf("%s: %s", b, r.why)
			}
		})
	}
}

// hako and hako-image are pure Go: not one package they link may have cgo
// files under `make build`'s tags (the rule above bans the known cgo users
// by name; this catches any other).
func TestRuntimeBinaryIsPureGo(t *testing.T) {
	g := load(t)
	for _, cmd := range []string{"cmd/hako", "cmd/hako-image"} {
		p, ok := g[mod+cmd]
		if !ok {
			t.Fatalf("go list does not list %s", cmd)
		}
		for _, d := range p.Deps {
			if dp := g[d]; dp != nil && len(dp.CgoFiles) > 0 {
				t.Errorf("%s depends on %s, which needs cgo (%s): hako and hako-image are pure Go; cgo code belongs to cmd/hako-seccomp",
					cmd, d, strings.Join(dp.CgoFiles, ", "))
			}
		}
	}
}

// Every rule can fail: each banned pattern of each rule is run against a
// graph made to break it, and a rule whose packages are gone is an error.
func TestRulesCanFail(t *testing.T) {
	for _, r := range rules {
		for _, b := range r.banned {
			var dep string // a package b names that no allowed pattern does
			switch {
			case b == "...":
				dep = mod + "internal/forbidden"
			case strings.HasSuffix(b, "/..."):
				dep = full(strings.TrimSuffix(b, "/...")) + "/sub"
			default:
				dep = full(b)
			}
			g := map[string]*pkg{}
			for _, from := range r.from {
				g[full(from)] = &pkg{ImportPath: full(from), Deps: []string{mod + "internal/logging", dep}}
			}
			bad, err := r.check(g)
			if err != nil || len(bad) != len(r.from) {
				t.Errorf("rule %q, banned %s: against a graph that breaks it: %d violations (err %v), want %d", r.name, b, len(bad), err, len(r.from))
			}
		}
		if _, err := r.check(map[string]*pkg{}); err == nil {
			t.Errorf("rule %q: no error when its packages are missing", r.name)
		}
	}
}
