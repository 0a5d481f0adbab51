package runtime

import "github.com/hako-dev/hako/internal/cgroup"

// earlyCgroup creates and configures a container's cgroup in the
// background while its init starts, so that only the move of the init
// (cgroup.Manager.Join) is left for spawn's ApplyCgroup hook: on cgroup v1
// the directories and limits of a dozen hierarchies take milliseconds.
// With systemd the scope needs its first process, so everything waits for
// the pid as before.
type earlyCgroup struct {
	cg    cgroup.Manager
	early bool
	done  chan struct{}
	err   error
}

func startCgroup(cg cgroup.Manager, systemd bool) *earlyCgroup {
	e := &earlyCgroup{cg: cg, done: make(chan struct{})}
	if systemd {
		close(e.done)
		return e
	}
	e.early = true
	go func() {
		e.err = cg.Apply(-1)
		close(e.done)
	}()
	return e
}

// wait returns once the background work is over (before a failed create
// destroys the cgroup, so the two never race).
func (e *earlyCgroup) wait() error {
	<-e.done
	return e.err
}

// apply is spawn's ApplyCgroup hook: it puts pid into the cgroup.
func (e *earlyCgroup) apply(pid int) error {
	if !e.early {
		return e.cg.Apply(pid)
	}
	if err := e.wait(); err != nil {
		return err
	}
	return e.cg.Join(pid)
}
