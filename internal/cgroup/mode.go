package cgroup

import "github.com/opencontainers/cgroups"

// Host cgroup modes, as Mode reports them.
const (
	ModeV1     = "v1"
	ModeHybrid = "hybrid"
	ModeV2     = "v2"
)

// Mode reports how this host mounts cgroups: "v2" (unified hierarchy only),
// "hybrid" (v1 controllers and a cgroup2 mount at /sys/fs/cgroup/unified) or
// "v1".
func Mode() string {
	switch {
	case cgroups.IsCgroup2UnifiedMode():
		return ModeV2
	case cgroups.IsCgroup2HybridMode():
		return ModeHybrid
	}
	return ModeV1
}
