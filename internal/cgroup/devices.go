package cgroup

import (
	"fmt"
	"os"
	"path/filepath"

	devconfig "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// defaultDevices are the device rules every container gets after its own
// rules: the devices of runtime-spec config-linux.md "Default Devices"
// (/dev/null, zero, full, random, urandom, tty, console, ptmx), the ptys a
// terminal needs, /dev/net/tun (as runc allows it), and mknod (not access) of
// any device, which CAP_MKNOD still guards.
var defaultDevices = []devconfig.Rule{
	{Type: devconfig.CharDevice, Major: devconfig.Wildcard, Minor: devconfig.Wildcard, Permissions: "m", Allow: true},
	{Type: devconfig.BlockDevice, Major: devconfig.Wildcard, Minor: devconfig.Wildcard, Permissions: "m", Allow: true},
	{Type: devconfig.CharDevice, Major: 1, Minor: 3, Permissions: "rwm", Allow: true},                    // /dev/null
	{Type: devconfig.CharDevice, Major: 1, Minor: 5, Permissions: "rwm", Allow: true},                    // /dev/zero
	{Type: devconfig.CharDevice, Major: 1, Minor: 7, Permissions: "rwm", Allow: true},                    // /dev/full
	{Type: devconfig.CharDevice, Major: 1, Minor: 8, Permissions: "rwm", Allow: true},                    // /dev/random
	{Type: devconfig.CharDevice, Major: 1, Minor: 9, Permissions: "rwm", Allow: true},                    // /dev/urandom
	{Type: devconfig.CharDevice, Major: 5, Minor: 0, Permissions: "rwm", Allow: true},                    // /dev/tty
	{Type: devconfig.CharDevice, Major: 5, Minor: 1, Permissions: "rwm", Allow: true},                    // /dev/console
	{Type: devconfig.CharDevice, Major: 5, Minor: 2, Permissions: "rwm", Allow: true},                    // /dev/ptmx
	{Type: devconfig.CharDevice, Major: 136, Minor: devconfig.Wildcard, Permissions: "rwm", Allow: true}, // /dev/pts/*
	{Type: devconfig.CharDevice, Major: 10, Minor: 200, Permissions: "rwm", Allow: true},                 // /dev/net/tun
}

// deviceRules builds the device cgroup rules of a container: the config's
// linux.resources.devices in order, then an allow rule for each node in
// linux.devices (the container gets the nodes it was given), then
// defaultDevices. Later rules win, so a leading "deny all" keeps the rest.
func deviceRules(rules []specs.LinuxDeviceCgroup, nodes []specs.LinuxDevice) ([]*devconfig.Rule, error) {
	var out []*devconfig.Rule
	for i, d := range rules {
		field := fmt.Sprintf("linux.resources.devices[%d]", i)
		r := &devconfig.Rule{Allow: d.Allow, Major: devconfig.Wildcard, Minor: devconfig.Wildcard}
		switch d.Type {
		case "", "a":
			r.Type = devconfig.WildcardDevice
		case "b":
			r.Type = devconfig.BlockDevice
		case "c":
			r.Type = devconfig.CharDevice
		default:
			return nil, fmt.Errorf("%s.type: %q is not a device cgroup type: use \"a\" (all), \"b\" (block) or \"c\" (char)", field, d.Type)
		}
		if d.Major != nil {
			if *d.Major < 0 {
				return nil, fmt.Errorf("%s.major: %d is negative: omit it to match every major number", field, *d.Major)
			}
			r.Major = *d.Major
		}
		if d.Minor != nil {
			if *d.Minor < 0 {
				return nil, fmt.Errorf("%s.minor: %d is negative: omit it to match every minor number", field, *d.Minor)
			}
			r.Minor = *d.Minor
		}
		r.Permissions = devconfig.Permissions(d.Access)
		if d.Access == "" {
			r.Permissions = "rwm"
		}
		if !validAccess(d.Access) {
			return nil, fmt.Errorf("%s.access: %q is not a combination of r (read), w (write) and m (mknod)", field, d.Access)
		}
		out = append(out, r)
	}
	for i, n := range nodes {
		field := fmt.Sprintf("linux.devices[%d]", i)
		var t devconfig.Type
		switch n.Type {
		case "c", "u":
			t = devconfig.CharDevice
		case "b":
			t = devconfig.BlockDevice
		case "p":
			continue // a fifo is not governed by the devices cgroup
		default:
			return nil, fmt.Errorf("%s.type: %q is not a device type: use \"c\", \"u\", \"b\" or \"p\"", field, n.Type)
		}
		out = append(out, &devconfig.Rule{Type: t, Major: n.Major, Minor: n.Minor, Permissions: "rwm", Allow: true})
	}
	for _, d := range defaultDevices {
		r := d
		out = append(out, &r)
	}
	return out, nil
}

func validAccess(s string) bool {
	seen := map[rune]bool{}
	for _, c := range s {
		if (c != 'r' && c != 'w' && c != 'm') || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// writeV1Devices sets the rules of a new v1 devices cgroup in their order
// (runtime-spec: "The runtime MUST apply entries in the listed order"):
// everything denied first, then each rule written to devices.allow or
// devices.deny. The kernel lists the exceptions in the order they were
// added (devices.list).
func writeV1Devices(dir string, rules []*devconfig.Rule) error {
	write := func(file, rule string) error {
		f, err := os.OpenFile(filepath.Join(dir, file), os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteString(rule)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing %q to %s: %w", rule, filepath.Join(dir, file), err)
		}
		return nil
	}
	if err := write("devices.deny", "a"); err != nil {
		return err
	}
	for _, r := range rules {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := write(file, r.CgroupString()); err != nil {
			return err
		}
	}
	return nil
}
