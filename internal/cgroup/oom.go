package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// OOMNotifier reports the OOM kills of a cgroup, as `runc events` shows
// them: on v1 through memory.oom_control and an eventfd registered in
// cgroup.event_control; on v2 by watching memory.events (inotify) and
// counting oom_kill.
type OOMNotifier struct {
	fd     int    // the eventfd (v1) or the inotify instance (v2)
	dir    string // the memory cgroup (v1)
	events string // memory.events (v2)
	kills  uint64
	closed atomic.Bool
}

// NotifyOOM starts watching the memory cgroup of m for OOM kills.
func NotifyOOM(m Manager) (*OOMNotifier, error) {
	f, ok := m.(*fsManager)
	if !ok {
		return nil, errors.New("no memory cgroup to watch")
	}
	if f.mode == ModeV2 {
		dir := f.m.Path("")
		events := filepath.Join(dir, "memory.events")
		in, err := unix.InotifyInit1(unix.IN_CLOEXEC)
		if err != nil {
			return nil, fmt.Errorf("inotify: %w", err)
		}
		if _, err := unix.InotifyAddWatch(in, events, unix.IN_MODIFY); err != nil {
			unix.Close(in)
			return nil, fmt.Errorf("watching %s: %w", events, err)
		}
		n := &OOMNotifier{fd: in, events: events}
		n.kills, _ = oomKills(events)
		return n, nil
	}
	dir := f.m.Path("memory")
	if dir == "" {
		return nil, errors.New("the container has no memory cgroup")
	}
	ctl, err := os.Open(filepath.Join(dir, "memory.oom_control"))
	if err != nil {
		return nil, err
	}
	defer ctl.Close()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	reg := fmt.Sprintf("%d %d", efd, ctl.Fd())
	if err := os.WriteFile(filepath.Join(dir, "cgroup.event_control"), []byte(reg), 0); err != nil {
		unix.Close(efd)
		return nil, fmt.Errorf("registering for OOM events in %s: %w", dir, err)
	}
	return &OOMNotifier{fd: efd, dir: dir}, nil
}

// Wait blocks until the next OOM kill (true), or until the cgroup is gone
// or Stop was called (false).
func (n *OOMNotifier) Wait() bool {
	buf := make([]byte, 4096)
	for !n.closed.Load() {
		p := []unix.PollFd{{Fd: int32(n.fd), Events: unix.POLLIN}}
		if k, err := unix.Poll(p, 500); err == unix.EINTR || k == 0 {
			continue // and look at closed again
		} else if err != nil {
			return false
		}
		k, err := unix.Read(n.fd, buf)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil || k <= 0 {
			return false
		}
		if n.events == "" {
			// v1: the eventfd also fires when the cgroup is removed.
			if _, err := os.Stat(filepath.Join(n.dir, "memory.oom_control")); err != nil {
				return false
			}
			return true
		}
		kills, err := oomKills(n.events)
		if err != nil {
			return false
		}
		if kills > n.kills {
			n.kills = kills
			return true
		}
	}
	return false
}

// Stop makes Wait return false within half a second. The fd stays open
// until Release, once Wait has returned: a reused fd number must never be
// read.
func (n *OOMNotifier) Stop() { n.closed.Store(true) }

// Release closes the notifier's fd, once Wait has returned.
func (n *OOMNotifier) Release() { unix.Close(n.fd) }

// oomKills reads the oom_kill count of a v2 memory.events file.
func oomKills(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("oom_kill ")); ok {
			return strconv.ParseUint(string(v), 10, 64)
		}
	}
	return 0, nil
}
