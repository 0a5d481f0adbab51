package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-dev/hako/internal/testutil"
)

// containerd drives hako exactly as it drives runc: its runc shim (v2) is
// told to use hako as the runc binary. This is the real client contract:
// create with a console/pid file and --log JSON, start, state, exec with
// --process, ps, pause, resume, kill, delete. The runner reaches hako
// through containerd's environment, which the shim inherits and passes on
// to every runtime command it runs.
func TestContainerdDrivesHako(t *testing.T) { forRunners(t, testContainerdDrivesHako) }

func testContainerdDrivesHako(t *testing.T, e *env) {
	for _, bin := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (apt-get install containerd)", bin)
		}
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "containerd.sock")
	cfg := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\n[grpc]\n  address = %q\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  disable_tcp_service = true\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)
	os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644)
	var dlog bytes.Buffer
	daemon := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	daemon.Env = append(os.Environ(), "HAKO_INIT="+e.runner)
	daemon.Stdout, daemon.Stderr = &dlog, &dlog
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Kill()
		daemon.Wait()
		if t.Failed() {
			t.Logf("containerd log:\n%s", dlog.String())
		}
	})
	ctr := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "ctr", append([]string{"-a", sock}, args...)...).CombinedOutput()
		return string(out), err
	}
	// Wait until the daemon answers (it is ready when its socket serves).
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := ctr("version"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not come up:\n%s", dlog.String())
		}
		waitAny(daemon)
	}
	rootfs := testutil.BusyboxRootfs(t)
	hako := e.bin
	root := filepath.Join(dir, "hako-root")

	out, err := ctr("run", "--rm", "--runc-binary", hako, "--runc-root", root, "--rootfs", rootfs, "once", "sh", "-c", "echo hello from containerd; echo pid $$")
	if err != nil || !strings.Contains(out, "hello from containerd") || !strings.Contains(out, "pid 1") {
		t.Fatalf("ctr run: %v\n%s", err, out)
	}
	out, err = ctr("run", "--rm", "--runc-binary", hako, "--runc-root", root, "--rootfs", rootfs, "bad", "no-such-program")
	if err == nil || !strings.Contains(out, "executable file not found in $PATH") {
		t.Errorf("containerd shows hako's error: %v\n%s", err, out)
	}

	if out, err := ctr("run", "-d", "--runc-binary", hako, "--runc-root", root, "--rootfs", rootfs, "long", "sleep", "1000"); err != nil {
		t.Fatalf("ctr run -d: %v\n%s", err, out)
	}
	defer ctr("container", "rm", "long")
	if out, err := ctr("task", "exec", "--exec-id", "e1", "long", "sh", "-c", "echo exec-ok; ps -o comm"); err != nil || !strings.Contains(out, "exec-ok") || !strings.Contains(out, "sleep") {
		t.Errorf("ctr task exec: %v\n%s", err, out)
	}
	if out, err := ctr("task", "ps", "long"); err != nil || len(strings.Split(strings.TrimSpace(out), "\n")) < 2 {
		t.Errorf("ctr task ps: %v\n%s", err, out)
	}
	if out, err := ctr("task", "pause", "long"); err != nil {
		t.Errorf("ctr task pause: %v\n%s", err, out)
	}
	if out, _ := ctr("task", "ls"); !strings.Contains(out, "PAUSED") {
		t.Errorf("after pause:\n%s", out)
	}
	if out, err := ctr("task", "resume", "long"); err != nil {
		t.Errorf("ctr task resume: %v\n%s", err, out)
	}
	if out, err := ctr("task", "kill", "-s", "KILL", "long"); err != nil {
		t.Errorf("ctr task kill: %v\n%s", err, out)
	}
	for {
		out, _ := ctr("task", "ls")
		if !strings.Contains(out, "RUNNING") {
			break
		}
		waitAny(daemon)
	}
	if out, err := ctr("task", "rm", "long"); err != nil {
		t.Errorf("ctr task rm: %v\n%s", err, out)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "default")); len(ents) != 0 {
		t.Errorf("hako state left behind: %v", ents)
	}
}
