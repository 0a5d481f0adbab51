package bundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/spec"
	"github.com/hako-dev/hako/internal/unpack"
)

// Unpacking configures how layers are applied.
type Unpacking struct {
	Applier unpack.Applier // nil: unpack.New()
	Options unpack.Options
	// OnLayer, if set, is called before each layer is applied.
	OnLayer func(i, n int, layer v1.Descriptor)
}

// Create writes a bundle for img into dir: dir/rootfs and dir/config.json.
// Neither may exist yet (an empty rootfs directory is accepted). On
// failure, what Create made is removed.
func Create(ctx context.Context, img v1.Image, dir string, o Options, u Unpacking) (_ *specs.Spec, err error) {
	rootfs := filepath.Join(dir, "rootfs")
	configPath := filepath.Join(dir, "config.json")
	if _, err := os.Lstat(configPath); err == nil {
		return nil, fmt.Errorf("bundle %s: config.json already exists; remove it or choose another directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	madeRootfs, err := makeEmptyDir(rootfs)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.Remove(configPath)
			if madeRootfs {
				os.RemoveAll(rootfs)
			}
		}
	}()

	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("image manifest: %w", err)
	}
	if err := applyLayers(ctx, img, m, rootfs, u); err != nil {
		return nil, err
	}
	s, err := Config(cf, rootfs, o)
	if err != nil {
		return nil, err
	}
	if err := spec.Write(configPath, s); err != nil {
		return nil, fmt.Errorf("writing %s: %w", configPath, err)
	}
	return s, nil
}

// makeEmptyDir creates dir, or accepts an existing empty one.
func makeEmptyDir(dir string) (made bool, err error) {
	err = os.Mkdir(dir, 0o755)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, err
	}
	es, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	if len(es) > 0 {
		return false, fmt.Errorf("%s already exists and is not empty; remove it or choose another directory", dir)
	}
	return false, nil
}

func applyLayers(ctx context.Context, img v1.Image, m *v1.Manifest, rootfs string, u Unpacking) error {
	applier := u.Applier
	if applier == nil {
		applier = unpack.New()
	}
	for i, d := range m.Layers {
		if u.OnLayer != nil {
			u.OnLayer(i, len(m.Layers), d)
		}
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, d.Digest, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, d.Digest, err)
		}
		h := sha256.New()
		tee := io.TeeReader(rc, h)
		_, err = applier.Apply(ctx, rootfs, tee, u.Options)
		if err == nil {
			_, err = io.Copy(io.Discard, tee) // what the applier left
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, d.Digest, err)
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d.Digest.String() {
			return fmt.Errorf("layer %d (%s): its content has digest %s: the image store is corrupt (hako rmi the image and pull it again)", i, d.Digest, got)
		}
	}
	return nil
}
