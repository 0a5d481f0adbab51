package image

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// compressionOf names the compression a stream starts with.
func compressionOf(head []byte) string {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return "gzip"
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	}
	return ""
}

func layerMediaType(compression string) types.MediaType {
	switch compression {
	case "gzip":
		return types.OCILayer
	case "zstd":
		return types.OCILayerZStd
	}
	return types.OCIUncompressedLayer
}

// diffIDOf hashes the decompressed content of a layer stream.
func diffIDOf(r io.Reader, compression string) (v1.Hash, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var src io.Reader = br
	switch compression {
	case "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			return v1.Hash{}, err
		}
		defer zr.Close()
		src = zr
	case "zstd":
		zr, err := zstd.NewReader(br)
		if err != nil {
			return v1.Hash{}, err
		}
		defer zr.Close()
		src = zr
	}
	h := sha256.New()
	if _, err := io.Copy(h, src); err != nil {
		return v1.Hash{}, err
	}
	return hashOf(h), nil
}

// putLayerFile copies a layer file of a source into the store and returns
// its descriptor and diff id.
func (s *Store) putLayerFile(src source, name string) (v1.Descriptor, v1.Hash, error) {
	rc, _, err := src.Open(name)
	if err != nil {
		return v1.Descriptor{}, v1.Hash{}, err
	}
	br := bufio.NewReaderSize(rc, 1<<20)
	head, _ := br.Peek(4)
	comp := compressionOf(head)
	digest, size, err := s.putBlobUnknown(br)
	rc.Close()
	if err != nil {
		return v1.Descriptor{}, v1.Hash{}, fmt.Errorf("layer %s: %w", name, err)
	}
	diffID := digest
	if comp != "" {
		rc, _, err := src.Open(name)
		if err != nil {
			return v1.Descriptor{}, v1.Hash{}, err
		}
		diffID, err = diffIDOf(rc, comp)
		rc.Close()
		if err != nil {
			return v1.Descriptor{}, v1.Hash{}, fmt.Errorf("layer %s (%s): %w", name, comp, err)
		}
	}
	return v1.Descriptor{MediaType: layerMediaType(comp), Size: size, Digest: digest}, diffID, nil
}
