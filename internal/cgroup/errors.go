package cgroup

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// fileFields maps the cgroup files the library writes (v1 and v2) to the
// config field whose value went there.
var fileFields = []struct{ file, field string }{
	{"memory.memsw.limit_in_bytes", "linux.resources.memory.swap"},
	{"memory.swap.max", "linux.resources.memory.swap"},
	{"memory.soft_limit_in_bytes", "linux.resources.memory.reservation"},
	{"memory.low", "linux.resources.memory.reservation"},
	{"memory.limit_in_bytes", "linux.resources.memory.limit"},
	{"memory.max", "linux.resources.memory.limit"},
	{"memory.swappiness", "linux.resources.memory.swappiness"},
	{"memory.oom_control", "linux.resources.memory.disableOOMKiller"},
	{"cpu.shares", "linux.resources.cpu.shares"},
	{"cpu.weight", "linux.resources.cpu.shares"},
	{"cpu.cfs_quota_us", "linux.resources.cpu.quota"},
	{"cpu.cfs_period_us", "linux.resources.cpu.period"},
	{"cpu.cfs_burst_us", "linux.resources.cpu.burst"},
	{"cpu.max.burst", "linux.resources.cpu.burst"},
	{"cpu.max", "linux.resources.cpu.quota"},
	{"cpu.rt_runtime_us", "linux.resources.cpu.realtimeRuntime"},
	{"cpu.rt_period_us", "linux.resources.cpu.realtimePeriod"},
	{"cpu.idle", "linux.resources.cpu.idle"},
	{"cpuset.cpus", "linux.resources.cpu.cpus"},
	{"cpuset.mems", "linux.resources.cpu.mems"},
	{"pids.max", "linux.resources.pids.limit"},
	{"blkio.weight_device", "linux.resources.blockIO.weightDevice"},
	{"blkio.leaf_weight_device", "linux.resources.blockIO.weightDevice"},
	{"blkio.leaf_weight", "linux.resources.blockIO.leafWeight"},
	{"blkio.weight", "linux.resources.blockIO.weight"},
	{"blkio.bfq.weight", "linux.resources.blockIO.weight"},
	{"blkio.throttle.", "linux.resources.blockIO"},
	{"io.", "linux.resources.blockIO"},
	{"hugetlb.", "linux.resources.hugepageLimits"},
	{"net_cls.classid", "linux.resources.network.classID"},
	{"net_prio.ifpriomap", "linux.resources.network.priorities"},
	{"rdma.max", "linux.resources.rdma"},
	{"devices.", "linux.resources.devices"},
}

// explain prefixes err with the config field behind the cgroup file it
// names (else with field), and adds a hint for the errnos the kernel uses to
// refuse a value.
func explain(err error, field, what string) error {
	msg := err.Error()
	for _, f := range fileFields {
		if strings.Contains(msg, "/"+f.file) {
			field = f.field
			break
		}
	}
	hint := ""
	switch {
	case errors.Is(err, unix.EBUSY) && strings.HasPrefix(field, "linux.resources.memory"):
		hint = " (the processes already use more memory than that: raise the limit)"
	case errors.Is(err, unix.EINVAL) && strings.HasPrefix(field, "linux.resources.cpu.realtime"):
		hint = " (the kernel refused the value: the real-time runtimes of a cgroup's children must fit in its own cpu.rt_runtime_us, which is 0 for a new cgroup — give the parent cgroup real-time time first, or place the container under one that has it with linux.cgroupsPath)"
	case errors.Is(err, unix.ERANGE), errors.Is(err, unix.EINVAL):
		hint = " (the kernel refused the value)"
	}
	return fmt.Errorf("%s: %s: %w%s", field, what, err, hint)
}
