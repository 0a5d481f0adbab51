package state

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// benchContainer is a state as create writes it, config included.
func benchContainer(id string) *Container {
	return &Container{
		OCIVersion: "1.0.2", ID: id, InitPid: os.Getpid(), InitStart: 12345,
		Bundle: "/var/lib/bundles/" + id, Rootfs: "/var/lib/bundles/" + id + "/rootfs",
		Created: time.Now().UTC(), Owner: "root",
		Namespaces: map[string]string{"pid": "/proc/1/ns/pid", "mount": "/proc/1/ns/mnt"},
		Config:     []byte(`{"ociVersion":"1.0.2","process":{"args":["/bin/true"],"cwd":"/"},"root":{"path":"rootfs"}}`),
	}
}

// BenchmarkLifecycle is the store's share of create + delete: the
// container's directory, its lock, an atomic state.json (the config in
// it), a load and the removal. Run it with TMPDIR on a tmpfs to see what
// it costs under /run, and on a disk filesystem for a --root there.
func BenchmarkLifecycle(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	c := benchContainer("bench")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Create(c.ID); err != nil {
			b.Fatal(err)
		}
		unlock, err := s.Lock(c.ID)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Save(c); err != nil {
			b.Fatal(err)
		}
		unlock()
		if _, err := s.Load(c.ID); err != nil {
			b.Fatal(err)
		}
		if err := s.Remove(c.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList is `hako list` over 100 containers (names only).
func BenchmarkList(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		c := benchContainer("c" + strconv.Itoa(i))
		if _, err := s.Create(c.ID); err != nil {
			b.Fatal(err)
		}
		if err := s.Save(c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ids, err := s.List()
		if err != nil || len(ids) != 100 {
			b.Fatalf("%d ids, %v", len(ids), err)
		}
	}
}

// BenchmarkProcStartTime is the pid-reuse check every command makes.
func BenchmarkProcStartTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ProcStartTime(os.Getpid()); err != nil {
			b.Fatal(err)
		}
	}
}
