package image

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// importRootfs stores a docker export archive as a one-layer image. The
// archive itself becomes the layer, compressed as it came; its config has
// no command (a bundle needs --entrypoint or arguments) and the platform
// of --platform or the host.
func (s *Store) importRootfs(p string, in *input, o ImportOptions) ([]Record, error) {
	plat, err := ParsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	digest, size, err := s.putBlobUnknown(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	diffID := digest
	if in.compression != "" {
		diffID = in.diffID
	}
	created := fi.ModTime().UTC().Truncate(time.Second)
	cf := v1.ConfigFile{
		Architecture: plat.Architecture, OS: plat.OS, Variant: plat.Variant,
		Created: v1.Time{Time: created},
		RootFS:  v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{diffID}},
		History: []v1.History{{Created: v1.Time{Time: created}, CreatedBy: "hako import", Comment: "root filesystem archive"}},
	}
	cfgRaw, err := json.Marshal(cf)
	if err != nil {
		return nil, err
	}
	var names []string
	if o.Name != "" {
		names = []string{o.Name}
	}
	layer := v1.Descriptor{MediaType: layerMediaType(in.compression), Size: size, Digest: digest}
	return s.commitImage(cfgRaw, []v1.Descriptor{layer}, names)
}
