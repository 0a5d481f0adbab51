package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Kind is what an import found.
type Kind string

const (
	KindDockerSave   Kind = "docker save archive"
	KindDockerExport Kind = "docker export root filesystem archive"
	KindOCILayout    Kind = "OCI image layout"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// Name names the imported image (a reference such as "app:1"); it
	// replaces the names the archive carries and needs the archive to
	// hold exactly one image.
	Name string
	// Platform selects the image of an OCI index (default the host's), and
	// is recorded for a root filesystem archive.
	Platform string
}

// expected is what every "cannot import" error says.
const expected = "hako import reads `docker save` archives, `docker export` root filesystem archives (plain, gzip or zstd) and OCI image layouts (a directory or a tar holding oci-layout, index.json and blobs/)"

// Import adds the images of an archive or directory to the store. The
// kind is detected: a directory or tar with oci-layout is an OCI layout,
// one with manifest.json a docker save archive, a tar with bin/, etc/ or
// usr/ at its top a root filesystem.
func (s *Store) Import(ctx context.Context, p string, o ImportOptions) ([]Record, Kind, error) {
	if o.Name != "" {
		n, err := normalizeName(o.Name)
		if err != nil {
			return nil, "", fmt.Errorf("--name: %w", err)
		}
		o.Name = n
	}
	unlock, err := s.lock(".lock", false)
	if err != nil {
		return nil, "", err
	}
	defer unlock()
	in, err := s.openInput(p)
	if err != nil {
		return nil, "", err
	}
	defer in.close()
	var recs []Record
	switch in.kind {
	case KindOCILayout:
		recs, err = s.importLayout(ctx, p, in.src, o)
	case KindDockerSave:
		recs, err = s.importDockerSave(ctx, p, in.src, o)
	case KindDockerExport:
		recs, err = s.importRootfs(p, in, o)
	}
	if err != nil {
		return nil, in.kind, fmt.Errorf("importing %s (%s): %w", p, in.kind, err)
	}
	return recs, in.kind, nil
}

// Detect says what kind of import p is, or why it is none.
func (s *Store) Detect(p string) (Kind, error) {
	in, err := s.openInput(p)
	if err != nil {
		return "", err
	}
	in.close()
	return in.kind, nil
}

// input is an opened import: its kind, its content, and for a compressed
// file the original and the digest of its decompressed content.
type input struct {
	kind        Kind
	src         source
	compression string  // "", "gzip", "zstd"
	file        string  // the archive as given
	plain       string  // the decompressed copy, if compressed
	diffID      v1.Hash // of the tar stream
}

func (in *input) close() {
	if in.src != nil {
		in.src.Close()
	}
	if in.plain != "" {
		os.Remove(in.plain)
	}
}

func (s *Store) openInput(p string) (*input, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if fi.IsDir() {
		root, err := os.OpenRoot(p)
		if err != nil {
			return nil, err
		}
		src := dirSource{root}
		in := &input{src: src, file: p}
		switch {
		case src.Has("oci-layout"):
			in.kind = KindOCILayout
		case src.Has("manifest.json"):
			in.kind = KindDockerSave
		default:
			src.Close()
			return nil, fmt.Errorf("import %s: the directory holds no oci-layout file (OCI image layout) and no manifest.json (unpacked docker save); it holds %s; %s",
				p, list(src.Top()), expected)
		}
		return in, nil
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("import %s: not a regular file or a directory; %s", p, expected)
	}
	in := &input{file: p}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	switch {
	case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		in.compression = "gzip"
	case n == 4 && bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		in.compression = "zstd"
	}
	if in.compression != "" {
		f.Close()
		if f, err = s.decompressToTemp(p, in); err != nil {
			return nil, err
		}
	}
	ts, err := indexTar(f)
	if err != nil {
		f.Close()
		if errors.Is(err, errNotTar) {
			what := "a tar archive"
			if in.compression != "" {
				what = "a tar archive inside the " + in.compression + " stream"
			}
			in.close()
			return nil, fmt.Errorf("import %s: not %s (%v); %s", p, what, err, expected)
		}
		in.close()
		return nil, fmt.Errorf("import %s: %w", p, err)
	}
	in.src = ts
	switch {
	case ts.Has("manifest.json"):
		in.kind = KindDockerSave
	case ts.Has("oci-layout"):
		in.kind = KindOCILayout
	case looksLikeRootfs(ts.Top()):
		in.kind = KindDockerExport
	default:
		top := ts.Top()
		in.close()
		return nil, fmt.Errorf("import %s: a tar archive, but no manifest.json (docker save), no oci-layout (OCI image layout) and no bin/, etc/ or usr/ at its top (docker export); it holds %s; %s",
			p, list(top), expected)
	}
	return in, nil
}

func looksLikeRootfs(top []string) bool {
	for _, n := range top {
		switch n {
		case "bin", "etc", "usr", "lib", "sbin", ".dockerenv":
			return true
		}
	}
	return false
}

func list(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	if len(names) > 8 {
		names = append(names[:8:8], "…")
	}
	return strings.Join(names, ", ")
}

// decompressToTemp writes the decompressed archive to a temporary file in
// the store (archives need random access) and records its digest.
func (s *Store) decompressToTemp(p string, in *input) (*os.File, error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	src, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var r io.Reader
	br := bufio.NewReaderSize(src, 1<<20)
	if in.compression == "gzip" {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("import %s: a gzip file with an invalid header: %w", p, err)
		}
		defer zr.Close()
		r = zr
	} else {
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", p, err)
		}
		defer zr.Close()
		r = zr
	}
	tmp, err := os.CreateTemp(s.path(".tmp"), "import-*.tar")
	if err != nil {
		return nil, err
	}
	in.plain = tmp.Name()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("import %s: decompressing (%s): %w", p, in.compression, err)
	}
	in.diffID = hashOf(h)
	return tmp, nil
}

// commitImage writes a manifest for a config and layers already in the
// store and records it under names (or unnamed).
func (s *Store) commitImage(cfgRaw []byte, layers []v1.Descriptor, names []string) ([]Record, error) {
	cfgDigest, _, err := v1.SHA256(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, err
	}
	if err := s.putBytes("image config", cfgDigest, cfgRaw); err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Size: int64(len(cfgRaw)), Digest: cfgDigest},
		Layers:        layers,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	digest, _, _ := v1.SHA256(bytes.NewReader(raw))
	if err := s.putBytes("image manifest", digest, raw); err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfgRaw))
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	p := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	desc := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(raw)), Digest: digest, Platform: &p}
	return s.recordNames(desc, names, cf.Created.Time)
}

// recordNames adds desc to the index under each name (or unnamed) and returns
// the records.
func (s *Store) recordNames(desc v1.Descriptor, names []string, created time.Time) ([]Record, error) {
	if len(names) == 0 {
		names = []string{""}
	}
	var out []Record
	for _, n := range names {
		if err := s.addImage(n, desc, created); err != nil {
			return nil, err
		}
		r := s.record(desc)
		r.Name, r.Created = n, created
		out = append(out, r)
	}
	return out, nil
}
