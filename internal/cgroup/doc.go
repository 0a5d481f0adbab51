// Package cgroup puts a container's processes into control groups and
// manages them for the runtime's PARENT side: create and join (Apply), limits
// (Set, for `hako update`), the list of processes (kill --all, ps), pause and
// resume (Freeze, Thaw), statistics (`events --stats`) and removal.
//
// It is an adapter over github.com/opencontainers/cgroups, whose fs (cgroup
// v1), fs2 (cgroup v2) and systemd managers do the kernel work. This package
// adds what a runtime needs on top:
//
//   - the conversion of the OCI config's linux.resources, with every bad
//     value reported by its JSON path (`linux.resources.memory.swap`);
//   - the device rules every container needs (/dev/null, /dev/zero, ...,
//     the ptys), appended after the config's own rules, so that the usual
//     "deny everything" first rule of `runc spec` still leaves them usable;
//   - a JSON State from which a later command (kill, ps, pause, update,
//     events, delete) rebuilds the manager without the config;
//   - cleanup: a failed Apply removes what it created, and Destroy removes
//     every directory Apply created, parents included (when empty).
//
// Hosts come in three modes (see Mode): "v1", "hybrid" (v1 controllers plus
// a cgroup2 mount at /sys/fs/cgroup/unified, which this package joins too
// but does not use for limits) and "v2". With Config.Systemd, the cgroup is a
// systemd transient unit (cgroupsPath "slice:prefix:name"); that needs a
// running systemd.
package cgroup
