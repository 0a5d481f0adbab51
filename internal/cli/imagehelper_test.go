package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/cli/cliroot"
)

// This test binary plays both programs: run with HAKO_CLI_TEST_AS_HAKO=1 it
// is hako (Execute), and started as argv[0] "hako-image" it is a fake helper
// that prints its argv as JSON and exits 42.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == cliroot.ImageHelper {
		json.NewEncoder(os.Stdout).Encode(os.Args)
		os.Exit(42)
	}
	if os.Getenv("HAKO_CLI_TEST_AS_HAKO") == "1" {
		os.Exit(Execute())
	}
	os.Exit(m.Run())
}

// runAsHako runs this test binary as hako with args and extra env.
func runAsHako(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(append(os.Environ(), "HAKO_CLI_TEST_AS_HAKO=1"), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestImageVerbsExecHelperWithArgvUnchanged(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--root", "/r", "--log-format", "json", "pull", "-q", "--platform", "linux/arm64", "ref", "--", "x"},
		{"bundle", "--rootless", "--help", "a", "b"},
		{"--debug", "help", "rmi"},
		{"images"},
		{"import", "--log", "/tmp/l", "f.tar"},
	} {
		stdout, stderr, code := runAsHako(t, []string{cliroot.ImageHelperEnv + "=" + self}, args...)
		var argv []string
		if err := json.Unmarshal([]byte(stdout), &argv); err != nil {
			t.Fatalf("hako %v: the helper did not run (exit %d): %v\nstdout: %s\nstderr: %s", args, code, err, stdout, stderr)
		}
		want := append([]string{cliroot.ImageHelper}, args...)
		if !slices.Equal(argv, want) || code != 42 {
			t.Errorf("hako %v: the helper got argv %q and exit %d, want %q and its exit status 42", args, argv, code, want)
		}
	}
}

func TestImageHelperNotFound(t *testing.T) {
	env := []string{cliroot.ImageHelperEnv + "=", "PATH=" + t.TempDir()}
	_, stderr, code := runAsHako(t, env, "--root", "/r", "pull", "alpine")
	if code != 1 || !strings.Contains(stderr, "hako-image, which was not found") || !strings.Contains(stderr, "make build") {
		t.Errorf("pull without a helper: exit %d, stderr %q; want 1 and where it looked and how to build it", code, stderr)
	}
	// Help still shows the verb's usage, and says what is missing.
	stdout, stderr, code := runAsHako(t, env, "bundle", "--help")
	if code != 1 || !strings.Contains(stdout, "hako bundle [flags] REF DIR") || !strings.Contains(stderr, "make build") {
		t.Errorf("bundle --help without a helper: exit %d\nstdout %q\nstderr %q", code, stdout, stderr)
	}
}

func TestFindImageHelper(t *testing.T) {
	dir := t.TempDir()
	inPath := filepath.Join(dir, cliroot.ImageHelper)
	os.WriteFile(inPath, []byte("#!/bin/sh\n"), 0o755)
	notExec := filepath.Join(dir, "plain")
	os.WriteFile(notExec, nil, 0o644)

	t.Setenv("PATH", dir)
	t.Setenv(cliroot.ImageHelperEnv, "")
	if p, err := findImageHelper(); err != nil || p != inPath {
		t.Errorf("found %q, %v; want %s from $PATH", p, err, inPath)
	}
	t.Setenv(cliroot.ImageHelperEnv, notExec)
	if _, err := findImageHelper(); err == nil || !strings.Contains(err.Error(), notExec+" is not executable") {
		t.Errorf("$%s naming a plain file: %v", cliroot.ImageHelperEnv, err)
	}
	t.Setenv(cliroot.ImageHelperEnv, filepath.Join(dir, "missing"))
	if _, err := findImageHelper(); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("$%s naming nothing (must not fall back to $PATH): %v", cliroot.ImageHelperEnv, err)
	}
}

func TestImageVerbsListed(t *testing.T) {
	root := NewRoot()
	for _, v := range cliroot.ImageVerbs {
		c, _, err := root.Find([]string{v.Name})
		if err != nil || c.Name() != v.Name || !c.DisableFlagParsing || c.Short != v.Short {
			t.Errorf("hako %s is not listed as a helper verb: %v", v.Name, err)
		}
	}
}
