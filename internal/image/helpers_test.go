package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/hako-dev/hako/internal/unpack"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unpackImage unpacks an image of the store into a new directory, the way
// a bundle does, and returns it.
func unpackImage(t testing.TB, s *Store, rec Record) string {
	t.Helper()
	img, err := s.Image(rec)
	if err != nil {
		t.Fatal(err)
	}
	verifyImage(t, s, img)
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		_, err = unpack.Apply(context.Background(), rootfs, rc, unpack.Options{})
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return rootfs
}

func blobCount(t testing.TB, s *Store) int {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(s.Root(), "blobs", "sha256"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(es)
}

func layerDigests(t testing.TB, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Hash
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// verifyImage checks every blob of a stored image against its digest and
// every layer's uncompressed content against the config's diff ids.
func verifyImage(t testing.TB, s *Store, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		t.Fatalf("%d layers, %d diff ids", len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	sum := func(r io.Reader) string {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			t.Fatal(err)
		}
		return "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		f, err := os.Open(filepath.Join(s.Root(), "blobs", "sha256", d.Digest.Hex))
		if err != nil {
			t.Fatal(err)
		}
		if got := sum(f); got != d.Digest.String() {
			t.Errorf("blob %s has digest %s", d.Digest, got)
		}
		f.Close()
	}
	layers, _ := img.Layers()
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		if got := sum(rc); got != cf.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d: diff id %s, config says %s", i, got, cf.RootFS.DiffIDs[i])
		}
		rc.Close()
	}
}
