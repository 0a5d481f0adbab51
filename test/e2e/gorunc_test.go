package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	runc "github.com/containerd/go-runc"
	"golang.org/x/sys/unix"
)

// goRunc is hako driven by containerd's client library, as containerd's
// shim drives runc.
func (e *env) goRunc() (*runc.Runc, string) {
	runc.Monitor = waitLaterMonitor{}
	logFile := filepath.Join(e.t.TempDir(), "log.json")
	return &runc.Runc{Command: e.bin, Root: e.root, Log: logFile, LogFormat: runc.JSON}, logFile
}

// runcContext is the context to pass go-runc's calls: every hako they
// start gets HAKO_INIT as the env's runner asks (go-runc adds the
// context's extra environment to each command it runs).
func (e *env) runcContext() context.Context {
	return runc.WithExtraEnv(context.Background(), "HAKO_INIT="+e.runner)
}

// lastLogError is what containerd shows its user when the runtime fails:
// the msg of the last error line of the JSON log.
func lastLogError(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reading the runtime log: %v", err)
	}
	defer f.Close()
	var msg string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l struct{ Level, Msg, Time string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		if l.Time == "" {
			t.Errorf("log line without time: %q", sc.Text())
		}
		if l.Level == "error" {
			msg = l.Msg
		}
	}
	return msg
}

// The lifecycle containerd runs: create with pipes and a pid file, state,
// list, start, I/O, exit status through reaping, kill of a stopped
// container (containerd treats "container not running" as already
// exited), delete, and "does not exist" afterwards.
func TestGoRuncClient(t *testing.T) { forRunners(t, testGoRuncClient) }

func testGoRuncClient(t *testing.T, e *env) {
	ctx := e.runcContext()
	r, _ := e.goRunc()
	b := e.bundle([]string{"sh", "-c", "echo out; echo err >&2; read x; echo in:$x; exit 7"}, nil)
	pio, err := runc.NewPipeIO(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pio.Close()
	pidFile := filepath.Join(t.TempDir(), "pid")
	if err := r.Create(ctx, "gr", b, &runc.CreateOpts{IO: pio, PidFile: pidFile}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	pf, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(pf))
	c, err := r.State(ctx, "gr")
	if err != nil || c.Status != "created" || c.Pid != pid || c.Bundle != b || c.ID != "gr" {
		t.Fatalf("State after create: %+v, %v (pid file %d)", c, err, pid)
	}
	list, err := r.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "gr" || list[0].Status != "created" || list[0].Pid != pid {
		t.Fatalf("List: %+v, %v", list, err)
	}
	if err := r.Start(ctx, "gr"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	io.WriteString(pio.Stdin(), "hi\n")
	pio.Stdin().Close()
	errc := make(chan string, 1)
	go func() { b, _ := io.ReadAll(pio.Stderr()); errc <- string(b) }()
	out, _ := io.ReadAll(pio.Stdout())
	if string(out) != "out\nin:hi\n" {
		t.Errorf("stdout = %q", out)
	}
	if s := <-errc; s != "err\n" {
		t.Errorf("stderr = %q", s)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, 0, nil); err != nil || ws.ExitStatus() != 7 {
		t.Errorf("reaped init: status %v, %v; want exit 7", ws.ExitStatus(), err)
	}
	if c, err := r.State(ctx, "gr"); err != nil || c.Status != "stopped" {
		t.Errorf("State after exit: %+v, %v", c, err)
	}
	err = r.Kill(ctx, "gr", int(unix.SIGTERM), nil)
	if err == nil || !strings.Contains(err.Error(), "container not running") {
		t.Errorf("Kill of a stopped container: %v; containerd needs \"container not running\"", err)
	}
	if err := r.Delete(ctx, "gr", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for name, err := range map[string]error{
		"State":  func() error { _, err := r.State(ctx, "gr"); return err }(),
		"Kill":   r.Kill(ctx, "gr", int(unix.SIGKILL), nil),
		"Delete": r.Delete(ctx, "gr", nil),
	} {
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("%s of a deleted container: %v; containerd needs \"does not exist\"", name, err)
		}
	}
	if list, err := r.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after delete: %+v, %v", list, err)
	}
}

// Kill --all and delete --force through the client, and a failed create
// whose JSON log carries the error containerd will show.
func TestGoRuncKillAllAndFailures(t *testing.T) { forRunners(t, testGoRuncKillAllAndFailures) }

func testGoRuncKillAllAndFailures(t *testing.T, e *env) {
	ctx := e.runcContext()
	r, logFile := e.goRunc()
	b := e.bundle([]string{"sh", "-c", "sleep 1000 & wait"}, nil)
	nio, _ := runc.NewNullIO()
	if err := r.Create(ctx, "ka", b, &runc.CreateOpts{IO: nio}); err != nil {
		t.Fatal(err)
	}
	c, _ := r.State(ctx, "ka")
	if err := r.Start(ctx, "ka"); err != nil {
		t.Fatal(err)
	}
	// sh is PID 1 of its namespace and has no TERM handler, so TERM to
	// it alone does nothing; with --all the sleeps die and sh's wait ends.
	waitForChild(t, c.Pid)
	if err := r.Kill(ctx, "ka", int(unix.SIGTERM), &runc.KillOpts{All: true}); err != nil {
		t.Fatalf("Kill --all: %v", err)
	}
	reapWithin(t, c.Pid, 5000)
	if err := r.Delete(ctx, "ka", &runc.DeleteOpts{Force: true}); err != nil {
		t.Fatalf("Delete --force of a stopped container: %v", err)
	}

	bad := e.bundle([]string{"no-such-binary"}, nil)
	nio, _ = runc.NewNullIO()
	err := r.Create(ctx, "bad", bad, &runc.CreateOpts{IO: nio})
	if err == nil {
		t.Fatal("Create of a bundle without its executable succeeded")
	}
	if msg := lastLogError(t, logFile); !strings.Contains(msg, "executable file not found in $PATH") || !strings.Contains(msg, "no-such-binary") {
		t.Errorf("last error in the JSON log: %q", msg)
	}
	if list, _ := r.List(ctx); len(list) != 0 {
		t.Errorf("failed create left %+v", list)
	}
}

// waitLaterMonitor is go-runc's process monitor as containerd's shim has
// it: the command is waited for (exec.Cmd.Wait: reaped, its pipes closed)
// only when go-runc asks, after it has read the output. go-runc's default
// monitor waits in the background at once, so a command that exits before
// go-runc reads its stdout (`events --stats`, in Stats) has its pipe
// closed under the reader: "read |0: file already closed".
type waitLaterMonitor struct{}

func (waitLaterMonitor) Start(c *exec.Cmd) (chan runc.Exit, error) {
	if err := c.Start(); err != nil {
		return nil, err
	}
	return make(chan runc.Exit, 1), nil
}

func (m waitLaterMonitor) StartLocked(c *exec.Cmd) (chan runc.Exit, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return m.Start(c)
}

func (waitLaterMonitor) Wait(c *exec.Cmd, _ chan runc.Exit) (int, error) {
	err := c.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.ExitCode(), nil
	}
	return 255, err
}
