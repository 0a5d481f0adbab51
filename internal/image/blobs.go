package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// checkDigest refuses a digest that is not sha256 and 64 hex digits: it
// becomes a file name, and "sha256:../x" must never become a path.
func checkDigest(h v1.Hash) error {
	if h.Algorithm != "sha256" {
		return fmt.Errorf("digest %q: only sha256 digests are supported", h.String())
	}
	if len(h.Hex) != 64 || strings.Trim(h.Hex, "0123456789abcdef") != "" {
		return fmt.Errorf("digest %q is not 64 lowercase hex digits", h.String())
	}
	return nil
}

// parseDigest parses and checks a digest string.
func parseDigest(s string) (v1.Hash, error) {
	h, err := v1.NewHash(s)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("invalid digest %q: %w", s, err)
	}
	return h, checkDigest(h)
}

func (s *Store) blobPath(h v1.Hash) (string, error) {
	if err := checkDigest(h); err != nil {
		return "", err
	}
	return s.path("blobs", h.Algorithm, h.Hex), nil
}

// hasBlob reports whether a blob is present (with the given size, unless
// size is negative).
func (s *Store) hasBlob(h v1.Hash, size int64) bool {
	p, err := s.blobPath(h)
	if err != nil {
		return false
	}
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular() && (size < 0 || fi.Size() == size)
}

// DigestError is content that does not match its digest or size.
type DigestError struct {
	What      string // "layer", "config", "manifest", ...
	Want, Got v1.Hash
	WantSize  int64
	GotSize   int64
}

func (e *DigestError) Error() string {
	if e.Want != e.Got {
		return fmt.Sprintf("%s %s: the content has digest %s: refusing corrupted or tampered content", e.What, e.Want, e.Got)
	}
	return fmt.Sprintf("%s %s: %d bytes, but the manifest says %d: refusing corrupted or tampered content", e.What, e.Want, e.GotSize, e.WantSize)
}

// putBlob copies r into the store as blob want (what names the blob in
// errors). size < 0 means unknown. The content is verified before it is
// renamed into place; a blob already present is not written again (and r
// not read).
func (s *Store) putBlob(what string, want v1.Hash, size int64, r io.Reader) (present bool, err error) {
	final, err := s.blobPath(want)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if s.hasBlob(want, size) {
		return true, nil
	}
	_, _, err = s.writeTemp(r, size, func(tmp string) error { return os.Rename(tmp, final) }, &want)
	if err != nil {
		var de *DigestError
		if errors.As(err, &de) {
			de.What = what
			return false, de
		}
		return false, fmt.Errorf("%s %s: %w", what, want, err)
	}
	return false, nil
}

// putBlobUnknown stores r under the digest of its content and returns it.
func (s *Store) putBlobUnknown(r io.Reader) (v1.Hash, int64, error) {
	var final v1.Hash
	_, n, err := s.writeTemp(r, -1, func(tmp string) error {
		p, err := s.blobPath(final)
		if err != nil {
			return err
		}
		if s.hasBlob(final, -1) {
			return os.Remove(tmp)
		}
		return os.Rename(tmp, p)
	}, &final)
	return final, n, err
}

// writeTemp writes r to a temporary file in the store, hashing it, checks
// it against *want (or sets *want when it is zero), and calls commit with
// the temporary file's name.
func (s *Store) writeTemp(r io.Reader, size int64, commit func(string) error, want *v1.Hash) (v1.Hash, int64, error) {
	if err := s.init(); err != nil {
		return v1.Hash{}, 0, err
	}
	tmp, err := os.CreateTemp(s.path(".tmp"), "blob-*")
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	src := r
	if size >= 0 {
		src = io.LimitReader(r, size+1) // never write more than was announced
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		tmp.Close()
		return v1.Hash{}, n, err
	}
	got := hashOf(h)
	if want.Hex == "" {
		*want = got
	} else if got != *want || size >= 0 && n != size {
		tmp.Close()
		return got, n, &DigestError{Want: *want, Got: got, WantSize: size, GotSize: n}
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return got, n, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return got, n, err
	}
	if err := tmp.Close(); err != nil {
		return got, n, err
	}
	return got, n, commit(tmp.Name())
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// putBytes stores a small blob (config, manifest) and checks its digest.
func (s *Store) putBytes(what string, want v1.Hash, b []byte) error {
	_, err := s.putBlob(what, want, int64(len(b)), bytes.NewReader(b))
	return err
}

// GC removes every blob that no image in index.json needs, and leftover
// temporary files. It waits for readers and writers to finish.
func (s *Store) GC() error {
	unlock, err := s.lock(".lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	im, err := s.readIndex()
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, d := range im.Manifests {
		if err := s.mark(d, keep, 0); err != nil {
			return fmt.Errorf("image %s: %w (not removing any blob)", d.Digest, err)
		}
	}
	dir := s.path("blobs", "sha256")
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	tmps, _ := os.ReadDir(s.path(".tmp"))
	for _, e := range tmps {
		os.RemoveAll(s.path(".tmp", e.Name()))
	}
	return nil
}

// mark records the blobs a descriptor needs.
func (s *Store) mark(d v1.Descriptor, keep map[string]bool, depth int) error {
	if depth > 4 {
		return errors.New("indexes nested too deep")
	}
	p, err := s.blobPath(d.Digest)
	if err != nil {
		return err
	}
	keep[d.Digest.Hex] = true
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	switch {
	case d.MediaType.IsIndex():
		im, err := v1.ParseIndexManifest(bytes.NewReader(b))
		if err != nil {
			return err
		}
		for _, c := range im.Manifests {
			if err := s.mark(c, keep, depth+1); err != nil {
				return err
			}
		}
	case d.MediaType.IsImage() || d.MediaType == "" || d.MediaType == types.OCIManifestSchema1:
		m, err := v1.ParseManifest(bytes.NewReader(b))
		if err != nil {
			return err
		}
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if checkDigest(l.Digest) == nil {
				keep[l.Digest.Hex] = true
			}
		}
	}
	return nil
}
