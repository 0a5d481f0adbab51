package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hako-dev/hako/internal/seccomp"
)

// Status is the verdict of one check.
type Status string

// The three verdicts.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail" // a container cannot run here
)

// Check is one finding about the host.
type Check struct {
	Name   string `json:"name"`   // what was checked, e.g. "kernel", "namespace pid", "cgroup"
	Status Status `json:"status"` // ok, warn or fail
	What   string `json:"what"`   // what was found
	Hint   string `json:"hint,omitempty"`
}

// Report is the doctor's verdict on the host.
type Report struct {
	Checks []Check `json:"checks"`
	CanRun bool    `json:"canRun"` // no check failed
}

// Host is where the doctor looks; the zero value is not usable, use
// ThisHost. Tests point Proc and Sys at fake trees.
type Host struct {
	Proc     string // normally /proc
	Sys      string // normally /sys
	Euid     int
	LookPath func(string) (string, error)
	// Probe runs the live probes (pidfd_open, clone3, a user namespace).
	Probe bool
	// Libseccomp is the version of libseccomp in the hako-seccomp helper,
	// which compiles seccomp profiles, and where that helper is (nil: not
	// checked).
	Libseccomp func() (version, where string, err error)
}

// ThisHost is the machine the doctor runs on.
func ThisHost() Host {
	return Host{Proc: "/proc", Sys: "/sys", Euid: os.Geteuid(), LookPath: exec.LookPath, Probe: true,
		Libseccomp: libseccomp}
}

func libseccomp() (version, where string, err error) {
	var c seccomp.Compiler
	if where, err = c.Where(); err != nil {
		return "", "", err
	}
	version, err = c.LibraryVersion()
	return version, where, err
}

func (h Host) proc(p ...string) string { return filepath.Join(append([]string{h.Proc}, p...)...) }
func (h Host) sys(p ...string) string  { return filepath.Join(append([]string{h.Sys}, p...)...) }

// readTrim reads a small file and trims white space.
func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// Doctor examines the host.
func Doctor(h Host) *Report {
	r := &Report{}
	add := func(cs ...Check) { r.Checks = append(r.Checks, cs...) }
	add(h.checkUser()...)
	add(h.checkKernel())
	add(h.checkNamespaces()...)
	add(h.checkUserNamespaces())
	add(h.checkCgroups()...)
	add(h.checkOverlay())
	add(h.checkSeccomp()...)
	add(h.checkLSM())
	add(h.checkSyscalls()...)
	add(h.checkIDMapTools())
	r.CanRun = true
	for _, c := range r.Checks {
		if c.Status == Fail {
			r.CanRun = false
		}
	}
	return r
}

// Count returns how many checks have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Summary is the last line of the text output.
func (r *Report) Summary() string {
	if !r.CanRun {
		return fmt.Sprintf("a container cannot run here: %s, %s", plural(r.Count(Fail), "failed check"), plural(r.Count(Warn), "warning"))
	}
	if n := r.Count(Warn); n > 0 {
		return "a container can run here (" + plural(n, "warning") + ")"
	}
	return "a container can run here"
}

// WriteText prints one line per check, then the summary:
//
//	ok    kernel: Linux 6.1.0
//	warn  cgroup hugetlb: not bound to a v1 hierarchy — hint: …
func (r *Report) WriteText(w io.Writer) error {
	for _, c := range r.Checks {
		line := fmt.Sprintf("%-5s %s: %s", c.Status, c.Name, c.What)
		if c.Hint != "" {
			line += " — hint: " + c.Hint
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

// WriteJSON prints the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
