package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// source is an archive or directory being imported: named regular files,
// read without ever writing anything from it to disk by its own name.
type source interface {
	// Open opens a regular file by its slash-separated name.
	Open(name string) (io.ReadCloser, int64, error)
	// Has says whether name exists.
	Has(name string) bool
	// Top lists the first components of the names (for messages).
	Top() []string
	Close() error
}

const maxJSON = 16 << 20 // manifests, indexes and configs are small

// readJSONFile reads a small file of a source.
func readJSONFile(src source, name string) ([]byte, error) {
	rc, size, err := src.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxJSON {
		return nil, fmt.Errorf("%s is %d bytes, too large for a JSON document (limit %d)", name, size, maxJSON)
	}
	return io.ReadAll(io.LimitReader(rc, maxJSON))
}

// cleanArchiveName turns a tar or manifest name into a lookup key.
func cleanArchiveName(n string) string {
	n = path.Clean("/" + n)
	return strings.TrimPrefix(n, "/")
}

// tarSource indexes a tar file: names to offsets, read in place.
type tarSource struct {
	f       *os.File
	entries map[string]tarEntry
}

type tarEntry struct {
	off, size int64
	typ       byte
	link      string
}

// errNotTar is returned by indexTar for input that is not a tar archive.
var errNotTar = errors.New("not a tar archive")

func indexTar(f *os.File) (*tarSource, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	tr := tar.NewReader(f)
	ts := &tarSource{f: f, entries: map[string]tarEntry{}}
	for first := true; ; first = false {
		hdr, err := tr.Next()
		if err == io.EOF {
			if first {
				return nil, fmt.Errorf("%w: the archive is empty", errNotTar)
			}
			return ts, nil
		}
		if errors.Is(err, tar.ErrInsecurePath) && hdr != nil {
			err = nil // nothing is written by this name; it is only looked up
		}
		if err != nil {
			if first {
				return nil, fmt.Errorf("%w: %v", errNotTar, err)
			}
			return nil, fmt.Errorf("reading the archive: %w", err)
		}
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		ts.entries[cleanArchiveName(hdr.Name)] = tarEntry{off: off, size: hdr.Size, typ: hdr.Typeflag, link: hdr.Linkname}
	}
}

func (ts *tarSource) lookup(name string) (tarEntry, error) {
	name = cleanArchiveName(name)
	for hops := 0; hops < 16; hops++ {
		e, ok := ts.entries[name]
		if !ok {
			return e, fmt.Errorf("%s: %w in the archive", name, fs.ErrNotExist)
		}
		switch e.typ {
		case tar.TypeReg, '\x00':
			return e, nil
		case tar.TypeSymlink: // docker save links duplicate layers
			if strings.HasPrefix(e.link, "/") {
				name = cleanArchiveName(e.link)
			} else {
				name = cleanArchiveName(path.Join(path.Dir(name), e.link))
			}
		case tar.TypeLink:
			name = cleanArchiveName(e.link)
		default:
			return e, fmt.Errorf("%s is not a regular file in the archive", name)
		}
	}
	return tarEntry{}, fmt.Errorf("%s: too many levels of links in the archive", name)
}

func (ts *tarSource) Open(name string) (io.ReadCloser, int64, error) {
	e, err := ts.lookup(name)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(io.NewSectionReader(ts.f, e.off, e.size)), e.size, nil
}

func (ts *tarSource) Has(name string) bool {
	_, ok := ts.entries[cleanArchiveName(name)]
	return ok
}

func (ts *tarSource) Top() []string {
	seen := map[string]bool{}
	for n := range ts.entries {
		if top, _, _ := strings.Cut(n, "/"); top != "" {
			seen[top] = true
		}
	}
	return sortedKeys(seen)
}

func (ts *tarSource) Close() error { return ts.f.Close() }

// dirSource reads a directory through os.Root: a symlink in it cannot
// lead outside.
type dirSource struct{ root *os.Root }

func (d dirSource) Open(name string) (io.ReadCloser, int64, error) {
	f, err := d.root.Open(cleanArchiveName(name))
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file", name)
	}
	return f, fi.Size(), nil
}

func (d dirSource) Has(name string) bool {
	_, err := d.root.Lstat(cleanArchiveName(name))
	return err == nil
}

func (d dirSource) Top() []string {
	f, err := d.root.Open(".")
	if err != nil {
		return nil
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	sort.Strings(names)
	return names
}

func (d dirSource) Close() error { return d.root.Close() }

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
