package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/cgroup"
	"github.com/hako-dev/hako/internal/seccomp"
	"github.com/hako-dev/hako/internal/state"
	"github.com/hako-dev/hako/internal/validate"
)

// Runtime is one --root store plus the global options.
type Runtime struct {
	Store    *state.Store
	Systemd  bool
	Rootless bool
}

// Open opens the state store at root.
func Open(root string, systemd bool) (*Runtime, error) {
	st, err := state.Open(root)
	if err != nil {
		return nil, err
	}
	return &Runtime{Store: st, Systemd: systemd}, nil
}

// StateError is an operation refused because of the container's status.
type StateError struct {
	ID     string
	Status state.Status
	Op     string
	Hint   string
}

func (e *StateError) Error() string {
	s := fmt.Sprintf("cannot %s container %q: it is %s", e.Op, e.ID, e.Status)
	if e.Hint != "" {
		s += " — hint: " + e.Hint
	}
	return s
}

// ErrNotRunning keeps the wording containerd matches on kill.
var ErrNotRunning = errors.New("container not running")

// Container is a loaded container with its live status.
type Container struct {
	*state.Container
	Status state.Status
	dir    string
	cg     cgroup.Manager // set by Create: run starts and deletes without reading it back
}

// OCIState is the JSON `hako state` prints (OCI runtime spec "State").
type OCIState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      state.Status      `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// OCI returns the container's OCI state.
func (c *Container) OCI() OCIState {
	pid := c.InitPid
	if c.Status == state.Stopped {
		pid = 0
	}
	return OCIState{
		OCIVersion: c.OCIVersion, ID: c.ID, Pid: pid, Status: c.Status,
		Bundle: c.Bundle, Rootfs: c.Rootfs, Created: c.Created, Owner: c.Owner,
		Annotations: c.Annotations,
	}
}

// hookState is the state JSON given to hooks on stdin.
func hookState(c *state.Container, st state.Status, pid int) []byte {
	b, _ := json.Marshal(specs.State{
		Version: c.OCIVersion, ID: c.ID, Status: specs.ContainerState(st), Pid: pid,
		Bundle: c.Bundle, Annotations: c.Annotations,
	})
	return b
}

// Load reads a container and computes its status.
func (r *Runtime) Load(id string) (*Container, error) {
	sc, err := r.Store.Load(id)
	if err != nil {
		return nil, err
	}
	dir, _ := r.Store.Dir(id)
	c := &Container{Container: sc, dir: dir}
	c.Status = c.liveStatus()
	return c, nil
}

// current is known (the container as this process created it) with its
// status read again from the kernel, or, without it, id loaded from the
// store.
func (r *Runtime) current(id string, known *Container) (*Container, error) {
	if known != nil {
		known.Status = known.liveStatus()
		return known, nil
	}
	return r.Load(id)
}

func (c *Container) liveStatus() state.Status {
	if !c.InitAlive() {
		return state.Stopped
	}
	if c.Paused {
		return state.Paused
	}
	if _, err := os.Lstat(filepath.Join(c.dir, state.FifoFile)); err == nil {
		return state.Created
	}
	return state.Running
}

// List loads every container in the store. One whose state.json does not
// decode is listed as stopped, with its id alone (delete removes it).
func (r *Runtime) List() ([]*Container, error) {
	ids, err := r.Store.List()
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, id := range ids {
		c, err := r.Load(id)
		if errors.Is(err, state.ErrCorrupt) {
			dir, _ := r.Store.Dir(id)
			c, err = &Container{Container: &state.Container{ID: id}, Status: state.Stopped, dir: dir}, nil
		}
		if err != nil {
			continue // removed meanwhile: list the rest
		}
		out = append(out, c)
	}
	return out, nil
}

func (c *Container) spec() (*specs.Spec, error) {
	data := []byte(c.Config)
	if len(data) == 0 {
		var err error
		if data, err = os.ReadFile(filepath.Join(c.dir, state.ConfigFile)); errors.Is(err, os.ErrNotExist) {
			return &specs.Spec{}, nil
		} else if err != nil {
			return nil, fmt.Errorf("container %q: stored config: %w", c.ID, err)
		}
	}
	s, err := validate.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("container %q: stored config: %w", c.ID, err)
	}
	return s, nil
}

func (c *Container) cgroup() (cgroup.Manager, error) {
	if c.cg != nil {
		return c.cg, nil
	}
	if len(c.Cgroup) == 0 {
		return nil, nil
	}
	var st cgroup.State
	if err := json.Unmarshal(c.Cgroup, &st); err != nil {
		return nil, fmt.Errorf("container %q: stored cgroup state: %w", c.ID, err)
	}
	return cgroup.FromState(st)
}

func ownerName() string {
	uid := os.Geteuid()
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "#" + strconv.Itoa(uid)
}

// compileSeccomp compiles linux.seccomp (nil without a profile) through the
// store's cache, and logs the system call names whose rules are skipped.
func (r *Runtime) compileSeccomp(s *specs.Spec) (*seccomp.Program, error) {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return nil, nil
	}
	c := seccomp.Compiler{CacheDir: filepath.Join(r.Store.Root, seccomp.CacheName)}
	p, err := c.Compile(s.Linux.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("compiling the seccomp profile: %w", err)
	}
	for _, n := range p.Unknown {
		if n.Elsewhere {
			slog.Debug("seccomp: syscall unknown on this architecture; rule skipped", "field", n.Field, "syscall", n.Name)
		} else {
			slog.Warn(fmt.Sprintf("%s: libseccomp does not know the system call %q on %s — hint: check the spelling (see syscalls(2)); its rule is skipped", n.Field, n.Name, goruntime.GOARCH))
		}
	}
	return p, nil
}
