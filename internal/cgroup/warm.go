package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// WarmAttach takes the cgroup attach stall off a container's critical
// path.
//
// Moving a process between cgroups (a write to cgroup.procs) takes the
// kernel's cgroup_threadgroup_rwsem for writing, and the first writer
// after a quiet period waits for an RCU grace period (rcu_sync_enter):
// about 10 ms on the benchmark machine, on every `hako create`. Writers
// that follow within a grace period or two pass straight through.
//
// WarmAttach performs a no-op migration in the background at the very start of
// create: this process's own pid written to the cgroup.procs of a cgroup
// it already belongs to. The kernel finds nothing to move, but the writer
// pays the grace period while the runtime validates the bundle and starts
// the init; the real move of the init, a few milliseconds later, finds the
// lock warm. Nothing changes in any cgroup; every error is ignored.
//
// When several creates run at once (each holds a shared flock on the
// state root directory), the lock is warm anyway and WarmAttach does not add a
// writer.
//
// It begins the no-op migration in a goroutine and returns at once,
// unless another create of the same state root (dir) is under way: then
// the lock is warm already, and one more writer would only add to the
// contention (20 containers created at once took 8 % longer with the
// warm-up than without). The returned release marks this create as done;
// call it when the container's process is in its cgroup. It does
// nothing unless the process runs as root.
func WarmAttach(dir string) (release func()) {
	if os.Geteuid() != 0 {
		return func() {}
	}
	alone, release := warmClaim(dir)
	if !alone {
		return release
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return release
	}
	p := warmProcsFile(string(b), "/sys/fs/cgroup")
	if p == "" {
		return release
	}
	go warmWrite(p, os.Getpid())
	return release
}

// claim takes a shared flock on the state root dir itself (no file is
// added to it) for the caller's create and reports whether no other create
// holds one.
func warmClaim(dir string) (alone bool, release func()) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true, func() {}
	}
	// Every create holds a shared lock while it runs; the one that gets
	// the exclusive lock is the only one.
	alone = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) == nil
	unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB)
	return alone, func() { unix.Close(fd) }
}

func warmWrite(path string, pid int) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	f.Write([]byte(strconv.Itoa(pid)))
	f.Close()
}

// procsFile picks, from the content of /proc/self/cgroup, the cgroup.procs
// file of this process's own cgroup in the first hierarchy mounted below
// mnt: a v1 controller hierarchy (mounted at mnt/CONTROLLERS, as systemd
// and Docker lay them out), else the v2 one (at mnt, or mnt/unified on a
// hybrid layout). It returns "" when none exists.
func warmProcsFile(selfCgroup, mnt string) string {
	var v2 string
	for _, line := range strings.Split(selfCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || !strings.HasPrefix(parts[2], "/") || strings.Contains(parts[2], "..") {
			continue
		}
		if parts[1] == "" {
			v2 = parts[2]
			continue
		}
		if strings.HasPrefix(parts[1], "name=") {
			continue
		}
		p := filepath.Join(mnt, parts[1], parts[2], "cgroup.procs")
		if warmExists(p) {
			return p
		}
	}
	if v2 != "" {
		for _, dir := range []string{filepath.Join(mnt, "unified"), mnt} {
			if p := filepath.Join(dir, v2, "cgroup.procs"); warmExists(p) {
				return p
			}
		}
	}
	return ""
}

func warmExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
