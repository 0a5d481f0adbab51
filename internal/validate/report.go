package validate

import (
	"errors"
	"fmt"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"sort"
	"strings"
)

// Severity says whether a problem stops the container (error) or is only
// worth knowing (warning).
type Severity string

// The two severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// FieldError is one problem in a configuration file.
type FieldError struct {
	File     string   `json:"file"`
	Line     int      `json:"line,omitempty"` // 1-based; 0 when unknown
	Col      int      `json:"col,omitempty"`  // 1-based, in characters (a tab is one column)
	Path     string   `json:"path,omitempty"` // JSON path of the field, e.g. process.args[0]
	Problem  string   `json:"problem"`
	Hint     string   `json:"hint,omitempty"`
	Rule     string   `json:"rule,omitempty"` // where the rule comes from, e.g. config.md#configProcess
	Severity Severity `json:"severity"`
}

// String renders the problem like a compiler diagnostic:
//
//	config.json:12:5: process.args[0]: "shh": executable file not found in $PATH (…) — hint: … [config.md#configProcess]
//
// Warnings carry "warning: " after the position.
func (e FieldError) String() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	if e.Hint != "" {
		b.WriteString(" — hint: ")
		b.WriteString(e.Hint)
	}
	if e.Rule != "" {
		b.WriteString(" [")
		b.WriteString(e.Rule)
		b.WriteString("]")
	}
	return b.String()
}

// Error makes a FieldError usable as an error.
func (e FieldError) Error() string { return e.String() }

// Report is every problem found in one configuration file, in file order.
type Report struct {
	File     string       `json:"file"`
	Problems []FieldError `json:"problems"`
	// Spec is the configuration as encoding/json would decode it, and
	// Config the bytes it was decoded from; both are nil when the file
	// could not be read or parsed. Runtimes use them once Err is nil,
	// rather than reading and decoding the file again.
	Spec   *specs.Spec `json:"-"`
	Config []byte      `json:"-"`
}

// Errors returns the problems of severity error.
func (r *Report) Errors() []FieldError { return r.filter(SeverityError) }

// Warnings returns the problems of severity warning.
func (r *Report) Warnings() []FieldError { return r.filter(SeverityWarning) }

func (r *Report) filter(s Severity) []FieldError {
	var out []FieldError
	for _, p := range r.Problems {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// OK reports whether the configuration has no errors (warnings allowed).
func (r *Report) OK() bool { return len(r.Errors()) == 0 }

// Err returns nil when the report is OK, and otherwise an error whose
// message is every error, one per line, in file order. create and run
// return it to refuse a configuration with the same words `hako validate`
// prints.
func (r *Report) Err() error {
	errs := r.Errors()
	if len(errs) == 0 {
		return nil
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}

// Summary is one line: "config.json: valid", "config.json: valid, 1 warning",
// or "config.json: 2 errors, 1 warning".
func (r *Report) Summary() string {
	ne, nw := len(r.Errors()), len(r.Warnings())
	var parts []string
	if ne == 0 {
		parts = append(parts, "valid")
	} else {
		parts = append(parts, plural(ne, "error"))
	}
	if nw > 0 {
		parts = append(parts, plural(nw, "warning"))
	}
	return r.File + ": " + strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// sortProblems orders problems by position, errors before warnings at the
// same position, keeping the order of discovery otherwise.
func (r *Report) sortProblems() {
	sort.SliceStable(r.Problems, func(i, j int) bool {
		a, b := r.Problems[i], r.Problems[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Severity == SeverityError && b.Severity == SeverityWarning
	})
}
