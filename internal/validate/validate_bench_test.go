package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hako-dev/hako/internal/spec"
	"github.com/hako-dev/hako/internal/testutil"
)

// benchConfig is the bench bundle's config: hako spec, no terminal,
// /bin/true.
func benchConfig(b *testing.B) []byte {
	b.Helper()
	s := spec.Default()
	s.Process.Terminal = false
	s.Process.Args = []string{"/bin/true"}
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkData checks a configuration alone (no rootfs, no host checks).
func BenchmarkData(b *testing.B) {
	data := benchConfig(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if r := Data(ConfigName, data, ""); !r.OK() {
			b.Fatal(r.Err())
		}
	}
}

// BenchmarkDataBroken checks a configuration full of problems: the
// position-tracking parser, the type walk and every message.
func BenchmarkDataBroken(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid", "runc-spec.json"))
	if err != nil {
		b.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		b.Fatal(err)
	}
	p := m["process"].(map[string]any)
	p["args"] = []any{}
	p["cwd"] = "relative"
	p["rlimits"] = []any{map[string]any{"type": "RLIMIT_NOPE", "soft": 2, "hard": 1}}
	m["mounts"] = []any{map[string]any{"destination": "proc", "type": 7}}
	data, _ = json.Marshal(m)
	b.ReportAllocs()
	for b.Loop() {
		if r := Data(ConfigName, data, ""); r.OK() {
			b.Fatal("broken config passed")
		}
	}
}

// BenchmarkBundle is what create and run pay before anything is created:
// config.json read and checked, with the rootfs and host checks (the
// process's executable looked up in a busybox rootfs).
func BenchmarkBundle(b *testing.B) {
	dir := b.TempDir()
	if err := os.Rename(testutil.BusyboxRootfs(b), filepath.Join(dir, "rootfs")); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigName), benchConfig(b), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := Bundle(dir)
		if err != nil {
			b.Fatal(err)
		}
		if !r.OK() {
			b.Fatal(r.Err())
		}
	}
}
