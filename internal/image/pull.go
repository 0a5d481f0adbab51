package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// PullOptions tune Pull. The zero value pulls the host's platform with the
// user's credentials.
type PullOptions struct {
	Platform  string            // os/arch[/variant]; "" is HostPlatform
	Keychain  authn.Keychain    // nil is authn.DefaultKeychain (~/.docker/config.json)
	Transport http.RoundTripper // nil is remote.DefaultTransport
	Progress  Progress          // nil reports nothing
	// Jobs is how many layers are fetched at once (default 3).
	Jobs int
}

// Pull fetches an image from its registry into the store and records it
// under its full reference. Blobs already present are not fetched.
func (s *Store) Pull(ctx context.Context, ref string, o PullOptions) (Record, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return Record{}, fmt.Errorf("%q is not an image reference: %w", ref, err)
	}
	want, err := ParsePlatform(o.Platform)
	if err != nil {
		return Record{}, err
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Progress == nil {
		o.Progress = Quiet{}
	}
	if o.Jobs <= 0 {
		o.Jobs = 3
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(o.Keychain), remote.WithPlatform(want)}
	if o.Transport != nil {
		opts = append(opts, remote.WithTransport(o.Transport))
	}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return Record{}, registryError(r, err)
	}
	var img v1.Image
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return Record{}, registryError(r, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return Record{}, registryError(r, err)
		}
		child, err := pickManifest(ref, im, want)
		if err != nil {
			return Record{}, err
		}
		if img, err = idx.Image(child.Digest); err != nil {
			return Record{}, registryError(r, err)
		}
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return Record{}, registryError(r, err)
		}
	case desc.MediaType.IsSchema1():
		return Record{}, fmt.Errorf("%s is a Docker schema 1 image, which registries stopped serving in 2019 and hako does not read: rebuild or re-push it", ref)
	default:
		return Record{}, fmt.Errorf("%s has media type %q, which is neither an image nor an index", ref, desc.MediaType)
	}
	unlock, err := s.lock(".lock", false)
	if err != nil {
		return Record{}, err
	}
	defer unlock()
	rec, err := s.storeImage(ref, img, want, o.Progress, o.Jobs)
	if err != nil {
		return Record{}, registryError(r, err)
	}
	rec.Name = r.Name()
	if err := s.addImage(rec.Name, rec.descriptor, rec.Created); err != nil {
		return Record{}, err
	}
	return rec.Record, nil
}

type stored struct {
	Record
	descriptor v1.Descriptor
}

// storeImage copies an image's blobs (verified) into the store, layers
// first and the manifest last, and returns its index descriptor.
func (s *Store) storeImage(what string, img v1.Image, want v1.Platform, prog Progress, jobs int) (stored, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return stored{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return stored{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return stored{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return stored{}, err
	}
	cfgRaw, err := img.RawConfigFile()
	if err != nil {
		return stored{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return stored{}, fmt.Errorf("image config %s: %w", m.Config.Digest, err)
	}
	if err := checkConfigPlatform(what, cf, want); err != nil {
		return stored{}, err
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return stored{}, fmt.Errorf("%s: the manifest lists %d layers but the config %d diff ids: the image is malformed", what, len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	for _, l := range m.Layers {
		if err := checkLayerMediaType(l); err != nil {
			return stored{}, err
		}
	}

	errs := make([]error, len(m.Layers))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, l := range m.Layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = s.fetchLayer(img, l, prog)
		}()
	}
	wg.Wait()
	prog.Wait()
	if err := errors.Join(errs...); err != nil {
		return stored{}, err
	}
	if err := s.putBytes("image config", m.Config.Digest, cfgRaw); err != nil {
		return stored{}, err
	}
	if err := s.putBytes("image manifest", digest, raw); err != nil {
		return stored{}, err
	}
	p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	rec := stored{
		Record: Record{Digest: digest, MediaType: mt, Size: int64(len(raw)) + m.Config.Size,
			Created: cf.Created.Time, Platform: platformString(p)},
		descriptor: v1.Descriptor{MediaType: mt, Size: int64(len(raw)), Digest: digest, Platform: &p},
	}
	for _, l := range m.Layers {
		rec.Size += l.Size
	}
	return rec, nil
}

func (s *Store) fetchLayer(img v1.Image, l v1.Descriptor, prog Progress) error {
	bp := prog.Blob(l.Digest, l.Size)
	if s.hasBlob(l.Digest, l.Size) {
		bp.Present()
		return nil
	}
	layer, err := img.LayerByDigest(l.Digest)
	if err == nil {
		var rc io.ReadCloser
		if rc, err = layer.Compressed(); err == nil {
			_, err = s.putBlob("layer", l.Digest, l.Size, bp.Reader(rc))
			rc.Close()
		}
	}
	bp.Done(err)
	return err
}

func checkLayerMediaType(l v1.Descriptor) error {
	switch l.MediaType {
	case types.OCILayer, types.OCIUncompressedLayer, types.DockerLayer, types.DockerUncompressedLayer, types.OCILayerZStd, "":
		return nil
	case types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer, types.DockerForeignLayer:
		if len(l.URLs) > 0 {
			return fmt.Errorf("layer %s is a foreign layer to be fetched from %v, which hako does not do", l.Digest, l.URLs)
		}
		return nil
	}
	return fmt.Errorf("layer %s has media type %q, which is not a layer hako can unpack", l.Digest, l.MediaType)
}

// registryError says in words what went wrong talking to a registry.
func registryError(r name.Reference, err error) error {
	reg := r.Context().RegistryStr()
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("pulling %s: the registry %s refused access (%d): log in with `docker login %s` (hako reads the same ~/.docker/config.json and credential helpers), or check the name: %w",
				r, reg, te.StatusCode, reg, err)
		case http.StatusNotFound:
			return fmt.Errorf("pulling %s: it does not exist in the registry %s (check the repository and tag): %w", r, reg, err)
		case http.StatusTooManyRequests:
			return fmt.Errorf("pulling %s: the registry %s is rate-limiting us; log in or try later: %w", r, reg, err)
		}
		return fmt.Errorf("pulling %s from %s: %w", r, reg, err)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("pulling %s: cannot reach the registry %s: %w", r, reg, err)
	}
	var de *DigestError
	if errors.As(err, &de) {
		return fmt.Errorf("pulling %s: %w", r, err)
	}
	if strings.Contains(err.Error(), "error verifying") { // go-containerregistry's own check
		return fmt.Errorf("pulling %s: content from %s does not match its digest, refusing corrupted or tampered content: %w", r, reg, err)
	}
	return fmt.Errorf("pulling %s: %w", r, err)
}
