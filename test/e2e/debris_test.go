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

// state.json is renamed into place without an fsync, so a crash of the
// machine can leave it empty on a disk --root. hako lists such a container
// as stopped, says what happened when asked for its state, and delete
// removes it without --force: its processes ended with the machine.
func TestUnreadableStateIsDeleted(t *testing.T) {
	e := newEnv(t)
	id := "crashed"
	if err := os.MkdirAll(filepath.Join(e.root, id), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.root, id, "state.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if list := e.must("list"); !strings.Contains(list, id) || !strings.Contains(list, "stopped") {
		t.Errorf("list does not show the container as stopped:\n%s", list)
	}
	if r := e.run("state", id); r.code == 0 || !strings.Contains(r.stderr, "is empty") || !strings.Contains(r.stderr, "hako delete "+id) {
		t.Errorf("state of an empty state.json: %s", r)
	}
	if r := e.run("delete", id); r.code != 0 || strings.Contains(r.stderr, "panic") {
		t.Fatalf("delete of an empty state.json: %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.root, id)); err == nil {
		t.Errorf("state directory still there")
	}
	b := e.bundle([]string{"true"}, nil)
	e.must("run", "--bundle", b, id)
}

// A state.json torn while the container still runs (by hand: hako never
// writes one in place) does not let delete leave the processes behind:
// without --force it refuses while the container's cgroup holds them,
// with --force it kills them.
func TestUnreadableStateOfALiveContainer(t *testing.T) {
	e := newEnv(t)
	id := "torn"
	b := e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, id)
	pid := e.state(id).Pid
	path := filepath.Join(e.root, id, "state.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.run("delete", id); r.code == 0 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("delete without --force of a live container with a torn state: %s", r)
	}
	e.must("delete", "--force", id)
	waitReap(t, pid)
	if _, err := os.Stat(filepath.Join(e.root, id)); err == nil {
		t.Errorf("state directory still there")
	}
}
