package validate

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checker runs the semantic rules on a decoded spec. Problems carry only a
// path; Data turns the path into a line and column.
type checker struct {
	s      *specs.Spec
	bundle string // "" skips the checks against the rootfs and the host
	rootfs string // host path of the root filesystem, once known to be a directory
	w      *walker
	opts   Options
	probs  []checkProblem
}

type checkProblem struct {
	FieldError
	atKey bool     // point at the member name rather than the value
	deps  []string // fields the verdict depends on: a type error there voids it
}

func newChecker(s *specs.Spec, bundle string, w *walker, o Options) *checker {
	return &checker{s: s, bundle: bundle, w: w, opts: o}
}

func (c *checker) run() {
	c.checkVersion()
	c.checkRoot()
	c.checkProcess()
	c.checkMounts()
	c.checkHooks()
	c.checkTop()
	c.checkLinux()
	if c.s.Linux != nil {
		c.checkResources(c.s.Linux.Resources)
		c.checkSeccomp(c.s.Linux.Seccomp)
	}
	if c.bundle != "" {
		c.checkHost()
		if c.rootfs != "" {
			c.checkInRootfs()
		}
	}
}

func (c *checker) report(sev Severity, path, rule, msg, hint string) {
	c.probs = append(c.probs, checkProblem{FieldError: FieldError{Path: path, Problem: msg, Hint: hint, Rule: rule, Severity: sev}})
}

// nsErrorf and nsWarnf report a problem that follows from what
// linux.namespaces holds (or lacks).
func (c *checker) nsErrorf(path, rule, hint, format string, args ...any) {
	c.errorf(path, rule, hint, format, args...)
	c.probs[len(c.probs)-1].deps = []string{"linux.namespaces"}
}

func (c *checker) nsWarnf(path, rule, hint, format string, args ...any) {
	c.warnf(path, rule, hint, format, args...)
	c.probs[len(c.probs)-1].deps = []string{"linux.namespaces"}
}

func (c *checker) errorf(path, rule, hint, format string, args ...any) {
	c.report(SeverityError, path, rule, fmt.Sprintf(format, args...), hint)
}

func (c *checker) warnf(path, rule, hint, format string, args ...any) {
	c.report(SeverityWarning, path, rule, fmt.Sprintf(format, args...), hint)
}

// given reports whether the field at path is written in the file with a
// value other than null.
func (c *checker) given(path string) bool {
	_, ok := c.w.valOff[path]
	return ok && !c.w.nulls[path]
}

// namespace returns the entry of type t in linux.namespaces and its index.
func (c *checker) namespace(t specs.LinuxNamespaceType) (specs.LinuxNamespace, int, bool) {
	if c.s.Linux == nil {
		return specs.LinuxNamespace{}, -1, false
	}
	for i, ns := range c.s.Linux.Namespaces {
		if ns.Type == t {
			return ns, i, true
		}
	}
	return specs.LinuxNamespace{}, -1, false
}

func (c *checker) hasNamespace(t specs.LinuxNamespaceType) bool {
	_, _, ok := c.namespace(t)
	return ok
}

// nsHint tells how to add a namespace, or that linux.namespaces is
// misspelled.
func (c *checker) nsHint(t specs.LinuxNamespaceType) string {
	if bad, ok := c.w.misnamed["linux.namespaces"]; ok && !c.given("linux.namespaces") {
		return fmt.Sprintf("%s is probably meant to be linux.namespaces: runtimes ignore the misspelled field, so the container gets no namespaces at all", bad)
	}
	return fmt.Sprintf("add {\"type\": %q} to linux.namespaces", string(t))
}

// checkEnv checks KEY=VALUE entries of an environment list.
func (c *checker) checkEnv(path string, env []string, rule string) {
	seen := map[string]int{}
	for i, e := range env {
		p := indexPath(path, i)
		key, _, ok := strings.Cut(e, "=")
		switch {
		case !ok:
			c.errorf(p, rule, fmt.Sprintf("write %q to set an empty value, or %q", e+"=", e+"=VALUE"), "%q is not of the form KEY=VALUE", e)
			continue
		case key == "":
			c.errorf(p, rule, "write the variable's name before the '='", "%q has an empty variable name", e)
			continue
		case strings.ContainsAny(key, " \t\n"):
			c.warnf(p, rule, "variable names are usually letters, digits and '_'", "the variable name %q contains white space", key)
		}
		if j, dup := seen[key]; dup {
			c.warnf(p, rule, "keep only one of them", "%s is also set by %s; the later entry wins", key, indexPath(path, j))
		}
		seen[key] = i
	}
}

// envValue returns the value of KEY in env (the last entry wins, as it does
// when a runtime sets them one after another).
func envValue(env []string, key string) (string, bool) {
	val, found := "", false
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

func isAbs(p string) bool { return strings.HasPrefix(p, "/") }
