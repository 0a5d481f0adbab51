package cgroup

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager manages one container's cgroup.
type Manager interface {
	// Apply creates the cgroup, applies the resources, then moves pid in.
	// A pid of -1 only creates and configures the cgroup (for a later
	// Join, or for a clone into the cgroup on v2). If Apply fails, it
	// removes what it created.
	Apply(pid int) error
	// Join moves pid into the existing cgroup (for `hako exec`).
	Join(pid int) error
	// JoinSub moves pid into existing sub-cgroups of the cgroup (`hako
	// exec --cgroup`): sub maps a v1 controller to its sub-cgroup, or ""
	// to the sub-cgroup of every hierarchy (v2, or all of v1's); the
	// hierarchies sub does not name, or all with a nil sub, are joined at
	// the cgroup itself.
	JoinSub(pid int, sub map[string]string) error
	// Set changes the limits (for `hako update`); zero values keep the
	// current ones. Device rules never change after Apply.
	Set(r *specs.LinuxResources) error
	// Pids lists every process in the cgroup and its sub-cgroups.
	Pids() ([]int, error)
	// Freeze pauses every process of the cgroup (the v1 freezer or v2
	// cgroup.freeze); Thaw resumes them.
	Freeze() error
	Thaw() error
	// Stats reads the statistics as `runc events --stats` prints them.
	Stats() (*Stats, error)
	// Destroy removes the cgroup directories Apply created. Killing the
	// processes still inside is the caller's job.
	Destroy() error
	// State records what FromState needs.
	State() State
	// Exists reports whether the cgroup exists.
	Exists() bool
	// Occupied lists the processes already in the cgroup, in any of its
	// hierarchies (v1: every controller's directory), before it is made.
	Occupied() []int
	// Path is the cgroup directory of a v1 controller (e.g. "memory"), or,
	// with "", of the cgroup v2 hierarchy ("" if there is none).
	Path(controller string) string
}

type fsManager struct {
	m       cgroups.Manager
	cg      *cgroups.Cgroup
	mode    string
	created []string // directories Apply made, parents first
}

func newManager(m cgroups.Manager, cg *cgroups.Cgroup, mode string) *fsManager {
	return &fsManager{m: m, cg: cg, mode: mode}
}

func (f *fsManager) where() string {
	if f.cg.Systemd {
		return fmt.Sprintf("systemd cgroup %s:%s:%s", f.cg.Parent, f.cg.ScopePrefix, f.cg.Name)
	}
	p := f.cg.Path
	if p == "" {
		p = filepath.Join(f.cg.Parent, f.cg.Name)
	}
	return "cgroup " + p
}

func (f *fsManager) Apply(pid int) (retErr error) {
	if !f.cg.Systemd {
		f.created = makeDirs(f.m.GetPaths())
	}
	defer func() {
		if retErr != nil {
			if err := f.Destroy(); err != nil {
				slog.Warn("removing the cgroup after a failed apply", "error", err)
			}
		}
	}()
	if f.cg.Systemd {
		// A systemd scope needs its first process when it starts.
		if err := f.ignoreRootless(f.m.Apply(pid)); err != nil {
			return explain(err, "linux.cgroupsPath", "creating "+f.where())
		}
		if err := f.m.Set(f.cg.Resources); err != nil {
			return explain(err, "linux.resources", "applying to "+f.where())
		}
		return nil
	}
	// Create and configure first, join last: a failure before the join
	// leaves an empty cgroup that can be removed.
	if err := f.ignoreRootless(f.m.Apply(-1)); err != nil {
		// Some v1 controllers (cpuset, cpu) write their values when
		// they create the directory.
		return explain(err, "linux.cgroupsPath", "creating "+f.where())
	}
	v1Devices := f.mode != ModeV2 && f.m.Path("devices") != ""
	if v1Devices {
		// Written below, in the config's order: the library writes the
		// fewest rules that reach the same set, in its own order.
		f.cg.Resources.SkipDevices = true
	}
	err := f.m.Set(f.cg.Resources)
	f.cg.Resources.SkipDevices = false
	if err != nil {
		return explain(err, "linux.resources", "applying to "+f.where())
	}
	if v1Devices {
		// (Rootless: a devices cgroup the user may not make is skipped, as
		// the other controllers are.)
		if err := f.ignoreRootless(writeV1Devices(f.m.Path("devices"), f.cg.Resources.Devices)); err != nil {
			return explain(err, "linux.resources.devices", "applying to "+f.where())
		}
	}
	if pid != -1 {
		if err := f.Join(pid); err != nil {
			f.leave(pid)
			return err
		}
	}
	return nil
}

func (f *fsManager) ignoreRootless(err error) error {
	// An unprivileged user without a delegated cgroup runs without one,
	// as runc does: the directories it may not make are absent.
	if errors.Is(err, cgroups.ErrRootless) || f.cg.Rootless && (errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist)) {
		slog.Debug("rootless container: no access to some cgroups, running without them", "cgroup", f.where(), "error", err)
		return nil
	}
	return err
}

// leave moves pid back to this process's own cgroups, where the runtime
// started it, so that a failed Apply can remove the directories it made.
func (f *fsManager) leave(pid int) {
	own, err := cgroups.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return
	}
	inner := f.innerPath()
	for ctrl, dir := range f.m.GetPaths() {
		rel, ok := own[ctrl]
		if !ok || !strings.HasSuffix(dir, inner) {
			continue
		}
		// dir is mount+inner (absolute inner) or mount+own+inner.
		target := strings.TrimSuffix(dir, inner)
		if filepath.IsAbs(inner) {
			target = filepath.Join(target, rel)
		}
		_ = cgroups.WriteCgroupProc(target, pid)
	}
}

// innerPath is the cgroup's path below a controller's mount point (or
// below this process's own cgroup, if relative).
func (f *fsManager) innerPath() string {
	if f.cg.Path != "" {
		return f.cg.Path
	}
	return filepath.Join(f.cg.Parent, f.cg.Name)
}

// Join writes pid into every hierarchy's cgroup.procs, one by one: the
// library's AddPid stops at the first it may not write, which leaves a
// rootless container out of the delegated ones after it.
func (f *fsManager) Join(pid int) error { return f.JoinSub(pid, nil) }

func (f *fsManager) JoinSub(pid int, sub map[string]string) error {
	paths := maps.Clone(f.m.GetPaths())
	all, forAll := sub[""]
	for ctrl, base := range paths {
		rel, ok := sub[ctrl]
		if forAll {
			rel, ok = all, true
		}
		if !ok || base == "" {
			continue
		}
		p := filepath.Join(base, rel)
		if p != base && !strings.HasPrefix(p, base+"/") {
			return fmt.Errorf("--cgroup %q: the sub-cgroup must lie below the container's cgroup %s", rel, base)
		}
		paths[ctrl] = p
	}
	for ctrl := range sub {
		if _, ok := paths[ctrl]; !ok && ctrl != "" {
			have := slices.Sorted(maps.Keys(paths))
			return fmt.Errorf("--cgroup %s:...: the container has no cgroup for the controller %q (it has %s)", ctrl, ctrl, strings.Join(have, ", "))
		}
	}
	seen := map[string]bool{}
	for ctrl, p := range paths {
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		if err := cgroups.WriteCgroupProc(p, pid); err != nil {
			if errors.Is(err, os.ErrNotExist) && p != f.m.Path(ctrl) {
				return fmt.Errorf("--cgroup: the sub-cgroup %s does not exist — hint: create it first (mkdir), the runtime does not", p)
			}
			if err := f.ignoreRootless(err); err != nil {
				return fmt.Errorf("moving process %d into %s: %w", pid, p, err)
			}
		}
	}
	return nil
}

func (f *fsManager) Set(r *specs.LinuxResources) error {
	res, err := convertResources(r, f.mode)
	if err != nil {
		return err
	}
	// Device rules are fixed at Apply, as in `runc update`; clients such
	// as containerd send them again with every update.
	res.SkipDevices = true
	if err := f.m.Set(res); err != nil {
		return explain(err, "linux.resources", "updating "+f.where())
	}
	// The library takes a real-time runtime of 0 for "unset"; asked for,
	// it gives the cgroup's real-time time back (so that its parent's
	// may shrink).
	if r.CPU != nil && r.CPU.RealtimeRuntime != nil && *r.CPU.RealtimeRuntime == 0 {
		if p := f.m.Path("cpu"); p != "" && f.mode != ModeV2 {
			if err := cgroups.WriteFile(p, "cpu.rt_runtime_us", "0"); err != nil {
				return explain(err, "linux.resources.cpu.realtimeRuntime", "updating "+f.where())
			}
		}
	}
	return nil
}

func (f *fsManager) Pids() ([]int, error) {
	pids, err := f.m.GetAllPids()
	if err != nil {
		return nil, fmt.Errorf("listing the processes of %s: %w", f.where(), err)
	}
	return pids, nil
}

func (f *fsManager) Occupied() []int {
	var out []int
	seen := map[string]bool{}
	for _, p := range f.m.GetPaths() {
		if seen[p] {
			continue
		}
		seen[p] = true
		if pids, err := cgroups.GetAllPids(p); err == nil {
			out = append(out, pids...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (f *fsManager) Freeze() error {
	if err := f.m.Freeze(cgroups.Frozen); err != nil {
		return fmt.Errorf("freezing %s: %w", f.where(), err)
	}
	return nil
}

func (f *fsManager) Thaw() error {
	if err := f.m.Freeze(cgroups.Thawed); err != nil {
		return fmt.Errorf("thawing %s: %w", f.where(), err)
	}
	return nil
}

func (f *fsManager) Stats() (*Stats, error) {
	st, err := f.m.GetStats()
	if err != nil {
		return nil, fmt.Errorf("reading the statistics of %s: %w", f.where(), err)
	}
	return convertStats(st), nil
}

func (f *fsManager) Destroy() error {
	// The library removes the container's own directories (and forgets
	// them): only the parents this container made are left to remove.
	own := map[string]bool{}
	for _, p := range f.m.GetPaths() {
		own[p] = true
	}
	if err := f.m.Destroy(); err != nil {
		return fmt.Errorf("removing %s: %w (are processes still inside? kill them first)", f.where(), err)
	}
	// Parents this container created, deepest first; another container
	// may still use one (EBUSY), or have removed it (ENOENT).
	for i := len(f.created) - 1; i >= 0; i-- {
		if own[f.created[i]] {
			continue
		}
		err := unix.Rmdir(f.created[i])
		if err != nil && err != unix.ENOENT && err != unix.EBUSY && err != unix.ENOTEMPTY {
			return fmt.Errorf("removing %s: %w", f.created[i], err)
		}
	}
	f.created = nil
	return nil
}

func (f *fsManager) State() State {
	return State{
		Mode:        f.mode,
		Systemd:     f.cg.Systemd,
		Rootless:    f.cg.Rootless,
		Paths:       maps.Clone(f.m.GetPaths()),
		Created:     slices.Clone(f.created),
		Parent:      f.cg.Parent,
		ScopePrefix: f.cg.ScopePrefix,
		Name:        f.cg.Name,
	}
}

func (f *fsManager) Exists() bool { return f.m.Exists() }

func (f *fsManager) Path(controller string) string { return f.m.Path(controller) }

// makeDirs creates the cgroup directories of paths, with their missing
// parents, and lists the ones it made, parents first, without duplicates:
// Destroy removes exactly those. (Creating them here, where each mkdir
// tells whether the directory existed, costs one syscall per directory;
// looking first and letting the library create them cost three.) A
// directory it cannot make is left to the library, which knows when to
// ignore the error (rootless) and how to explain it.
func makeDirs(paths map[string]string) []string {
	var out []string
	made := map[string]bool{}
	var mk func(d string) bool
	mk = func(d string) bool {
		if d == "/" || d == "." || made[d] {
			return true
		}
		err := unix.Mkdir(d, 0o755)
		if err == unix.ENOENT && mk(filepath.Dir(d)) {
			err = unix.Mkdir(d, 0o755)
		}
		switch err {
		case nil:
			made[d] = true
			out = append(out, d)
			return true
		case unix.EEXIST:
			return true
		}
		return false
	}
	for _, p := range paths {
		if p != "" {
			mk(p)
		}
	}
	// Parents before children across controllers too.
	slices.SortFunc(out, func(a, b string) int {
		if d := strings.Count(a, "/") - strings.Count(b, "/"); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}
