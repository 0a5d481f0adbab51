package cgroup

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/opencontainers/cgroups"
	_ "github.com/opencontainers/cgroups/devices" // lets the managers write device rules
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/cgroups/systemd"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Config is what New needs from the OCI config and the command line.
type Config struct {
	Path      string                // linux.cgroupsPath; "" = "/hako/<ID>" (or "system.slice:hako:<ID>" with Systemd)
	ID        string                // container id
	Systemd   bool                  // --systemd-cgroup: Path is "slice:prefix:name"
	Rootless  bool                  // ignore permission errors when Path is ""
	Resources *specs.LinuxResources // may be nil
	// Devices is linux.devices: each node created in the container is
	// also allowed in the devices cgroup.
	Devices []specs.LinuxDevice
}

// New checks c and returns a manager for the container's cgroup. Nothing is
// created before Apply. Bad values are errors naming their field, e.g.
// `linux.resources.memory.limit`.
func New(c Config) (Manager, error) {
	if c.ID == "" || c.ID == "." || c.ID == ".." || strings.ContainsAny(c.ID, "/\x00") {
		return nil, fmt.Errorf("container id %q cannot name a cgroup", c.ID)
	}
	mode := Mode()
	res, err := convertResources(c.Resources, mode)
	if err != nil {
		return nil, err
	}
	var rules []specs.LinuxDeviceCgroup
	if c.Resources != nil {
		rules = c.Resources.Devices
	}
	if res.Devices, err = deviceRules(rules, c.Devices); err != nil {
		return nil, err
	}
	cg := &cgroups.Cgroup{Resources: res, Systemd: c.Systemd, Rootless: c.Rootless}
	if c.Systemd {
		if err := systemdPath(cg, c.Path, c.ID); err != nil {
			return nil, err
		}
		if !systemd.IsRunningSystemd() {
			return nil, errors.New("--systemd-cgroup: systemd is not running on this host (no /run/systemd/system), so it cannot manage the container's cgroup: run without --systemd-cgroup to use the cgroup file system directly")
		}
	} else if err := fsPath(cg, c.Path, c.ID); err != nil {
		return nil, err
	}
	m, err := manager.New(cg)
	if err != nil {
		return nil, fmt.Errorf("cgroup for container %s: %w", c.ID, err)
	}
	return newManager(m, cg, mode), nil
}

// fsPath sets where a cgroupfs manager puts the cgroup. The default goes in
// Parent and Name rather than Path, so that a rootless container without
// access to cgroups runs without one (the library ignores permission errors
// only when no explicit path was asked for).
func fsPath(cg *cgroups.Cgroup, p, id string) error {
	if p == "" {
		cg.Parent, cg.Name = "/hako", id
		return nil
	}
	if parts := strings.Split(p, ":"); len(parts) == 3 && !strings.Contains(p, "/") {
		return fmt.Errorf("linux.cgroupsPath: %q looks like a systemd \"slice:prefix:name\" path: pass --systemd-cgroup, or use a path such as \"/hako/%s\"", p, id)
	}
	if strings.ContainsRune(p, 0) {
		return fmt.Errorf("linux.cgroupsPath: %q contains a NUL byte", p)
	}
	cg.Path = path.Clean(p)
	return nil
}

// systemdPath parses "slice:prefix:name".
func systemdPath(cg *cgroups.Cgroup, p, id string) error {
	if p == "" {
		cg.Parent, cg.ScopePrefix, cg.Name = "system.slice", "hako", id
		return nil
	}
	parts := strings.Split(p, ":")
	if len(parts) != 3 || parts[2] == "" {
		return fmt.Errorf("linux.cgroupsPath: %q is not \"slice:prefix:name\" as --systemd-cgroup expects, e.g. \"system.slice:hako:%s\"", p, id)
	}
	if parts[0] != "" && !strings.HasSuffix(parts[0], ".slice") {
		return fmt.Errorf("linux.cgroupsPath: the slice %q of %q must end in \".slice\"", parts[0], p)
	}
	if _, err := systemd.ExpandSlice(parts[0]); parts[0] != "" && err != nil {
		return fmt.Errorf("linux.cgroupsPath: the slice %q of %q: %w", parts[0], p, err)
	}
	cg.Parent, cg.ScopePrefix, cg.Name = parts[0], parts[1], parts[2]
	return nil
}
