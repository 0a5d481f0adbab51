package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/console"
	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ttyScript prints the terminal, its size, then echoes one line of input.
const ttyScript = `tty; stty size; read line; echo "got:$line"`

func terminalBundle(e *env) string {
	return e.bundle([]string{"sh", "-c", ttyScript}, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 37, Width: 101}
	})
}

// receiveMaster listens on a console socket as containerd does and returns
// the socket and a channel delivering the pty master hako sends.
func receiveMaster(t *testing.T) (*runc.Socket, <-chan console.Console) {
	t.Helper()
	sock, err := runc.NewTempConsoleSocket()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Close() })
	ch := make(chan console.Console, 1)
	go func() {
		m, err := sock.ReceiveMaster()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("receiving the pty master: %v", err)
			}
			close(ch)
			return
		}
		ch <- m
	}()
	return sock, ch
}

// converse reads everything the container writes to the pty until it
// closes, after writing input once the prompt (the size line) appeared.
// When the prompt has not come after 10 seconds (a wrong size, say), the
// input is written anyway: the script, blocked in read, then ends and
// closes the pty, so the test reports what it printed instead of hanging
// in a read of the master, which no deadline interrupts.
func converse(t *testing.T, master console.Console, input string) string {
	t.Helper()
	var out bytes.Buffer
	buf := make([]byte, 4096)
	var once sync.Once
	send := func() (err error) {
		once.Do(func() { _, err = master.Write([]byte(input + "\n")) })
		return err
	}
	unprompted := time.AfterFunc(10*time.Second, func() {
		if err := send(); err != nil {
			t.Errorf("writing to the pty master without a prompt: %v", err)
		}
	})
	defer unprompted.Stop()
	sent := false
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, err := master.Read(buf)
		out.Write(buf[:n])
		if !sent && strings.Contains(out.String(), "37 101") {
			if err := send(); err != nil {
				t.Fatalf("writing to the pty master: %v", err)
			}
			sent = true
		}
		if err != nil {
			if !errors.Is(err, syscall.EIO) && !errors.Is(err, io.EOF) {
				t.Errorf("reading the pty master: %v", err)
			}
			break
		}
	}
	return out.String()
}

func checkTTYOutput(t *testing.T, out, input string) {
	t.Helper()
	if !strings.Contains(out, "/dev/pts/") {
		t.Errorf("tty did not name a pty: %q", out)
	}
	if !strings.Contains(out, "37 101") {
		t.Errorf("stty size is not process.consoleSize 37x101: %q", out)
	}
	if !strings.Contains(out, "got:"+input+"\r\n") {
		t.Errorf("input did not flow through the pty (want got:%s with CRLF): %q", input, out)
	}
}

// create --console-socket sends the pty master over SCM_RIGHTS, as
// containerd expects; the process sees a tty of the configured size and
// its I/O flows through the master.
func TestConsoleSocketCreate(t *testing.T) { forRunners(t, testConsoleSocketCreate) }

func testConsoleSocketCreate(t *testing.T, e *env) {
	b := terminalBundle(e)
	sock, ch := receiveMaster(t)
	e.must("create", "--bundle", b, "--console-socket", sock.Path(), "ctty")
	master := <-ch
	if master == nil {
		t.FailNow()
	}
	defer master.Close()
	if ws, err := master.Size(); err != nil || ws.Height != 37 || ws.Width != 101 {
		t.Errorf("pty size on the master = %+v, %v; want 37x101", ws, err)
	}
	pid := e.state("ctty").Pid
	e.must("start", "ctty")
	checkTTYOutput(t, converse(t, master, "ping"), "ping")
	waitReap(t, pid)
	e.must("delete", "ctty")
}

func TestConsoleSocketRunDetached(t *testing.T) { forRunners(t, testConsoleSocketRunDetached) }

func testConsoleSocketRunDetached(t *testing.T, e *env) {
	b := terminalBundle(e)
	sock, ch := receiveMaster(t)
	e.must("run", "-d", "--bundle", b, "--console-socket", sock.Path(), "dtty")
	master := <-ch
	if master == nil {
		t.FailNow()
	}
	defer master.Close()
	pid := e.state("dtty").Pid
	checkTTYOutput(t, converse(t, master, "pong"), "pong")
	waitReap(t, pid)
	e.must("delete", "dtty")
}

// A foreground run with terminal:true whose stdin is not a terminal still
// gives the process a pty and copies our stdin/stdout through it.
func TestTerminalForegroundWithoutTTY(t *testing.T) { forRunners(t, testTerminalForegroundWithoutTTY) }

func testTerminalForegroundWithoutTTY(t *testing.T, e *env) {
	b := terminalBundle(e)
	r := e.runIn("", []byte("fg\n"), "run", "--bundle", b, "fgtty")
	if r.code != 0 {
		t.Fatal(r)
	}
	checkTTYOutput(t, r.stdout, "fg")
}

// terminal:true without a console socket cannot work detached: refused
// clearly, nothing left; and a console socket with terminal:false too.
func TestTerminalConsoleSocketMismatch(t *testing.T) {
	forRunners(t, testTerminalConsoleSocketMismatch)
}

func testTerminalConsoleSocketMismatch(t *testing.T, e *env) {
	b := terminalBundle(e)
	before := mountinfo(t)
	for _, verb := range [][]string{{"run", "-d"}, {"create"}} {
		r := e.run(append(verb, "--bundle", b, "nosock")...)
		if r.code == 0 || !strings.Contains(r.stderr, "--console-socket") || !strings.Contains(r.stderr, "terminal") {
			t.Errorf("%v with terminal and no console socket: %s", verb, r)
		}
		e.noLeftovers("nosock", before)
	}
	plain := e.bundle([]string{"true"}, nil)
	sock, _ := receiveMaster(t)
	r := e.run("create", "--bundle", plain, "--console-socket", sock.Path(), "notty")
	if r.code == 0 || !strings.Contains(r.stderr, "terminal") {
		t.Errorf("console socket with terminal false: %s", r)
	}
	e.noLeftovers("notty", before)
	if _, err := os.Stat(sock.Path()); err != nil {
		t.Errorf("console socket vanished: %v", err)
	}
	// Nobody listens at the console socket: refused, nothing left.
	r = e.run("create", "--bundle", b, "--console-socket", sock.Path()+".missing", "deadsock")
	if r.code == 0 || !strings.Contains(r.stderr, "--console-socket") {
		t.Errorf("create with a console socket nobody listens on: %s", r)
	}
	e.noLeftovers("deadsock", before)
}

// A foreground run from a terminal: the container's pty takes our
// terminal's size (over consoleSize), and I/O flows both ways.
func TestTerminalForegroundFromTTY(t *testing.T) { forRunners(t, testTerminalForegroundFromTTY) }

func testTerminalForegroundFromTTY(t *testing.T, e *env) {
	b := terminalBundle(e)
	master, slaveName, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := master.Resize(console.WinSize{Height: 37, Width: 101}); err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(slaveName, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// consoleSize says 5x5: our terminal's 37x101 must win.
	s := readConfig(t, b)
	s.Process.ConsoleSize = &specs.Box{Height: 5, Width: 5}
	writeConfig(t, b, s)
	cmd := e.command("run", "--bundle", b, "ttyfg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	out := converse(t, master, "typed")
	if err := cmd.Wait(); err != nil {
		t.Errorf("hako run: %v", err)
	}
	// Our terminal keeps OPOST in raw mode (as runc's does), so the
	// container's CRLF becomes CR CR LF: compare without CRs.
	plain := strings.ReplaceAll(out, "\r", "")
	for _, w := range []string{"/dev/pts/", "37 101\n", "got:typed\n"} {
		if !strings.Contains(plain, w) {
			t.Errorf("output lacks %q: %q", w, out)
		}
	}
	// Raw mode: our terminal does not echo; only the container's pty does.
	if n := strings.Count(plain, "typed"); n != 2 {
		t.Errorf("\"typed\" appears %d times, want 2 (the container's echo and got:): %q", n, out)
	}
}

// A terminal that reports no size (0x0) leaves process.consoleSize alone.
func TestTerminalForegroundZeroSizeKeepsConsoleSize(t *testing.T) {
	forRunners(t, testTerminalForegroundZeroSizeKeepsConsoleSize)
}

func testTerminalForegroundZeroSizeKeepsConsoleSize(t *testing.T, e *env) {
	b := terminalBundle(e)
	master, slaveName, err := console.NewPty()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	master.Resize(console.WinSize{})
	slave, err := os.OpenFile(slaveName, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := e.command("run", "--bundle", b, "ttyzero")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	out := strings.ReplaceAll(converse(t, master, "z"), "\r", "")
	cmd.Wait()
	if !strings.Contains(out, "37 101\n") {
		t.Errorf("size of a 0x0 terminal replaced consoleSize 37x101: %q", out)
	}
}

// exec --tty --detach --console-socket, as containerd's shim runs `exec
// -it`: the process gets a pty of process.consoleSize from the container's
// devpts, as the controlling terminal of its own session, and its I/O
// flows through the master hako sends. Through both ways hako starts an
// exec'd process, and into a container with a user namespace (today the
// Go init cannot join a user namespace: only the setup program can).
func TestExecTerminal(t *testing.T) { forRunners(t, testExecTerminal) }

func testExecTerminal(t *testing.T, e *env) {
	for _, c := range []struct {
		name string
		user bool
	}{{"plain", false}, {"user-namespace", true}} {
		t.Run(c.name, func(t *testing.T) {
			e := e.on(t)
			b := e.bundle([]string{"sleep", "1000"}, nil)
			if c.user {
				remap(t, b)
			}
			cmd := e.command("run", "-d", "--bundle", b, "extty")
			cmd.Stdout, cmd.Stderr = tempFile(t), tempFile(t)
			if err := cmd.Run(); err != nil {
				t.Fatalf("run -d: %v", err)
			}
			pid := e.state("extty").Pid
			defer e.deleteAndReap("extty", pid)

			// stat's fields 6 and 7: the session and the controlling tty.
			script := `set -- $(cat /proc/$$/stat); echo "session:$6:$$ ctty:$7"; stat -c "owner:%u" $(tty); ` + ttyScript
			pf := filepath.Join(t.TempDir(), "process.json")
			data, _ := json.Marshal(specs.Process{Terminal: true, ConsoleSize: &specs.Box{Height: 37, Width: 101},
				Args: []string{"sh", "-c", script}, Cwd: "/", Env: []string{"PATH=/bin"}})
			if err := os.WriteFile(pf, data, 0o644); err != nil {
				t.Fatal(err)
			}
			sock, ch := receiveMaster(t)
			pidFile := filepath.Join(t.TempDir(), "exec.pid")
			e.must("exec", "--detach", "--console-socket", sock.Path(), "--pid-file", pidFile, "--process", pf, "extty")
			master := <-ch
			if master == nil {
				t.FailNow()
			}
			defer master.Close()
			out := converse(t, master, "hi")
			checkTTYOutput(t, out, "hi")
			pb, _ := os.ReadFile(pidFile)
			epid, _ := strconv.Atoi(string(pb))
			waitReap(t, epid)
			var sess, self, ctty string
			for _, l := range strings.Split(out, "\n") {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "session:"); ok {
					f := strings.FieldsFunc(rest, func(r rune) bool { return r == ':' || r == ' ' })
					if len(f) == 4 {
						sess, self, ctty = f[0], f[1], f[3]
					}
				}
			}
			if sess == "" || sess != self {
				t.Errorf("the exec'd shell does not lead its own session: %q", out)
			}
			if ctty == "" || ctty == "0" {
				t.Errorf("the exec'd shell has no controlling terminal (tty_nr %q): %q", ctty, out)
			}
			if !strings.Contains(out, "owner:0\r\n") {
				t.Errorf("the pty does not belong to the container's root: %q", out)
			}
		})
	}
}

// The pty of a container whose process runs as a non-root user belongs to
// that user's uid and gid (the user can chmod its own terminal), for the
// container's process and for an exec'd one (`exec -t -u`).
func TestPtyOwnedByProcessUser(t *testing.T) { forRunners(t, testPtyOwnedByProcessUser) }

func testPtyOwnedByProcessUser(t *testing.T, e *env) {
	script := `stat -c "owner:%u:%g" $(tty); ` + ttyScript
	b := e.bundle([]string{"sh", "-c", script}, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 37, Width: 101}
		s.Process.User = specs.User{UID: 1000, GID: 1001}
	})
	sock, ch := receiveMaster(t)
	e.must("run", "-d", "--console-socket", sock.Path(), "--bundle", b, "ptyuser")
	pid := e.state("ptyuser").Pid
	defer e.deleteAndReap("ptyuser", pid)
	master := <-ch
	if master == nil {
		t.FailNow()
	}
	defer master.Close()
	if out := converse(t, master, "hi"); !strings.Contains(out, "owner:1000:1001\r\n") {
		t.Errorf("the container's pty: %q, want it owned by 1000:1001", out)
	}

	b = e.bundle([]string{"sleep", "1000"}, nil)
	e.must("run", "-d", "--bundle", b, "ptyexec")
	defer e.deleteAndReap("ptyexec", e.state("ptyexec").Pid)
	pf := filepath.Join(t.TempDir(), "process.json")
	data, _ := json.Marshal(specs.Process{Terminal: true, ConsoleSize: &specs.Box{Height: 37, Width: 101},
		User: specs.User{UID: 1000, GID: 1001}, Args: []string{"sh", "-c", script}, Cwd: "/", Env: []string{"PATH=/bin"}})
	os.WriteFile(pf, data, 0o644)
	sock2, ch2 := receiveMaster(t)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	e.must("exec", "--detach", "--console-socket", sock2.Path(), "--pid-file", pidFile, "--process", pf, "ptyexec")
	master2 := <-ch2
	if master2 == nil {
		t.FailNow()
	}
	defer master2.Close()
	if out := converse(t, master2, "hi"); !strings.Contains(out, "owner:1000:1001\r\n") {
		t.Errorf("the exec'd process's pty: %q, want it owned by 1000:1001", out)
	}
	pb, _ := os.ReadFile(pidFile)
	epid, _ := strconv.Atoi(string(pb))
	waitReap(t, epid)
}
