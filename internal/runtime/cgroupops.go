package runtime

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/cgroup"
	"github.com/hako-dev/hako/internal/state"
)

// withCgroup loads a live container and its cgroup manager.
func (r *Runtime) withCgroup(id, op string) (*Container, cgroup.Manager, error) {
	c, err := r.Load(id)
	if err != nil {
		return nil, nil, err
	}
	if c.Status == state.Stopped {
		return nil, nil, &StateError{ID: id, Status: c.Status, Op: op, Hint: fmt.Sprintf("%s: its process has exited", ErrNotRunning)}
	}
	cg, err := c.cgroup()
	if err != nil {
		return nil, nil, err
	}
	if cg == nil {
		return nil, nil, fmt.Errorf("container %q has no cgroup to %s", id, op)
	}
	return c, cg, nil
}

// Pause freezes every process of a running container.
func (r *Runtime) Pause(id string) error {
	unlock, err := r.Store.Lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	c, cg, err := r.withCgroup(id, "pause")
	if err != nil {
		return err
	}
	if c.Status != state.Running {
		return &StateError{ID: id, Status: c.Status, Op: "pause", Hint: "only a running container can be paused"}
	}
	if err := cg.Freeze(); err != nil {
		return fmt.Errorf("container %q: freezing: %w", id, err)
	}
	c.Paused = true
	return r.Store.Save(c.Container)
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	unlock, err := r.Store.Lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	c, cg, err := r.withCgroup(id, "resume")
	if err != nil {
		return err
	}
	if c.Status != state.Paused {
		return &StateError{ID: id, Status: c.Status, Op: "resume", Hint: "only a paused container can be resumed"}
	}
	if err := cg.Thaw(); err != nil {
		return fmt.Errorf("container %q: thawing: %w", id, err)
	}
	c.Paused = false
	return r.Store.Save(c.Container)
}

// Pids lists the host pids of every process in the container, sorted.
func (r *Runtime) Pids(id string) ([]int, error) {
	_, cg, err := r.withCgroup(id, "list processes of")
	if err != nil {
		return nil, err
	}
	pids, err := cg.Pids()
	if err != nil {
		return nil, fmt.Errorf("container %q: listing processes: %w", id, err)
	}
	sort.Ints(pids)
	return pids, nil
}

// NotifyOOM watches the container's memory cgroup for OOM kills.
func (r *Runtime) NotifyOOM(id string) (*cgroup.OOMNotifier, error) {
	_, cg, err := r.withCgroup(id, "watch OOM kills of")
	if err != nil {
		return nil, err
	}
	n, err := cgroup.NotifyOOM(cg)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	return n, nil
}

// Stats returns the container's cgroup statistics.
func (r *Runtime) Stats(id string) (*cgroup.Stats, error) {
	_, cg, err := r.withCgroup(id, "read statistics of")
	if err != nil {
		return nil, err
	}
	return cg.Stats()
}

// Update changes a live container's resources, and records them so that
// later commands see the new values.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	unlock, err := r.Store.Lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	c, cg, err := r.withCgroup(id, "update")
	if err != nil {
		return err
	}
	if err := cg.Set(res); err != nil {
		return fmt.Errorf("container %q: %w", id, err)
	}
	return r.Store.Save(c.Container)
}
