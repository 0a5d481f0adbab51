package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the name of the configuration file in a bundle.
const ConfigName = "config.json"

var specType = reflect.TypeOf(specs.Spec{})

// Options add checks that need more than the configuration and the files
// it names. The zero Options add none.
type Options struct {
	// UnknownSyscalls lists the system call names of a seccomp profile
	// that libseccomp cannot resolve on this machine's architecture (with
	// Elsewhere set for those it knows on one of the profile's other
	// architectures): the ones unknown everywhere are warnings. hako's
	// CLI asks the libseccomp helper (internal/seccomp); an error skips
	// the check.
	UnknownSyscalls func(*specs.LinuxSeccomp) ([]SyscallName, error)
}

// SyscallName is a name UnknownSyscalls reports.
type SyscallName struct {
	Field     string // linux.seccomp.syscalls[I].names[J]
	Name      string
	Elsewhere bool // known on another architecture of the profile
}

// Bundle validates DIR/config.json, including the checks against the root
// filesystem DIR/<root.path> and the host. The error is only for I/O
// failures that prevent validating at all; a missing config.json is a
// problem in the report.
func Bundle(dir string) (*Report, error) { return Options{}.Bundle(dir) }

// Bundle is Bundle with o's checks.
func (o Options) Bundle(dir string) (*Report, error) {
	return o.File(filepath.Join(dir, ConfigName), dir)
}

// File validates the configuration file at path; bundleDir is the bundle it
// belongs to (root.path and relative bind sources are resolved against it),
// or "" to skip the checks against the rootfs and the host.
func File(path string, bundleDir string) (*Report, error) { return Options{}.File(path, bundleDir) }

// File is File with o's checks.
func (o Options) File(path string, bundleDir string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		return o.Data(path, data, bundleDir), nil
	}
	r := &Report{File: path}
	fe := FieldError{File: path, Severity: SeverityError, Rule: ruleBundle}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fe.Problem = "no such file or directory"
		fe.Hint = "run `hako spec` in the bundle directory to write a default config.json, or pass the bundle with --bundle DIR"
		if bundleDir != "" {
			if _, derr := os.Stat(bundleDir); errors.Is(derr, fs.ErrNotExist) {
				fe.Problem = "the bundle directory " + bundleDir + " does not exist (no such file or directory)"
				fe.Hint = "check the --bundle path"
			}
		}
	case errors.Is(err, syscall.EISDIR):
		fe.Problem = "is a directory, not a configuration file"
		fe.Hint = "pass the bundle directory with --bundle DIR, or the path of its config.json"
	default:
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	r.Problems = append(r.Problems, fe)
	return r, nil
}

// Data validates configuration contents. name is the file name used in the
// problems; bundleDir is the bundle directory, or "" to skip the checks
// against the rootfs and the host. Data never panics, whatever data holds.
func Data(name string, data []byte, bundleDir string) *Report {
	return Options{}.Data(name, data, bundleDir)
}

// Data is Data with o's checks.
func (o Options) Data(name string, data []byte, bundleDir string) *Report {
	r := &Report{File: name}
	add := func(fe FieldError) {
		fe.File = name
		r.Problems = append(r.Problems, fe)
	}
	li := newLineIndex(data)
	root, serr := parseJSON(data, li)
	if serr != nil {
		line, col := li.lineCol(serr.off)
		add(FieldError{Line: line, Col: col, Path: serr.path, Problem: serr.msg, Hint: serr.hint, Rule: ruleJSON, Severity: SeverityError})
		return r
	}
	w := newWalker(li, add, data)
	w.misnamed = map[string]string{}
	var s specs.Spec
	w.walk(root, specType, reflect.ValueOf(&s).Elem(), "")
	if w.fallback {
		s = specs.Spec{}
		if err := json.Unmarshal(data, &s); err != nil {
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &se):
				// Our parser accepted what encoding/json rejects: report
				// it plainly rather than validate a half-read spec.
				line, col := li.lineCol(int(se.Offset) - 1)
				add(FieldError{Line: line, Col: col, Problem: "invalid JSON: " + se.Error(), Rule: ruleJSON, Severity: SeverityError})
				r.sortProblems()
				return r
			case errors.As(err, &te) && len(w.typeErr) > 0:
				// Already reported, with a better message, by the type walk.
			default:
				add(FieldError{Problem: "cannot decode the configuration: " + err.Error(), Rule: ruleConfig, Severity: SeverityError})
			}
		}
	}
	r.Spec, r.Config = &s, data
	for _, p := range w.typeErr {
		if p == "" {
			r.sortProblems()
			return r // not an object at all: nothing more to say
		}
	}

	c := newChecker(&s, bundleDir, w, o)
	c.run()
	for _, p := range c.probs {
		if suppressed(p.Path, w.typeErr) || dependsOnTypeError(p.deps, w.typeErr) {
			continue
		}
		p.Line, p.Col = li.lineCol(w.offsetOf(p.Path, p.atKey))
		add(p.FieldError)
	}
	r.sortProblems()
	return r
}

// Decode decodes a configuration exactly as encoding/json.Unmarshal into
// specs.Spec does (FuzzData holds the two to the same result), but without
// encoding/json's cold start: the first decode of the spec's types in a
// process costs encoding/json about a millisecond of reflection, and every
// runtime command is a new process. A document that is not valid JSON, or
// holds a value of the wrong type, gets encoding/json's error.
func Decode(data []byte) (*specs.Spec, error) {
	li := newLineIndex(data)
	root, serr := parseJSON(data, li)
	if serr == nil {
		w := newWalker(li, func(FieldError) {}, data)
		var s specs.Spec
		w.walk(root, specType, reflect.ValueOf(&s).Elem(), "")
		if !w.fallback && len(w.typeErr) == 0 {
			return &s, nil
		}
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// newWalker sizes the walker's maps for data up front: a config.json of a
// few KB has a couple of hundred values, and growing the maps on the way
// was a tenth of the time of a check.
func newWalker(li *lineIndex, add func(FieldError), data []byte) *walker {
	n := len(data)/24 + 16
	return &walker{li: li, add: add, valOff: make(map[string]int, n), keyOff: make(map[string]int, n), nulls: map[string]bool{}}
}

// suppressed reports whether a semantic problem concerns a value that
// already has a type error (the decoder dropped it, so the semantic check
// saw a zero value).
func suppressed(path string, typeErr []string) bool {
	for _, te := range typeErr {
		if within(path, te) || (path != "" && within(te, path)) {
			return true
		}
	}
	return false
}

func dependsOnTypeError(deps, typeErr []string) bool {
	for _, d := range deps {
		for _, te := range typeErr {
			if within(te, d) {
				return true
			}
		}
	}
	return false
}

// offsetOf finds where path is written, or where its nearest written
// ancestor is.
func (w *walker) offsetOf(path string, atKey bool) int {
	for {
		if atKey {
			if off, ok := w.keyOff[path]; ok {
				return off
			}
		}
		if off, ok := w.valOff[path]; ok {
			return off
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}
