package arch

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
	"testing"
)

// listed is what the type check needs of one `go list -json` entry.
type listed struct {
	ImportPath string
	Dir        string
	Standard   bool
	GoFiles    []string
	SFiles     []string
	ImportMap  map[string]string // import path in the source → package (vendored std)
	Module     *struct{ GoVersion string }
	Error      *struct{ Err string }
}

// hako builds for the architectures Go and the runtime spec support, even
// where setup programs (amd64 machine code) do not exist and every container
// takes the Go init: internal/sysprog, internal/sigfwd and
// internal/timerslack have files for amd64 and stubs for the rest, and
// golang.org/x/sys/unix's types differ in width from one architecture to
// the next (043fc1d: statfs flags). Instead of cross-compiling (a minute on
// an empty build cache: the standard library compiled once per
// architecture, then two links each), this type-checks, for arm64 and
// s390x (little- and big-endian 64-bit), every package hako and hako-image
// link, as `go list` selects their files for that architecture: hako's own
// packages in full, the others' declarations only (their function bodies
// do not change with hako's code). It also does the one check of the
// compiler's that the type checker leaves out: a function declared without
// a body in a package without assembly for that architecture. What only a
// link would find (a //go:linkname or assembly symbol missing on another
// architecture) it does not: today all of those live in amd64-only files.
func TestRuntimeBuildsElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the runtime for two other architectures")
	}
	for _, arch := range []string{"arm64", "s390x"} {
		t.Run(arch, func(t *testing.T) {
			t.Parallel()
			for _, err := range typecheck(t, arch) {
				t.Errorf("GOARCH=%s: %v", arch, err)
			}
		})
	}
}

// typecheck lists cmd/hako and cmd/hako-image for linux/arch under `make
// build`'s configuration and type-checks them, in go list's dependency
// order. It returns at most 20 errors.
func typecheck(t *testing.T, arch string) []error {
	msgs, err := golist([]string{"GOOS=linux", "GOARCH=" + arch, "CGO_ENABLED=0"},
		"ImportPath,Dir,Standard,GoFiles,SFiles,ImportMap,Module,Error", mod+"cmd/hako", mod+"cmd/hako-image")
	if err != nil {
		t.Fatal(err)
	}
	sizes := types.SizesFor("gc", arch)
	fset := token.NewFileSet()
	done := map[string]*types.Package{"unsafe": types.Unsafe}
	var errs []error
	for _, m := range msgs {
		var p listed
		if err := json.Unmarshal(m, &p); err != nil {
			t.Fatal(err)
		}
		if p.Error != nil {
			return append(errs, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err))
		}
		if p.ImportPath == "unsafe" {
			continue
		}
		ours := strings.HasPrefix(p.ImportPath, mod)
		var files []*ast.File
		for _, name := range p.GoFiles {
			mode := parser.SkipObjectResolution
			if ours {
				mode |= parser.ParseComments // for //go:linkname
			}
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, mode)
			if err != nil {
				return append(errs, err)
			}
			files = append(files, f)
		}
		if ours && len(p.SFiles) == 0 {
			errs = append(errs, missingBodies(fset, files)...)
		}
		conf := types.Config{
			Importer:         importer{done, p.ImportMap},
			Sizes:            sizes,
			IgnoreFuncBodies: !ours,
			Error: func(err error) {
				if len(errs) < 20 {
					errs = append(errs, err)
				}
			},
		}
		if p.Module != nil && p.Module.GoVersion != "" {
			conf.GoVersion = "go" + p.Module.GoVersion
		}
		tp, _ := conf.Check(p.ImportPath, fset, files, nil)
		done[p.ImportPath] = tp
		if len(errs) >= 20 {
			break
		}
	}
	return errs
}

// importer hands the type checker the packages checked before, through the
// importing package's ImportMap.
type importer struct {
	done map[string]*types.Package
	m    map[string]string
}

func (im importer) Import(path string) (*types.Package, error) {
	if p, ok := im.m[path]; ok {
		path = p
	}
	if p := im.done[path]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%s was not listed before its importer", path)
}

// missingBodies: the compiler refuses a function without a body unless the
// package has assembly (which may define it) or the declaration is
// //go:linkname'd; go/types accepts it.
func missingBodies(fset *token.FileSet, files []*ast.File) []error {
	var errs []error
	for _, f := range files {
		linked := map[string]bool{}
		for _, cg := range f.Comments {
			for _, c := range cg.List {
				if fs := strings.Fields(c.Text); len(fs) >= 2 && fs[0] == "//go:linkname" {
					linked[fs[1]] = true
				}
			}
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body == nil && !linked[fd.Name.Name] {
				errs = append(errs, fmt.Errorf("%s: missing function body for %s (no assembly for this architecture)", fset.Position(fd.Pos()), fd.Name.Name))
			}
		}
	}
	return errs
}
