package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Idmapped mounts (mounts[].uidMappings and gidMappings, idmap): the
// mappings are a user namespace's, as runc writes them (containerID is the
// id on the source filesystem, hostID the id seen through the mount), so
// with 1000 -> 0 a host directory whose files belong to 1000:1000 is
// root's in the container, and a file root makes there belongs to
// 1000:1000 on the host; an idmap mount with no mappings to take is
// refused by name.
func TestIDMappedMount(t *testing.T) { forRunners(t, testIDMappedMount) }

func testIDMappedMount(t *testing.T, e *env) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "f")} {
		if err := os.Chown(p, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	one := []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 0, Size: 1}}
	out := e.mustSh("idmap", "stat -c %u:%g /data/f; touch /data/new; stat -c %u:%g /data/new", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: dir,
			Options: []string{"rbind", "idmap"}, UIDMappings: one, GIDMappings: one})
	})
	if l := lines(out); len(l) != 2 || l[0] != "0:0" || l[1] != "0:0" {
		t.Errorf("in the container: %q, want 0:0 for the host's 1000:1000 file and for a new one", l)
	}
	fi, err := os.Stat(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
		t.Errorf("the file root made through the mapping is %d:%d on the host, want 1000:1000", st.Uid, st.Gid)
	}
	// Without the mapping the same file is 1000's.
	if got := strings.TrimSpace(e.mustSh("noidmap", "stat -c %u:%g /data/f", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: dir, Options: []string{"rbind"}})
	})); got != "1000:1000" {
		t.Errorf("without idmapping: %q, want 1000:1000", got)
	}
	r := e.sh("idmap-none", "true", func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: dir, Options: []string{"rbind", "idmap"}})
	})
	if r.code == 0 || !strings.Contains(r.stderr, "mounts[") {
		t.Errorf("an idmap mount without mappings or a user namespace was not refused by name: %s", r)
	}
}
