package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// benchConfig is the bench bundle's config (hako spec, no terminal,
// /bin/true); big adds what a Kubernetes pod's container carries: dozens
// of environment variables, mounts and annotations.
func benchConfig(b *testing.B, big bool) []byte {
	b.Helper()
	s := Default()
	s.Process.Terminal = false
	s.Process.Args = []string{"/bin/true"}
	if big {
		for i := 0; i < 60; i++ {
			n := strconv.Itoa(i)
			s.Process.Env = append(s.Process.Env, "SERVICE_"+n+"_PORT=tcp://10.0.0."+n+":80")
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/var/run/secrets/" + n, Type: "bind", Source: "/var/lib/kubelet/pods/x/volumes/" + n, Options: []string{"rbind", "ro"}})
		}
		s.Annotations = map[string]string{}
		for i := 0; i < 30; i++ {
			s.Annotations["io.kubernetes.annotation."+strconv.Itoa(i)] = "value"
		}
	}
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func BenchmarkParse(b *testing.B) {
	for _, big := range []bool{false, true} {
		name := "default"
		if big {
			name = "pod-sized"
		}
		b.Run(name, func(b *testing.B) {
			data := benchConfig(b, big)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(ConfigName, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadBundle is what create and run pay: read and decode
// config.json from the bundle.
func BenchmarkLoadBundle(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigName), benchConfig(b, false), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadBundle(dir); err != nil {
			b.Fatal(err)
		}
	}
}
