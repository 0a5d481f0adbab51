// Command cgroup is the second floor of the bench's RSS row (d): the first
// floor (decode config.json) plus a cgroup made, as hako makes it, with the
// chosen library github.com/opencontainers/cgroups: its manager (and with
// it the systemd driver) and its device-rule writers (and with them
// cilium/ebpf). It joins the cgroup, writes a deny-all device rule and the
// usual character devices, prints the cgroup's directories and exits; the
// bench driver removes them.
//
//	cgroup BUNDLE
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/cgroups"
	_ "github.com/opencontainers/cgroups/devices" // the device-rule writers, as hako links them
	devconfig "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/cgroups/manager"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cgroup:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: cgroup BUNDLE")
	}
	b, err := os.ReadFile(filepath.Join(os.Args[1], "config.json"))
	if err != nil {
		return err
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	rules := []*devconfig.Rule{{Type: devconfig.WildcardDevice, Major: devconfig.Wildcard, Minor: devconfig.Wildcard, Permissions: "rwm", Allow: false}}
	for _, d := range [][2]int64{{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}} {
		rules = append(rules, &devconfig.Rule{Type: devconfig.CharDevice, Major: d[0], Minor: d[1], Permissions: "rwm", Allow: true})
	}
	cg := &cgroups.Cgroup{Parent: "/hako-bench-floor", Name: strconv.Itoa(os.Getpid()), Resources: &cgroups.Resources{Devices: rules}}
	m, err := manager.New(cg)
	if err != nil {
		return err
	}
	// Printed first, so that the driver removes whatever Apply made.
	for _, p := range m.GetPaths() {
		fmt.Println(p)
	}
	if err := m.Apply(os.Getpid()); err != nil {
		return err
	}
	return m.Set(cg.Resources)
}
