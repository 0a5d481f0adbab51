// Package cgwarm takes the cgroup attach stall off a container's critical
// path.
//
// Moving a process between cgroups (a write to cgroup.procs) takes the
// kernel's cgroup_threadgroup_rwsem for writing, and the first writer
// after a quiet period waits for an RCU grace period (rcu_sync_enter):
// about 10 ms on the benchmark machine, on every `hako create`. Writers
// that follow within a grace period or two pass straight through.
//
// Start performs a no-op migration in the background at the very start of
// create: this process's own pid written to the cgroup.procs of a cgroup
// it already belongs to. The kernel finds nothing to move, but the writer
// pays the grace period while the runtime validates the bundle and starts
// the init; the real move of the init, a few milliseconds later, finds the
// lock warm. Nothing changes in any cgroup; every error is ignored.
//
// When several creates run at once (each holds a shared flock on the
// state root directory), the lock is warm anyway and Start does not add a
// writer.
package cgwarm
