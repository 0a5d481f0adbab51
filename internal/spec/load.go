package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the file name of the runtime configuration in a bundle.
const ConfigName = "config.json"

// LoadError is a config.json that could not be read or decoded. Error()
// prints "FILE:LINE:COL: FIELD: problem — hint: ..." like a compiler does.
type LoadError struct {
	File  string
	Line  int // 1-based; 0 when unknown
	Col   int // 1-based; 0 when unknown
	Field string
	Msg   string
	Hint  string
	Err   error
}

func (e *LoadError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d:%d", e.Line, e.Col)
	}
	s += ": "
	if e.Field != "" {
		s += e.Field + ": "
	}
	s += e.Msg
	if e.Hint != "" {
		s += " — hint: " + e.Hint
	}
	return s
}

func (e *LoadError) Unwrap() error { return e.Err }

// LineCol converts a byte offset in data into a 1-based line and column.
func LineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	pre := data[:offset]
	line = bytes.Count(pre, []byte{'\n'}) + 1
	col = int(offset) - (bytes.LastIndexByte(pre, '\n') + 1) + 1
	return line, col
}

// LoadBundle reads DIR/config.json.
func LoadBundle(bundle string) (*specs.Spec, error) {
	return Load(filepath.Join(bundle, ConfigName))
}

// Load reads and decodes a config.json.
func Load(path string) (*specs.Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		le := &LoadError{File: path, Msg: "cannot read the runtime configuration: " + errText(err), Err: err}
		if errors.Is(err, fs.ErrNotExist) {
			le.Msg = "no such file or directory"
			le.Hint = "run `hako spec` in the bundle directory to write a default config.json, or pass --bundle DIR"
		}
		return nil, le
	}
	return Parse(path, data)
}

// Parse decodes config.json contents; name is used in errors.
func Parse(name string, data []byte) (*specs.Spec, error) {
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, decodeError(name, data, err)
	}
	return &s, nil
}

func decodeError(name string, data []byte, err error) error {
	le := &LoadError{File: name, Err: err}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off := se.Offset
		if off > 0 {
			off-- // Offset counts the byte that failed
		}
		le.Line, le.Col = LineCol(data, off)
		le.Msg = "invalid JSON: " + se.Error()
		le.Hint = "check for a missing comma or quote, or a trailing comma, just before this position"
		if bytes.TrimSpace(data) == nil || len(bytes.TrimSpace(data)) == 0 {
			le.Line, le.Col = 1, 1
			le.Msg = "the file is empty"
			le.Hint = "run `hako spec` to write a default config.json"
		}
	case errors.As(err, &te):
		off := te.Offset
		// Offset points after the offending value; walk back to its start.
		start := valueStart(data, off)
		le.Line, le.Col = LineCol(data, start)
		le.Field = te.Field
		le.Msg = fmt.Sprintf("expected %s, found JSON %s", goTypeWord(te.Type.String()), te.Value)
		le.Hint = "see the OCI runtime spec (config.md) for the type of this field"
	default:
		le.Msg = "invalid configuration: " + err.Error()
	}
	return le
}

// valueStart finds the start of the JSON value that ends at off.
func valueStart(data []byte, off int64) int64 {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	i := off - 1
	// skip back over the value token; strings, numbers, literals.
	if i >= 0 && data[i] == '"' {
		i--
		for i >= 0 && !(data[i] == '"' && (i == 0 || data[i-1] != '\\')) {
			i--
		}
		if i < 0 {
			return 0
		}
		return i
	}
	for i >= 0 && !bytes.ContainsRune([]byte(" \t\r\n:,[{"), rune(data[i])) {
		i--
	}
	return i + 1
}

func goTypeWord(t string) string {
	switch t {
	case "bool":
		return "a boolean (true or false)"
	case "string":
		return "a string"
	case "[]string":
		return "an array of strings"
	}
	if len(t) > 0 && (t[0] == 'u' || t[0] == 'i') {
		return "a number (" + t + ")"
	}
	if len(t) > 2 && t[:2] == "[]" {
		return "an array"
	}
	return "an object (" + t + ")"
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// HasNamespace reports whether s asks for a namespace of type t (new or
// joined by path).
func HasNamespace(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	if s.Linux == nil {
		return false
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return true
		}
	}
	return false
}
