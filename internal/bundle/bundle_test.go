package bundle

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/hako-dev/hako/internal/image/imagetest"
	"github.com/hako-dev/hako/internal/spec"
)

func TestCreate(t *testing.T) {
	host := imagetest.Platforms()[0]
	dir := filepath.Join(t.TempDir(), "bundle")
	var seen []int
	s, err := Create(context.Background(), imagetest.Image(t, host), dir, Options{},
		Unpacking{OnLayer: func(i, n int, _ v1.Descriptor) { seen = append(seen, i) }})
	if err != nil {
		t.Fatal(err)
	}
	imagetest.CheckRootfs(t, filepath.Join(dir, "rootfs"), host)
	loaded, err := spec.LoadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(loaded.Process.Args, " ") != "cat /etc/hello" || loaded.Process.Terminal || loaded.Process.Cwd != "/" {
		t.Errorf("config.json process = %+v", loaded.Process)
	}
	if strings.Join(s.Process.Env, " ") != "PATH=/usr/sbin:/usr/bin:/sbin:/bin GREETING=hello" {
		t.Errorf("env = %q", s.Process.Env)
	}
	if len(seen) != 2 {
		t.Errorf("OnLayer called for %v", seen)
	}
	// A second bundle into the same directory is refused.
	if _, err := Create(context.Background(), imagetest.Image(t, host), dir, Options{}, Unpacking{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("err = %v", err)
	}
}

func TestCreateRefusesNonEmptyRootfs(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rootfs/etc"), 0o755)
	_, err := Create(context.Background(), imagetest.Image(t, imagetest.Platforms()[0]), dir, Options{}, Unpacking{})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs/etc")); err != nil {
		t.Error("Create removed a directory it did not make")
	}
}

func TestCreateCleansUpAfterHostileLayer(t *testing.T) {
	base := imagetest.Image(t, imagetest.Platforms()[0])
	bad := imagetest.Tar(t, []imagetest.Entry{{Name: "../../escape", Body: "x", Type: '0', Mode: 0o644}})
	layer := staticLayer(t, bad)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	_, err = Create(context.Background(), img, dir, Options{}, Unpacking{})
	if err == nil || !strings.Contains(err.Error(), "outside the root filesystem") {
		t.Fatalf("err = %v", err)
	}
	for _, p := range []string{"rootfs", "config.json", "../escape", "../../escape"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
}

func TestCreateChecksLayerDigests(t *testing.T) {
	ldir := filepath.Join(t.TempDir(), "layout")
	img := imagetest.Image(t, imagetest.Platforms()[0])
	p, err := layout.Write(ldir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	d, _ := img.Digest()
	// Corrupt the upper layer: same length, other bytes.
	blob := filepath.Join(ldir, "blobs/sha256", m.Layers[1].Digest.Hex)
	tampered := imagetest.Tar(t, []imagetest.Entry{{Name: "etc/hello", Body: "tampered", Type: '0', Mode: 0o644}})
	os.WriteFile(blob, gzipBytes(t, tampered), 0o644)
	stored, err := p.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	_, err = Create(context.Background(), stored, dir, Options{}, Unpacking{})
	if err == nil || !strings.Contains(err.Error(), "store is corrupt") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "rootfs")); err == nil {
		t.Error("rootfs left behind")
	}
}
