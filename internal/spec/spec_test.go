package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSyntaxErrorHasLineAndColumn(t *testing.T) {
	data := []byte("{\n  \"ociVersion\": \"1.0.2\",\n  \"process\": {\n    \"args\": [\"sh\",]\n  }\n}\n")
	_, err := Parse("config.json", data)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("want *LoadError, got %v", err)
	}
	if le.Line != 4 {
		t.Fatalf("line = %d, want 4 (%v)", le.Line, err)
	}
	if !strings.HasPrefix(err.Error(), "config.json:4:") {
		t.Fatalf("message %q does not start with file:line", err)
	}
}

func TestParseTypeErrorNamesField(t *testing.T) {
	data := []byte("{\n  \"process\": {\n    \"terminal\": \"yes\"\n  }\n}")
	_, err := Parse("config.json", data)
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("want *LoadError, got %v", err)
	}
	if le.Field != "process.terminal" || le.Line != 3 || le.Col != 17 {
		t.Fatalf("got field %q at %d:%d, want process.terminal at 3:17 (%v)", le.Field, le.Line, le.Col, err)
	}
}

func TestLoadMissingFileHints(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "config.json"))
	if err == nil || !strings.Contains(err.Error(), "hako spec") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("want a hint to run hako spec, got %v", err)
	}
}

func TestDefaultRoundTripsAndMatchesRunc(t *testing.T) {
	s := Default()
	if s.Process.Capabilities.Inheritable != nil || s.Process.Capabilities.Ambient != nil {
		t.Fatal("default must have no inheritable or ambient capabilities")
	}
	if len(s.Process.Capabilities.Bounding) != 3 {
		t.Fatalf("bounding = %v", s.Process.Capabilities.Bounding)
	}
	p := filepath.Join(t.TempDir(), "config.json")
	if err := Write(p, s); err != nil {
		t.Fatal(err)
	}
	back, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Mounts) != len(s.Mounts) || back.Linux.Namespaces[0].Type != specs.PIDNamespace {
		t.Fatalf("round trip lost data: %+v", back)
	}
}

func TestToRootless(t *testing.T) {
	s := Default()
	ToRootless(s, 1000, 1000)
	var haveUser, haveNet bool
	for _, n := range s.Linux.Namespaces {
		haveUser = haveUser || n.Type == specs.UserNamespace
		haveNet = haveNet || n.Type == specs.NetworkNamespace
	}
	if !haveUser || haveNet {
		t.Fatalf("namespaces = %v", s.Linux.Namespaces)
	}
	if s.Linux.UIDMappings[0].HostID != 1000 || s.Linux.Resources != nil {
		t.Fatalf("mappings/resources wrong: %+v", s.Linux)
	}
	for _, m := range s.Mounts {
		for _, o := range m.Options {
			if strings.HasPrefix(o, "gid=") {
				t.Fatalf("mount %s keeps %s", m.Destination, o)
			}
		}
		if m.Destination == "/sys" && m.Type != "none" {
			t.Fatalf("/sys should be a bind mount, got %+v", m)
		}
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(p, []byte("{}"), 0o644)
	if err := WriteNew(p, Default()); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("want an 'exists' error, got %v", err)
	}
}
