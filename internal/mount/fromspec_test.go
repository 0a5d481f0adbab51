package mount

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FromSpec resolves relative bind sources against the bundle, leaves every
// other source alone, and does not change the spec.
func TestFromSpecResolvesRelativeBindSources(t *testing.T) {
	s := &specs.Spec{
		Root: &specs.Root{Path: "rootfs", Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/data", Type: "bind", Source: "data"},
			{Destination: "/etc/x", Source: "conf/x", Options: []string{"rbind", "ro"}},
			{Destination: "/abs", Type: "bind", Source: "/srv/abs"},
		},
		Linux: &specs.Linux{MaskedPaths: []string{"/proc/kcore"}},
	}
	c := FromSpec(s, "/b/rootfs", "/b")
	want := []string{"proc", "/b/data", "/b/conf/x", "/srv/abs"}
	for i, m := range c.Mounts {
		if m.Source != want[i] {
			t.Errorf("mounts[%d].source = %q, want %q", i, m.Source, want[i])
		}
	}
	if s.Mounts[1].Source != "data" {
		t.Errorf("the spec was changed: mounts[1].source = %q", s.Mounts[1].Source)
	}
	if !c.Readonly || c.Rootfs != "/b/rootfs" || len(c.MaskedPaths) != 1 {
		t.Errorf("config %+v", c)
	}
}
