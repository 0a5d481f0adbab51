package hooks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func script(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "hook.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHookGetsStateOnStdin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	p := script(t, "cat > "+out+"; echo \"$1 $FOO\" >> "+out)
	err := Run("poststart", []specs.Hook{{Path: p, Args: []string{p, "arg1"}, Env: []string{"FOO=bar"}}}, []byte(`{"id":"c1"}`))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if string(got) != "{\"id\":\"c1\"}arg1 bar\n" {
		t.Fatalf("hook saw %q", got)
	}
}

func TestHookFailureNamesStageIndexAndOutput(t *testing.T) {
	ok := script(t, "exit 0")
	bad := script(t, "echo oops >&2; exit 3")
	err := Run("createRuntime", []specs.Hook{{Path: ok}, {Path: bad}}, nil)
	var he *Error
	if !errors.As(err, &he) || he.Index != 1 || !strings.Contains(err.Error(), "hooks.createRuntime[1]") || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("got %v", err)
	}
}

func TestHookTimeout(t *testing.T) {
	one := 1
	p := script(t, "exec sleep 30")
	err := Run("prestart", []specs.Hook{{Path: p, Timeout: &one}}, nil)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %v", err)
	}
}

func TestMissingHook(t *testing.T) {
	err := Run("poststop", []specs.Hook{{Path: "/nonexistent/hook"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("got %v", err)
	}
}
