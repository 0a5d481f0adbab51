package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hako-dev/hako/internal/testutil"
)

// makeValidateBundle writes a bundle whose config.json is the corpus file name
// (relative to internal/validate/testdata) and whose rootfs holds /bin/sh.
func makeValidateBundle(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "validate", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rootfs", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rootfs", "bin", "sh"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runHako(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(testutil.HakoBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestValidateExitCodes(t *testing.T) {
	valid := makeValidateBundle(t, "valid/base.json")
	out, _, code := runHako(t, "validate", "--bundle", valid)
	if code != 0 || !strings.HasSuffix(out, "config.json: valid\n") {
		t.Errorf("valid bundle: exit %d, output:\n%s", code, out)
	}

	typo := makeValidateBundle(t, "broken/60-args0-not-in-path.json")
	out, _, code = runHako(t, "validate", "-b", typo)
	if code != 1 {
		t.Errorf("broken bundle: exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 ||
		!strings.HasPrefix(lines[0], filepath.Join(typo, "config.json")+`:9:12: process.args[0]: "shh": executable file not found in $PATH`) ||
		lines[1] != filepath.Join(typo, "config.json")+": 1 error" {
		t.Errorf("broken bundle output:\n%s", out)
	}

	// FILE form: the file's directory is the bundle.
	_, _, code = runHako(t, "validate", filepath.Join(typo, "config.json"))
	if code != 1 {
		t.Errorf("validate FILE: exit %d, want 1", code)
	}

	// Warnings alone exit 0.
	warn := makeValidateBundle(t, "broken/44-capability-unknown.json")
	out, _, code = runHako(t, "validate", "--bundle", warn)
	if code != 0 || !strings.Contains(out, "warning: process.capabilities.bounding[0]") || !strings.HasSuffix(out, "valid, 1 warning\n") {
		t.Errorf("warnings only: exit %d, output:\n%s", code, out)
	}

	// A bundle without config.json is a problem, with a hint.
	out, _, code = runHako(t, "validate", "--bundle", t.TempDir())
	if code != 1 || !strings.Contains(out, "no such file or directory — hint:") {
		t.Errorf("empty bundle: exit %d, output:\n%s", code, out)
	}

	// Misuse is reported on stderr.
	_, stderr, code := runHako(t, "validate", "--bundle", valid, "x.json")
	if code != 1 || !strings.Contains(stderr, "not both") {
		t.Errorf("--bundle and FILE: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestValidateJSON(t *testing.T) {
	dir := makeValidateBundle(t, "broken/23-cwd-relative.json")
	out, _, code := runHako(t, "validate", "--bundle", dir, "--format", "json")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var doc struct {
		File     string `json:"file"`
		Valid    bool   `json:"valid"`
		Errors   int    `json:"errors"`
		Warnings int    `json:"warnings"`
		Problems []struct {
			File, Path, Problem, Hint, Rule, Severity string
			Line, Col                                 int
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if doc.Valid || doc.Errors != 1 || len(doc.Problems) != 1 {
		t.Fatalf("unexpected document: %+v", doc)
	}
	p := doc.Problems[0]
	if p.Path != "process.cwd" || p.Line != 14 || p.Col != 10 || p.Severity != "error" || p.Rule != "config.md#configProcess" || p.Hint != `write "/app"` {
		t.Errorf("unexpected problem: %+v", p)
	}

	valid := makeValidateBundle(t, "valid/base.json")
	out, _, code = runHako(t, "validate", "--bundle", valid, "--format", "json")
	if code != 0 || !strings.Contains(out, `"valid": true`) || !strings.Contains(out, `"problems": []`) {
		t.Errorf("valid bundle as JSON: exit %d\n%s", code, out)
	}
}
