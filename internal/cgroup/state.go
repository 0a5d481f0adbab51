package cgroup

import (
	"fmt"
	"maps"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
)

// State is what a later command needs to manage the cgroup again, without
// the container's config. It is meant to be stored as JSON.
type State struct {
	Mode     string `json:"mode"` // Mode() when the cgroup was made
	Systemd  bool   `json:"systemd,omitempty"`
	Rootless bool   `json:"rootless,omitempty"`
	// Paths maps each controller (v1) or "" (v2, and the cgroup2 mount of a
	// hybrid host) to the cgroup's directory.
	Paths map[string]string `json:"paths"`
	// Created lists the directories Apply made, parents included, that
	// Destroy removes.
	Created []string `json:"created,omitempty"`
	// The systemd unit: parent slice, scope prefix and name.
	Parent      string `json:"parent,omitempty"`
	ScopePrefix string `json:"scopePrefix,omitempty"`
	Name        string `json:"name,omitempty"`
}

// FromState rebuilds the manager of a cgroup made by an earlier command.
func FromState(s State) (Manager, error) {
	mode := Mode()
	if s.Mode != mode {
		return nil, fmt.Errorf("cgroup state was recorded on a %q host but this host is now %q (rebooted with other cgroups?): remove the container", s.Mode, mode)
	}
	if len(s.Paths) == 0 && !s.Rootless {
		return nil, fmt.Errorf("cgroup state has no paths: the container's cgroup was never created or was already destroyed")
	}
	cg := &cgroups.Cgroup{
		// The managers want Resources; devices are never touched again.
		Resources:   &cgroups.Resources{SkipDevices: true},
		Systemd:     s.Systemd,
		Rootless:    s.Rootless,
		Parent:      s.Parent,
		ScopePrefix: s.ScopePrefix,
		Name:        s.Name,
	}
	m, err := manager.NewWithPaths(cg, maps.Clone(s.Paths))
	if err != nil {
		return nil, fmt.Errorf("cgroup %v: %w", s.Paths, err)
	}
	mg := newManager(m, cg, mode)
	mg.created = append([]string(nil), s.Created...)
	return mg, nil
}
