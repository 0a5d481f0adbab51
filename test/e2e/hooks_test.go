package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// logHook appends "STAGE STATE-JSON" to log; the shell is the host's for
// hooks that run in the runtime's namespace, the rootfs's otherwise.
func logHook(stage, log string) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `printf '%s %s\n' "$0" "$(cat)" >> "$1"`, stage, log}}
}

type hookLine struct {
	stage string
	state specs.State
}

func readHookLog(t *testing.T, path string) []hookLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []hookLine
	for _, l := range lines(string(b)) {
		stage, js, _ := strings.Cut(l, " ")
		var st specs.State
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			t.Errorf("hook %s got no state JSON on stdin: %q", stage, js)
		}
		out = append(out, hookLine{stage, st})
	}
	return out
}

func stages(hl []hookLine) string {
	var s []string
	for _, h := range hl {
		s = append(s, h.stage)
	}
	return strings.Join(s, " ")
}

// Every hook runs once, in order, with the state on stdin: createRuntime
// and createContainer during create, startContainer (inside the container)
// and poststart during start, poststop during delete.
func TestHooksRunInOrder(t *testing.T) { forRunners(t, testHooksRunInOrder) }

func testHooksRunInOrder(t *testing.T, e *env) {
	logDir := t.TempDir()
	hostLog := filepath.Join(logDir, "log")
	b := e.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/hooklog", Type: "bind", Source: logDir, Options: []string{"bind", "rw"}})
		s.Hooks = &specs.Hooks{
			CreateRuntime:   []specs.Hook{logHook("createRuntime", hostLog)},
			CreateContainer: []specs.Hook{logHook("createContainer", hostLog)},
			StartContainer:  []specs.Hook{logHook("startContainer", "/hooklog/log")},
			Poststart:       []specs.Hook{logHook("poststart", hostLog)},
			Poststop:        []specs.Hook{logHook("poststop", hostLog)},
		}
	})
	os.MkdirAll(filepath.Join(b, "rootfs", "hooklog"), 0o755)
	e.must("create", "--bundle", b, "hooks")
	pid := e.state("hooks").Pid
	if got := stages(readHookLog(t, hostLog)); got != "createRuntime createContainer" {
		t.Errorf("after create: hooks %q ran", got)
	}
	e.must("start", "hooks")
	reapWithin(t, pid, 5000)
	if got := stages(readHookLog(t, hostLog)); got != "createRuntime createContainer startContainer poststart" {
		t.Errorf("after start: hooks %q ran", got)
	}
	e.must("delete", "hooks")
	hl := readHookLog(t, hostLog)
	if got := stages(hl); got != "createRuntime createContainer startContainer poststart poststop" {
		t.Fatalf("after delete: hooks %q ran", got)
	}
	for _, h := range hl {
		if h.state.ID != "hooks" || h.state.Bundle != b || h.state.Version == "" {
			t.Errorf("%s: state %+v does not describe the container", h.stage, h.state)
		}
	}
	// runtime-spec, runtime.md: "created: the runtime has finished the
	// create operation (after step 2 in the lifecycle)"; the hooks of the
	// create operation come after step 2.
	want := map[string]specs.ContainerState{"createRuntime": "created", "createContainer": "created", "startContainer": "created",
		"poststart": "running", "poststop": "stopped"}
	for _, h := range hl {
		if w, ok := want[h.stage]; ok && h.state.Status != w {
			t.Errorf("%s: status %q, want %q", h.stage, h.state.Status, w)
		}
	}
	for _, i := range []int{0, 1, 2, 3} {
		if hl[i].state.Pid != pid {
			t.Errorf("%s got pid %d, want the init's %d", hl[i].stage, hl[i].state.Pid, pid)
		}
	}
}

// A failing createRuntime hook fails create with the hook named and its
// output, and leaves nothing behind; later hooks do not run.
func TestFailingCreateRuntimeHook(t *testing.T) { forRunners(t, testFailingCreateRuntimeHook) }

func testFailingCreateRuntimeHook(t *testing.T, e *env) {
	hostLog := filepath.Join(t.TempDir(), "log")
	b := e.bundle([]string{"true"}, func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{
			CreateRuntime: []specs.Hook{
				logHook("createRuntime", hostLog),
				{Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook says no >&2; exit 3"}},
			},
			CreateContainer: []specs.Hook{logHook("createContainer", hostLog)},
		}
	})
	before := mountinfo(t)
	r := e.run("create", "--bundle", b, "badhook")
	if r.code == 0 {
		t.Fatal("create succeeded with a failing createRuntime hook")
	}
	for _, w := range []string{"error running createRuntime hook #1", "createRuntime[1]", "hook says no"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("error lacks %q: %s", w, r.stderr)
		}
	}
	if got := stages(readHookLog(t, hostLog)); got != "createRuntime" {
		t.Errorf("hooks that ran: %q, want only the first createRuntime", got)
	}
	e.noLeftovers("badhook", before)
	if r := e.run("state", "badhook"); r.code == 0 {
		t.Errorf("state of the failed container: %s", r)
	}
}

// A failing poststart or poststop hook is a warning: the remaining hooks
// run, start and delete succeed (runtime-spec, lifecycle), and the
// warning names the hook in runc's words.
func TestFailingPoststartPoststopHooksWarn(t *testing.T) {
	forRunners(t, func(t *testing.T, e *env) {
		hostLog := filepath.Join(t.TempDir(), "log")
		fail := specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook says no >&2; exit 3"}}
		b := e.bundle([]string{"true"}, func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{
				Poststart: []specs.Hook{fail, logHook("poststart", hostLog)},
				Poststop:  []specs.Hook{fail, logHook("poststop", hostLog)},
			}
		})
		e.must("create", "--bundle", b, "warnhook")
		pid := e.state("warnhook").Pid
		r := e.run("start", "warnhook")
		if r.code != 0 || !strings.Contains(r.stderr, "error running poststart hook #0") || !strings.Contains(r.stderr, "hook says no") {
			t.Errorf("start with a failing poststart hook: %s (want success and a warning)", r)
		}
		reapWithin(t, pid, 5000)
		r = e.run("delete", "warnhook")
		if r.code != 0 || !strings.Contains(r.stderr, "error running poststop hook #0") {
			t.Errorf("delete with a failing poststop hook: %s (want success and a warning)", r)
		}
		if got := stages(readHookLog(t, hostLog)); got != "poststart poststop" {
			t.Errorf("hooks that ran after the failing ones: %q, want poststart poststop", got)
		}
	})
}

// A startContainer hook without env of its own gets the process's
// environment (HOME included); one with env gets that only. Compared with
// Debian's runc.
func TestStartContainerHookEnv(t *testing.T) { forRunners(t, testStartContainerHookEnv) }

func testStartContainerHookEnv(t *testing.T, e *env) {
	run := func(e *env, id string) (string, string) {
		t.Helper()
		b := e.bundle([]string{"true"}, func(s *specs.Spec) {
			s.Root.Readonly = false
			s.Process.Env = append(s.Process.Env, "ONE=two")
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{
				{Path: "/bin/sh", Args: []string{"sh", "-c", `echo "$ONE $HOME" > /inherited`}},
				{Path: "/bin/sh", Args: []string{"sh", "-c", `echo "$ONE $HOME $MINE" > /own`}, Env: []string{"MINE=yes"}},
			}}
		})
		os.MkdirAll(filepath.Join(b, "rootfs", "etc"), 0o755)
		if err := os.WriteFile(filepath.Join(b, "rootfs", "etc", "passwd"), []byte("root:x:0:0:root:/home/r00t:/bin/sh\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		e.must("run", "--bundle", b, id)
		read := func(name string) string {
			out, err := os.ReadFile(filepath.Join(b, "rootfs", name))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimSpace(string(out))
		}
		return read("inherited"), read("own")
	}
	inherited, own := run(e, "hookenv")
	if inherited != "two /home/r00t" || own != "yes" {
		t.Errorf("hook without env saw %q (want \"two /home/r00t\": the process's ONE and HOME), hook with env saw %q (want \"yes\")", inherited, own)
	}
	if r := e.runc(t); r != nil {
		if ri, ro := run(r, "hookenv"); ri != inherited || ro != own {
			t.Errorf("runc: %q and %q; hako: %q and %q", ri, ro, inherited, own)
		}
	}
}
