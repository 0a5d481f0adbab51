package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// saveEntry is one image of a docker save manifest.json.
type saveEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// importDockerSave stores the images of a docker save archive; layers
// keep their compression (docker writes them uncompressed), so nothing is
// recompressed.
func (s *Store) importDockerSave(ctx context.Context, p string, src source, o ImportOptions) ([]Record, error) {
	raw, err := readJSONFile(src, "manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []saveEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("manifest.json: not a docker save manifest: %w", err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("manifest.json lists no image")
	}
	if o.Name != "" && len(entries) > 1 {
		return nil, fmt.Errorf("the archive holds %d images, and --name can name only one", len(entries))
	}
	var out []Record
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		recs, err := s.importSaveEntry(src, e, o)
		if err != nil {
			return nil, fmt.Errorf("manifest.json[%d] (%s): %w", i, e.Config, err)
		}
		out = append(out, recs...)
	}
	return out, nil
}

func (s *Store) importSaveEntry(src source, e saveEntry, o ImportOptions) ([]Record, error) {
	cfgRaw, err := readJSONFile(src, e.Config)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", e.Config, err)
	}
	if len(cf.RootFS.DiffIDs) != len(e.Layers) {
		return nil, fmt.Errorf("%d layers listed but the config has %d diff ids: the archive is malformed", len(e.Layers), len(cf.RootFS.DiffIDs))
	}
	var layers []v1.Descriptor
	for i, name := range e.Layers {
		d, diffID, err := s.putLayerFile(src, name)
		if err != nil {
			return nil, err
		}
		if diffID != cf.RootFS.DiffIDs[i] {
			return nil, fmt.Errorf("Layers[%d] (%s): its content has diff id %s but the config says %s: the archive is corrupt", i, name, diffID, cf.RootFS.DiffIDs[i])
		}
		layers = append(layers, d)
	}
	var names []string
	if o.Name != "" {
		names = []string{o.Name}
	} else {
		for _, t := range e.RepoTags {
			n, err := normalizeName(t)
			if err != nil {
				return nil, fmt.Errorf("RepoTags: %w", err)
			}
			names = append(names, n)
		}
	}
	return s.commitImage(cfgRaw, layers, names)
}
