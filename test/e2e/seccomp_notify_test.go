package e2e

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// seccompAgent is a small seccomp agent: it takes each listener hako hands
// it at its socket, records the container process state that came with
// it, and answers every mkdir/mkdirat with success without making the
// directory (so that only an agent's answer explains what the container
// sees).
type seccompAgent struct {
	path   string
	mu     sync.Mutex
	states []specs.ContainerProcessState
	calls  int
	errs   []error
}

func startSeccompAgent(t *testing.T) *seccompAgent {
	t.Helper()
	a := &seccompAgent{path: filepath.Join(t.TempDir(), "agent.sock")}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: a.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			buf, oob := make([]byte, 1<<16), make([]byte, unix.CmsgSpace(4))
			n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
			c.Close()
			if err != nil {
				a.fail(err)
				continue
			}
			var st specs.ContainerProcessState
			if err := json.Unmarshal(buf[:n], &st); err != nil {
				a.fail(err)
				continue
			}
			msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
			var fds []int
			if len(msgs) == 1 {
				fds, _ = unix.ParseUnixRights(&msgs[0])
			}
			a.mu.Lock()
			a.states = append(a.states, st)
			a.mu.Unlock()
			if len(fds) != 1 {
				a.fail(unix.EBADMSG)
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); a.serve(fds[0]) }()
		}
	}()
	return a
}

func (a *seccompAgent) fail(err error) {
	a.mu.Lock()
	a.errs = append(a.errs, err)
	a.mu.Unlock()
}

// serve answers the listener's notifications until no process uses the
// filter.
func (a *seccompAgent) serve(fd int) {
	defer unix.Close(fd)
	type notif struct {
		ID         uint64
		Pid, Flags uint32
		Nr         int32
		Arch       uint32
		IP         uint64
		Args       [6]uint64
	}
	type resp struct {
		ID    uint64
		Val   int64
		Error int32
		Flags uint32
	}
	for {
		var n notif
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); e != 0 {
			if e == unix.EINTR {
				continue
			}
			return // ENOENT: no process left to notify
		}
		r := resp{ID: n.ID} // success, and nothing done
		if n.Nr != unix.SYS_MKDIR && n.Nr != unix.SYS_MKDIRAT {
			r.Error = -int32(unix.ENOSYS)
		}
		a.mu.Lock()
		a.calls++
		a.mu.Unlock()
		unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&r)))
	}
}

// linux.seccomp with SCMP_ACT_NOTIFY: the listener reaches the agent at
// listenerPath with the container process state of the spec (fds, pid,
// listenerMetadata, the container's state), for the container's process
// (with and without no_new_privs: the filter loads at two places) and for
// an exec'd one; the agent's answers are what the process sees. With no
// agent listening, create fails naming the field and leaves nothing.
func TestSeccompNotify(t *testing.T) { forRunners(t, testSeccompNotify) }

func testSeccompNotify(t *testing.T, e *env) {
	a := startSeccompAgent(t)
	profile := func(nnp bool) func(s *specs.Spec) {
		return func(s *specs.Spec) {
			s.Process.NoNewPrivileges = nnp
			s.Linux.Seccomp = &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow, ListenerPath: a.path, ListenerMetadata: "hako-test",
				Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchAARCH64},
				Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
			}
		}
	}
	script := "mkdir /faked && echo answered; test -d /faked || echo absent"
	for _, nnp := range []bool{true, false} {
		out := e.mustSh("notify", script, profile(nnp))
		if got := strings.Join(lines(out), " "); got != "answered absent" {
			t.Errorf("noNewPrivileges %v: %q, want mkdir answered by the agent and no directory", nnp, got)
		}
	}
	b := e.bundle([]string{"sleep", "1000"}, profile(true))
	openRootfs(t, b)
	e.must("run", "-d", "--bundle", b, "notify-exec")
	pid := e.state("notify-exec").Pid
	out := e.must("exec", "notify-exec", "sh", "-c", script)
	e.deleteAndReap("notify-exec", pid)
	if got := strings.Join(lines(out), " "); got != "answered absent" {
		t.Errorf("exec: %q, want mkdir answered by the agent", got)
	}
	a.mu.Lock()
	states, calls, errs := a.states, a.calls, a.errs
	a.mu.Unlock()
	if len(errs) > 0 {
		t.Errorf("agent: %v", errs)
	}
	if len(states) != 4 || calls < 3 {
		t.Fatalf("the agent got %d listeners and %d calls, want 4 (two containers, the detached one and its exec) and at least 3", len(states), calls)
	}
	for i, st := range states {
		if st.Version == "" || len(st.Fds) != 1 || st.Fds[0] != "seccompFd" || st.Metadata != "hako-test" || st.Pid <= 0 || st.State.ID == "" || st.State.Bundle == "" {
			t.Errorf("listener %d came with %+v", i, st)
		}
	}
	if s := states[2]; s.State.ID != "notify-exec" || s.State.Status != "creating" || s.Pid != pid {
		t.Errorf("the detached container's listener: %+v, want status creating and pid %d", s, pid)
	}
	if s := states[3]; s.State.ID != "notify-exec" || s.State.Status != "running" || s.State.Pid != pid || s.Pid == pid {
		t.Errorf("the exec'd process's listener: %+v, want status running, the init %d and the exec'd process's own pid", s, pid)
	}

	before := mountinfo(t)
	r := e.sh("notify-noagent", "true", func(s *specs.Spec) {
		profile(true)(s)
		s.Linux.Seccomp.ListenerPath = filepath.Join(t.TempDir(), "nobody.sock")
	})
	if r.code == 0 || !strings.Contains(r.stderr, "linux.seccomp.listenerPath") || !strings.Contains(r.stderr, "no agent") {
		t.Errorf("no agent listening: %s", r)
	}
	e.noLeftovers("notify-noagent", before)
}
