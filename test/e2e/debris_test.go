package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A create killed before it saved its state leaves a directory (and maybe
// a cgroup) without state.json. hako names it, refuses to reuse the id, and
// `delete --force` removes it all.
func TestInterruptedCreateDebris(t *testing.T) { forRunners(t, testInterruptedCreateDebris) }

func testInterruptedCreateDebris(t *testing.T, e *env) {
	id := "debris"
	os.MkdirAll(filepath.Join(e.root, id), 0o711)
	cg := filepath.Join("/sys/fs/cgroup/pids/hako", id)
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(cg)
	b := e.bundle([]string{"true"}, nil)
	if r := e.run("run", "--bundle", b, id); r.code == 0 || !strings.Contains(r.stderr, "delete --force "+id) {
		t.Fatalf("run over debris: %s", r)
	}
	if r := e.run("delete", id); r.code == 0 || !strings.Contains(r.stderr, "interrupted") {
		t.Fatalf("delete of debris without --force: %s", r)
	}
	e.must("delete", "--force", id)
	if _, err := os.Stat(filepath.Join(e.root, id)); err == nil {
		t.Errorf("debris directory still there")
	}
	if _, err := os.Stat(cg); err == nil {
		t.Errorf("debris cgroup still there")
	}
	if out := e.must("run", "--bundle", b, id); out != "" {
		t.Errorf("run after cleanup printed %q", out)
	}
}
