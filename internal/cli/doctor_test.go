package cli_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func TestDoctorBinary(t *testing.T) {
	out, _, code := runHako(t, "doctor")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	canRun := strings.HasPrefix(last, "a container can run here")
	if canRun != (code == 0) || (code != 0 && code != 1) {
		t.Errorf("exit %d with summary %q", code, last)
	}
	uname, err := exec.Command("uname", "-r").Output()
	if err == nil && !strings.Contains(out, "ok    kernel: Linux "+strings.TrimSpace(string(uname))+"\n") {
		t.Errorf("no kernel line for %s:\n%s", uname, out)
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "ok    ") && !strings.HasPrefix(l, "warn  ") && !strings.HasPrefix(l, "fail  ") {
			t.Errorf("line without a status: %q", l)
		}
	}

	jout, _, jcode := runHako(t, "doctor", "--format", "json")
	var doc struct {
		Checks []struct{ Name, Status, What, Hint string } `json:"checks"`
		CanRun bool                                        `json:"canRun"`
	}
	if err := json.Unmarshal([]byte(jout), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, jout)
	}
	if doc.CanRun != (jcode == 0) || len(doc.Checks) != len(lines)-1 {
		t.Errorf("json: canRun %v, exit %d, %d checks (text has %d)", doc.CanRun, jcode, len(doc.Checks), len(lines)-1)
	}
}
