package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/hako-dev/hako/internal/testutil"
)

// Created is the images' creation time.
var Created = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// Hello is what the image's default command prints.
const Hello = "hello from hako\n"

// Platforms of the index: the host's first.
func Platforms() []v1.Platform {
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	return []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}, {OS: "linux", Architecture: other}}
}

// Entry is a tar entry of a test layer.
type Entry struct {
	Name, Body, Link string
	Type             byte
	Mode             int64
	UID, GID         int
}

// Tar writes entries as a tar stream.
func Tar(t testing.TB, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Linkname: e.Link, Typeflag: e.Type, Mode: e.Mode,
			Uid: e.UID, Gid: e.GID, ModTime: Created, Size: int64(len(e.Body))}
		if e.Type != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar %s: %v", e.Name, err)
		}
		io.WriteString(tw, e.Body)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func dir(name string, mode int64) Entry { return Entry{Name: name, Type: tar.TypeDir, Mode: mode} }
func file(name, body string) Entry {
	return Entry{Name: name, Body: body, Type: tar.TypeReg, Mode: 0o644}
}
func symlink(name, target string) Entry {
	return Entry{Name: name, Link: target, Type: tar.TypeSymlink, Mode: 0o777}
}
func layerOf(t testing.TB, b []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// BaseLayer is the busybox layer: the binary, one symlink per applet,
// /etc/passwd and /etc/group, and files the upper layer hides.
func BaseLayer(t testing.TB) []byte {
	t.Helper()
	testutil.RequiresBusybox(t)
	baseMu.Lock()
	defer baseMu.Unlock()
	if baseLayer == nil {
		baseLayer = makeBaseLayer(t)
	}
	return baseLayer
}

var (
	baseMu    sync.Mutex
	baseLayer []byte
)

func makeBaseLayer(t testing.TB) []byte {
	bb, err := os.ReadFile(testutil.BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	applets, err := testutil.Applets()
	if err != nil {
		t.Fatal(err)
	}
	es := []Entry{
		dir("bin/", 0o755), dir("etc/", 0o755), dir("tmp/", 0o1777), dir("root/", 0o700),
		dir("proc/", 0o555), dir("sys/", 0o555), dir("dev/", 0o755), dir("home/", 0o755),
		{Name: "home/app/", Type: tar.TypeDir, Mode: 0o750, UID: 1000, GID: 1000},
		{Name: "bin/busybox", Body: string(bb), Type: tar.TypeReg, Mode: 0o755},
		file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
		file("etc/group", "root:x:0:\ndaemon:x:1:\nstaff:x:50:app\napp:x:1000:\nnogroup:x:65534:\n"),
		dir("old/", 0o755), file("old/stale.txt", "hidden by the upper layer\n"),
		dir("opaque/", 0o755), file("opaque/lower.txt", "hidden\n"), dir("opaque/sub/", 0o755), file("opaque/sub/lower.txt", "hidden\n"),
	}
	for _, a := range applets {
		if a != "busybox" {
			es = append(es, symlink("bin/"+a, "busybox"))
		}
	}
	return Tar(t, es)
}

// UpperLayer whites out old/stale.txt, makes opaque/ opaque, and adds
// /etc/hello and /etc/platform.
func UpperLayer(t testing.TB, p v1.Platform) []byte {
	return Tar(t, []Entry{
		file("old/.wh.stale.txt", ""),
		file("opaque/.wh..wh..opq", ""),
		file("opaque/upper.txt", "upper\n"),
		file("etc/hello", Hello),
		file("etc/platform", p.OS+"/"+p.Architecture+"\n"),
		{Name: "bin/setuid-marker", Body: "x", Type: tar.TypeReg, Mode: 0o4755},
	})
}

// Config is the image's configuration for a platform.
func Config(p v1.Platform, diffIDs []v1.Hash) *v1.ConfigFile {
	return &v1.ConfigFile{
		Architecture: p.Architecture, OS: p.OS,
		Created: v1.Time{Time: Created},
		Config: v1.Config{
			Env:        []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello"},
			Cmd:        []string{"cat", "/etc/hello"},
			WorkingDir: "/",
		},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs},
	}
}

// Image is the busybox image for platform p.
func Image(t testing.TB, p v1.Platform) v1.Image {
	t.Helper()
	base, upper := layerOf(t, BaseLayer(t)), layerOf(t, UpperLayer(t, p))
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, base, upper)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, Config(p, cf.RootFS.DiffIDs))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Index is the two-platform index of the busybox image.
func Index(t testing.TB) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range Platforms() {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        Image(t, p),
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx
}

// CheckRootfs checks a root filesystem unpacked from Image(t, p).
func CheckRootfs(t testing.TB, rootfs string, p v1.Platform) {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(rootfs, name))
		if err != nil {
			t.Errorf("rootfs: %v", err)
		}
		return string(b)
	}
	bb, _ := os.ReadFile(testutil.BusyboxPath)
	if read("bin/busybox") != string(bb) {
		t.Error("rootfs: bin/busybox differs from " + testutil.BusyboxPath)
	}
	if target, err := os.Readlink(filepath.Join(rootfs, "bin/sh")); err != nil || target != "busybox" {
		t.Errorf("rootfs: bin/sh -> %q, %v", target, err)
	}
	if got := read("etc/hello"); got != Hello {
		t.Errorf("rootfs: etc/hello = %q", got)
	}
	if got, want := read("etc/platform"), p.OS+"/"+p.Architecture+"\n"; got != want {
		t.Errorf("rootfs: etc/platform = %q, want %q", got, want)
	}
	for _, gone := range []string{"old/stale.txt", "old/.wh.stale.txt", "opaque/lower.txt", "opaque/sub", "opaque/.wh..wh..opq"} {
		if _, err := os.Lstat(filepath.Join(rootfs, gone)); err == nil {
			t.Errorf("rootfs: %s exists; the upper layer's whiteout must hide it", gone)
		}
	}
	read("opaque/upper.txt")
	if fi, err := os.Lstat(filepath.Join(rootfs, "bin/setuid-marker")); err != nil || fi.Mode()&os.ModeSetuid == 0 {
		t.Errorf("rootfs: bin/setuid-marker lost its setuid bit (%v)", err)
	}
	if os.Geteuid() == 0 {
		if fi, err := os.Lstat(filepath.Join(rootfs, "home/app")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != 1000 {
			t.Errorf("rootfs: home/app not owned by 1000 (%v)", err)
		}
	}
}
