package image

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// annotationContainerdName is the full name containerd and docker write
// into the layouts they export.
const annotationContainerdName = "io.containerd.image.name"

// importLayout stores the images an OCI layout's index.json names (for an
// index, the image of the chosen platform). Manifests and blobs are kept
// byte for byte; every one is verified against its digest.
func (s *Store) importLayout(ctx context.Context, p string, src source, o ImportOptions) ([]Record, error) {
	want, err := ParsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	raw, err := readJSONFile(src, "index.json")
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("index.json: not a valid OCI index: %w", err)
	}
	if len(im.Manifests) == 0 {
		return nil, fmt.Errorf("index.json lists no image")
	}
	if o.Name != "" && len(im.Manifests) > 1 {
		return nil, fmt.Errorf("index.json lists %d images, and --name can name only one", len(im.Manifests))
	}
	var out []Record
	for i, d := range im.Manifests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		recs, err := s.importLayoutEntry(src, d, want, o)
		if err != nil {
			return nil, fmt.Errorf("index.json manifests[%d] (%s): %w", i, d.Digest, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

// readBlob reads a small blob of a layout and checks it against d.
func readBlob(src source, d v1.Descriptor) ([]byte, error) {
	if err := checkDigest(d.Digest); err != nil {
		return nil, err
	}
	b, err := readJSONFile(src, "blobs/sha256/"+d.Digest.Hex)
	if err != nil {
		return nil, err
	}
	got, _, _ := v1.SHA256(bytes.NewReader(b))
	if got != d.Digest || d.Size > 0 && int64(len(b)) != d.Size {
		return nil, &DigestError{What: "blob", Want: d.Digest, Got: got, WantSize: d.Size, GotSize: int64(len(b))}
	}
	return b, nil
}

func (s *Store) importLayoutEntry(src source, d v1.Descriptor, want v1.Platform, o ImportOptions) ([]Record, error) {
	names, err := layoutNames(d, o)
	if err != nil {
		return nil, err
	}
	if d.MediaType.IsIndex() {
		raw, err := readBlob(src, d)
		if err != nil {
			return nil, err
		}
		child, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("nested index: %w", err)
		}
		if d, err = pickManifest("the layout's index "+d.Digest.String(), child, want); err != nil {
			return nil, err
		}
	}
	if !d.MediaType.IsImage() {
		return nil, fmt.Errorf("media type %q is neither an image nor an index", d.MediaType)
	}
	raw, err := readBlob(src, d)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	cfgRaw, err := readBlob(src, m.Config)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for i, l := range m.Layers {
		if err := checkLayerMediaType(l); err != nil {
			return nil, err
		}
		if err := checkDigest(l.Digest); err != nil {
			return nil, fmt.Errorf("layers[%d]: %w", i, err)
		}
		rc, _, err := src.Open("blobs/sha256/" + l.Digest.Hex)
		if err != nil {
			return nil, fmt.Errorf("layers[%d]: %w", i, err)
		}
		_, err = s.putBlob("layer", l.Digest, l.Size, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := s.putBytes("image config", m.Config.Digest, cfgRaw); err != nil {
		return nil, err
	}
	if err := s.putBytes("image manifest", d.Digest, raw); err != nil {
		return nil, err
	}
	p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	desc := v1.Descriptor{MediaType: d.MediaType, Size: int64(len(raw)), Digest: d.Digest, Platform: &p}
	return s.recordNames(desc, names, cf.Created.Time)
}

// layoutNames: --name, else the full name containerd and docker record,
// else org.opencontainers.image.ref.name when it is a full reference (a
// bare tag such as "latest", as umoci writes, names nothing by itself).
func layoutNames(d v1.Descriptor, o ImportOptions) ([]string, error) {
	if o.Name != "" {
		return []string{o.Name}, nil
	}
	for _, key := range []string{annotationContainerdName, AnnotationRefName} {
		n := d.Annotations[key]
		if n == "" || key == AnnotationRefName && !strings.ContainsAny(n, "/:") {
			continue
		}
		full, err := normalizeName(n)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", key, err)
		}
		return []string{full}, nil
	}
	return nil, nil
}
