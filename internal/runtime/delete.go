package runtime

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/hako-dev/hako/internal/cgroup"
	"github.com/hako-dev/hako/internal/hooks"
	"github.com/hako-dev/hako/internal/state"
)

// Delete removes a stopped container; with force it kills a live one first.
// A container that is not stopped is left untouched without force.
func (r *Runtime) Delete(id string, force bool) error { return r.delete(id, force, nil) }

// delete deletes id; known, when given, is the container as this process
// created it (run), which spares reading it back.
func (r *Runtime) delete(id string, force bool, known *Container) error {
	unlock, err := r.Store.Lock(id)
	if err != nil {
		if force && errors.Is(err, state.ErrNotExistText) {
			return nil // nothing to delete: runc's --force answers so
		}
		return err
	}
	defer unlock()
	c, err := r.current(id, known)
	if errors.Is(err, state.ErrNotExist) {
		return r.deleteDebris(id, force, err)
	}
	if errors.Is(err, state.ErrCorrupt) {
		return r.deleteUnreadable(id, force, err)
	}
	if err != nil {
		return err
	}
	if c.Status != state.Stopped {
		if !force {
			return &StateError{ID: id, Status: c.Status, Op: "delete",
				Hint: fmt.Sprintf("stop it first (`hako kill %s KILL`) or use `hako delete --force %s`", id, id)}
		}
		if err := r.killEverything(c); err != nil {
			return err
		}
	}
	return r.destroy(c)
}

// deleteDebris handles a container directory without state.json: what an
// interrupted create (hako killed before it saved the state) leaves. With
// force it is removed, with the default cgroup and anything still in it.
func (r *Runtime) deleteDebris(id string, force bool, notExist error) error {
	dir, err := r.Store.Dir(id)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, state.StateFile)); err == nil {
		return notExist // saved meanwhile: not debris
	}
	if !force {
		return fmt.Errorf("container %q: %s holds no state.json: it is what an interrupted create left — hint: `hako delete --force %s` removes it", id, dir, id)
	}
	if cg, err := cgroup.New(cgroup.Config{ID: id, Rootless: os.Geteuid() != 0}); err == nil {
		if pids, err := cg.Pids(); err == nil {
			for _, p := range pids {
				unix.Kill(p, unix.SIGKILL)
			}
		}
		if err := cg.Destroy(); err != nil {
			return fmt.Errorf("container %q: removing the cgroup an interrupted create left: %w", id, err)
		}
	}
	return r.Store.Remove(id)
}

// deleteUnreadable handles a container whose state.json does not decode
// (state.ErrCorrupt): what a crash of the machine can leave on a disk
// --root. Its processes are taken to be gone, as after a crash they are,
// and it is deleted as a stopped container, with the default cgroup it may
// have had. Processes still in that cgroup make delete refuse, and are
// killed with force.
func (r *Runtime) deleteUnreadable(id string, force bool, unreadable error) error {
	what := "does not decode"
	var ce *state.CorruptError
	if errors.As(unreadable, &ce) {
		what = ce.Path + " " + ce.What
	}
	if cg, err := cgroup.New(cgroup.Config{ID: id, Rootless: os.Geteuid() != 0}); err == nil {
		if pids, _ := cg.Pids(); len(pids) > 0 {
			if !force {
				return fmt.Errorf("container %q: its state is unreadable (%s), and its cgroup still holds %d processes — hint: `hako delete --force %s` kills them and removes it", id, what, len(pids), id)
			}
			for _, p := range pids {
				unix.Kill(p, unix.SIGKILL)
			}
		}
		if err := cg.Destroy(); err != nil {
			return fmt.Errorf("container %q: its state is unreadable (%s), and its cgroup cannot be removed: %w", id, what, err)
		}
	}
	slog.Warn(fmt.Sprintf("container %q: its state was unreadable (%s), as a crash of the machine leaves it; removed", id, what))
	return r.Store.Remove(id)
}

func (r *Runtime) killEverything(c *Container) error {
	cg, err := c.cgroup()
	if err != nil {
		return err
	}
	if cg != nil {
		if c.Status == state.Paused {
			cg.Thaw()
		}
		if pids, err := cg.Pids(); err == nil {
			for _, p := range pids {
				unix.Kill(p, unix.SIGKILL)
			}
		}
	}
	c.signalInit(unix.SIGKILL)
	if !c.waitInitExit(10000) {
		return fmt.Errorf("container %q: its init (pid %d) did not exit after SIGKILL", c.ID, c.InitPid)
	}
	return nil
}

// destroy removes everything a stopped container owns: its cgroup (after
// killing stragglers), its state directory, then runs poststop hooks.
func (r *Runtime) destroy(c *Container) error {
	cg, err := c.cgroup()
	if err != nil {
		slog.Warn("ignoring unreadable cgroup state", "id", c.ID, "err", err)
	}
	if cg != nil {
		if pids, err := cg.Pids(); err == nil {
			for _, p := range pids {
				unix.Kill(p, unix.SIGKILL)
			}
		}
		if err := cg.Destroy(); err != nil {
			return fmt.Errorf("container %q: removing its cgroup: %w", c.ID, err)
		}
	}
	if err := r.Store.Remove(c.ID); err != nil {
		return fmt.Errorf("container %q: removing its state: %w", c.ID, err)
	}
	if h := c.Hooks; h != nil && len(h.Poststop) > 0 {
		// Warnings only: the remaining hooks and the delete go on
		// (runtime-spec).
		for _, err := range hooks.RunAll("poststop", h.Poststop, hookState(c.Container, state.Stopped, 0)) {
			slog.Warn(fmt.Sprintf("container %q: %v", c.ID, err))
		}
	}
	return nil
}
