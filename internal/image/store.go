package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// DefaultRoot is the default image root.
const DefaultRoot = "/var/lib/hako"

// Annotation keys in index.json.
const (
	AnnotationRefName = "org.opencontainers.image.ref.name"
	AnnotationCreated = "org.opencontainers.image.created"
)

// Store is the local image store: an OCI image layout at Root.
type Store struct {
	root string
}

// Record describes one image in the store.
type Record struct {
	Name      string // full reference, "" for an unnamed import
	Digest    v1.Hash
	MediaType types.MediaType
	Size      int64 // manifest, config and layers (compressed)
	Created   time.Time
	Platform  string // os/arch[/variant]
}

// Open returns the store at root. Nothing is created until something is
// written; reading a store that does not exist yet finds it empty.
func Open(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("image root is empty: pass --image-root DIR")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	return &Store{root: abs}, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// Layout is the store as a go-containerregistry layout path.
func (s *Store) Layout() layout.Path { return layout.Path(s.root) }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

// init creates the layout's skeleton if needed.
func (s *Store) init() error {
	if err := os.MkdirAll(s.path("blobs", "sha256"), 0o755); err != nil {
		return fmt.Errorf("creating image store %s: %w", s.root, err)
	}
	if err := os.MkdirAll(s.path(".tmp"), 0o700); err != nil {
		return fmt.Errorf("creating image store %s: %w", s.root, err)
	}
	if _, err := os.Stat(s.path("oci-layout")); errors.Is(err, fs.ErrNotExist) {
		if err := writeAtomic(s.path("oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n")); err != nil {
			return err
		}
	}
	if _, err := os.Stat(s.path("index.json")); errors.Is(err, fs.ErrNotExist) {
		return s.writeIndex(&v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex})
	}
	return nil
}

// lock takes a flock on root/name; shared or exclusive. The returned
// function releases it.
func (s *Store) lock(name string, exclusive bool) (func(), error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.path(name), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking image store: %w", err)
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking image store %s: %w", s.path(name), err)
	}
	return func() { f.Close() }, nil
}

// readIndex reads index.json; a missing store reads as empty.
func (s *Store) readIndex() (*v1.IndexManifest, error) {
	b, err := os.ReadFile(s.path("index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid OCI index: %w", s.path("index.json"), err)
	}
	return im, nil
}

func (s *Store) writeIndex(im *v1.IndexManifest) error {
	b, err := json.MarshalIndent(im, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.path("index.json"), append(b, '\n'))
}

// updateIndex applies f to index.json under the index lock.
func (s *Store) updateIndex(f func(*v1.IndexManifest) error) error {
	unlock, err := s.lock(".index.lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	im, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := f(im); err != nil {
		return err
	}
	return s.writeIndex(im)
}

// addImage records an image manifest under name ("" for none), replacing
// any image that had the name.
func (s *Store) addImage(name string, desc v1.Descriptor, created time.Time) error {
	desc.Annotations = map[string]string{}
	if name != "" {
		desc.Annotations[AnnotationRefName] = name
	}
	if !created.IsZero() {
		desc.Annotations[AnnotationCreated] = created.UTC().Format(time.RFC3339)
	}
	return s.updateIndex(func(im *v1.IndexManifest) error {
		var keep []v1.Descriptor
		for _, d := range im.Manifests {
			n := d.Annotations[AnnotationRefName]
			if name != "" && n == name {
				continue
			}
			if name == "" && n == "" && d.Digest == desc.Digest {
				continue // the same unnamed image again
			}
			keep = append(keep, d)
		}
		im.Manifests = append(keep, desc)
		return nil
	})
}

// List returns the store's images sorted by name, unnamed ones last.
func (s *Store) List() ([]Record, error) {
	im, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, d := range im.Manifests {
		out = append(out, s.record(d))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Name == "") != (b.Name == "") {
			return b.Name == ""
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Digest.String() < b.Digest.String()
	})
	return out, nil
}

// record describes an index entry; the size adds up the blobs its
// manifest names (left at the manifest's own if it cannot be read).
func (s *Store) record(d v1.Descriptor) Record {
	r := Record{Name: d.Annotations[AnnotationRefName], Digest: d.Digest, MediaType: d.MediaType, Size: d.Size}
	if t, err := time.Parse(time.RFC3339, d.Annotations[AnnotationCreated]); err == nil {
		r.Created = t
	}
	if d.Platform != nil {
		r.Platform = platformString(*d.Platform)
	}
	if m, err := s.manifest(d.Digest); err == nil {
		r.Size += m.Config.Size
		for _, l := range m.Layers {
			r.Size += l.Size
		}
	}
	return r
}

// manifest reads an image manifest blob.
func (s *Store) manifest(h v1.Hash) (*v1.Manifest, error) {
	p, err := s.blobPath(h)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return v1.ParseManifest(bytes.NewReader(b))
}

// Image opens an image of the store.
func (s *Store) Image(r Record) (v1.Image, error) {
	if _, err := s.blobPath(r.Digest); err != nil {
		return nil, err
	}
	img, err := s.Layout().Image(r.Digest)
	if err != nil {
		return nil, fmt.Errorf("image %s in %s: %w", r.display(), s.root, err)
	}
	return img, nil
}

// ReadLock holds the store's blobs against garbage collection while an
// image is read (for example while a bundle is unpacked from it). A store
// that does not exist yet has nothing to hold, and is not created.
func (s *Store) ReadLock() (unlock func(), err error) {
	if _, err := os.Stat(s.path("index.json")); errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	return s.lock(".lock", false)
}

func (r Record) display() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Digest.String()
}

// Resolve finds an image by reference (as given to pull or import, e.g.
// "alpine:3.20" or "127.0.0.1:5000/app@sha256:…") or by digest
// ("sha256:<hex>", or a unique prefix of at least 4 hex digits).
func (s *Store) Resolve(ref string) (Record, error) {
	im, err := s.readIndex()
	if err != nil {
		return Record{}, err
	}
	if full, err := normalizeName(ref); err == nil {
		for _, d := range im.Manifests {
			if d.Annotations[AnnotationRefName] == full {
				return s.record(d), nil
			}
		}
	}
	if hex, ok := digestPrefix(ref); ok {
		var found []v1.Descriptor
		for _, d := range im.Manifests {
			if strings.HasPrefix(d.Digest.Hex, hex) && (len(found) == 0 || found[0].Digest != d.Digest) {
				found = append(found, d)
			}
		}
		if len(found) == 1 {
			return s.record(found[0]), nil
		}
		if len(found) > 1 {
			return Record{}, fmt.Errorf("image %q is ambiguous: %d images have digests starting with it; give more digits", ref, len(found))
		}
	}
	return Record{}, &NotFoundError{Ref: ref, Root: s.root}
}

// NotFoundError is an image missing from the store.
type NotFoundError struct{ Ref, Root string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("image %q does not exist in the image store %s: pull it (hako pull %s) or import it (hako import FILE --name %s); hako images lists the store", e.Ref, e.Root, e.Ref, e.Ref)
}

// digestPrefix accepts "sha256:<hex>" or a bare hex prefix of 4+ digits.
func digestPrefix(s string) (string, bool) {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 4 || len(s) > 64 {
		return "", false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return s, true
}

// Remove deletes an image's name (or, given a digest, every name of that
// image) and then every blob no remaining image needs. It returns what was
// removed.
func (s *Store) Remove(ref string) ([]Record, error) {
	rec, err := s.Resolve(ref)
	if err != nil {
		return nil, err
	}
	_, byDigest := digestPrefix(ref)
	byDigest = byDigest && (rec.Name == "" || !sameName(ref, rec.Name))
	var removed []Record
	err = s.updateIndex(func(im *v1.IndexManifest) error {
		var keep []v1.Descriptor
		for _, d := range im.Manifests {
			if d.Digest == rec.Digest && (byDigest || d.Annotations[AnnotationRefName] == rec.Name) {
				removed = append(removed, s.record(d))
				continue
			}
			keep = append(keep, d)
		}
		im.Manifests = keep
		return nil
	})
	if err != nil {
		return nil, err
	}
	return removed, s.GC()
}

func sameName(ref, full string) bool {
	n, err := normalizeName(ref)
	return err == nil && n == full
}

// writeAtomic writes data to path through a synced temporary file.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
