package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/state"
)

// agentTimeout bounds the connection to a seccomp agent and the sending
// of the listener: the container's process may be waiting for it.
const agentTimeout = 10 * time.Second

// seccompAgent returns the function that hands a seccomp listener
// (SCMP_ACT_NOTIFY) to the agent at linux.seccomp.listenerPath: one
// message, the container process state of runtime-spec (its fds
// ["seccompFd"], the process's pid, listenerMetadata and the container's
// state with status st) with the listener as SCM_RIGHTS, as runc sends it.
func seccompAgent(s *specs.Spec, c *state.Container, st state.Status) func(*os.File, int) error {
	if s.Linux == nil || s.Linux.Seccomp == nil || s.Linux.Seccomp.ListenerPath == "" {
		return nil
	}
	path, meta := s.Linux.Seccomp.ListenerPath, s.Linux.Seccomp.ListenerMetadata
	return func(listener *os.File, pid int) error {
		fail := func(err error) error {
			hint := ""
			if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
				hint = " — hint: no agent listens there; start the seccomp agent first"
			}
			return fmt.Errorf("linux.seccomp.listenerPath %q: handing the seccomp listener to the agent: %w%s", path, err, hint)
		}
		init := c.InitPid
		if init == 0 {
			init = pid
		}
		msg, err := json.Marshal(specs.ContainerProcessState{
			Version: specs.Version, Fds: []string{"seccompFd"}, Pid: pid, Metadata: meta,
			State: specs.State{Version: c.OCIVersion, ID: c.ID, Status: specs.ContainerState(st), Pid: init,
				Bundle: c.Bundle, Annotations: c.Annotations},
		})
		if err != nil {
			return fail(err)
		}
		conn, err := net.DialTimeout("unix", path, agentTimeout)
		if err != nil {
			return fail(err)
		}
		defer conn.Close()
		uc := conn.(*net.UnixConn)
		uc.SetDeadline(time.Now().Add(agentTimeout))
		if _, _, err := uc.WriteMsgUnix(msg, unix.UnixRights(int(listener.Fd())), nil); err != nil {
			return fail(err)
		}
		return nil
	}
}
