package seccomp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cacheVersion changes whenever the key or the entry format does.
const cacheVersion = "hako-seccomp-cache 2\n"

// maxEntries bounds the cache: writing an entry into a fuller directory
// first removes the others.
const maxEntries = 256

// cacheKey is the entry's key: the profile (every field; flags too,
// although they are not part of the program), the helper binary's identity
// and the kernel's, which libseccomp consults. The identity of a helper on
// disk is its file's (device, inode, size, times); that of the one
// embedded in hako is the SHA-256 of its bytes, computed when hako was
// built. An entry holds its whole key and is used only if the key is
// equal, so the file name (a hash of the key, entryName) needs no
// resistance to collisions.
func cacheKey(h helper, s *specs.LinuxSeccomp) ([]byte, error) {
	var un unix.Utsname
	if err := unix.Uname(&un); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 4096)
	b = append(b, cacheVersion...)
	if h.path == "" {
		b = append(b, 'e')
		b = appendString(b, h.digest)
	} else {
		var st unix.Stat_t
		if err := unix.Stat(h.path, &st); err != nil {
			return nil, err
		}
		b = append(b, 'f')
		for _, v := range []uint64{st.Dev, st.Ino, uint64(st.Size), uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec), uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec)} {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	}
	b = appendString(b, unix.ByteSliceToString(un.Release[:]))
	b = appendString(b, unix.ByteSliceToString(un.Machine[:]))
	return appendProfile(b, s), nil
}

// entryName is the file name of key's entry.
func entryName(key []byte) string {
	h := fnv.New128a()
	h.Write(key)
	return hex.EncodeToString(h.Sum(nil))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendUint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendOptUint(b []byte, v *uint) []byte {
	if v == nil {
		return append(b, 0)
	}
	return appendUint(append(b, 1), uint64(*v))
}

// appendProfile encodes every field of s, unambiguously (lengths before
// contents, a marker for absent pointers); TestKeyCoversEveryField keeps it
// complete when the runtime spec grows a field.
func appendProfile(b []byte, s *specs.LinuxSeccomp) []byte {
	b = appendString(b, string(s.DefaultAction))
	b = appendOptUint(b, s.DefaultErrnoRet)
	b = appendUint(b, uint64(len(s.Architectures)))
	for _, a := range s.Architectures {
		b = appendString(b, string(a))
	}
	b = appendUint(b, uint64(len(s.Flags)))
	for _, f := range s.Flags {
		b = appendString(b, string(f))
	}
	b = appendString(b, s.ListenerPath)
	b = appendString(b, s.ListenerMetadata)
	b = appendUint(b, uint64(len(s.Syscalls)))
	for _, sc := range s.Syscalls {
		b = appendUint(b, uint64(len(sc.Names)))
		for _, n := range sc.Names {
			b = appendString(b, n)
		}
		b = appendString(b, string(sc.Action))
		b = appendOptUint(b, sc.ErrnoRet)
		b = appendUint(b, uint64(len(sc.Args)))
		for _, a := range sc.Args {
			b = appendUint(b, uint64(a.Index))
			b = appendUint(b, a.Value)
			b = appendUint(b, a.ValueTwo)
			b = appendString(b, string(a.Op))
		}
	}
	return b
}

// An entry: the key's length and bytes, the program's length and bytes,
// the unknown names (count, then field, name and elsewhere of each).
func encodeEntry(key []byte, p *Program) []byte {
	b := appendUint(nil, uint64(len(key)))
	b = append(b, key...)
	f := FilterBytes(p.Filter)
	b = appendUint(b, uint64(len(f)))
	b = append(b, f...)
	b = appendUint(b, uint64(len(p.Unknown)))
	for _, n := range p.Unknown {
		b = appendString(b, n.Field)
		b = appendString(b, n.Name)
		e := byte(0)
		if n.Elsewhere {
			e = 1
		}
		b = append(b, e)
	}
	return b
}

var errBadEntry = errors.New("bad cache entry")

type reader struct{ b []byte }

func (r *reader) uint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || n != len(binary.AppendUvarint(nil, v)) { // overflow, or not minimal
		return 0, errBadEntry
	}
	r.b = r.b[n:]
	return v, nil
}

func (r *reader) bytes() ([]byte, error) {
	n, err := r.uint()
	if err != nil || n > uint64(len(r.b)) {
		return nil, errBadEntry
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v, nil
}

func decodeEntry(key, b []byte) (*Program, error) {
	r := &reader{b}
	k, err := r.bytes()
	if err != nil || !bytes.Equal(k, key) {
		return nil, errBadEntry
	}
	raw, err := r.bytes()
	if err != nil {
		return nil, err
	}
	f, err := FilterOf(raw)
	if err != nil {
		return nil, errBadEntry
	}
	p := &Program{Filter: f}
	n, err := r.uint()
	if err != nil || n > uint64(len(r.b)) {
		return nil, errBadEntry
	}
	for range n {
		field, err := r.bytes()
		if err != nil {
			return nil, err
		}
		name, err := r.bytes()
		if err != nil || len(r.b) == 0 || r.b[0] > 1 {
			return nil, errBadEntry
		}
		p.Unknown = append(p.Unknown, Name{Field: string(field), Name: string(name), Elsewhere: r.b[0] == 1})
		r.b = r.b[1:]
	}
	if len(r.b) != 0 {
		return nil, errBadEntry
	}
	return p, nil
}

// trusted reports whether fd (a directory or an entry) belongs to us and
// nobody else may write it, and its size.
func trusted(fd int, dir bool) (bool, int64) {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		return false, 0
	}
	if dir {
		return st.Mode&unix.S_IFMT == unix.S_IFDIR, st.Size
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size < 1<<20, st.Size
}

// readCache returns the entry of key, or nil (missing, untrusted or bad).
func readCache(dir string, key []byte) *Program {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dfd)
	if ok, _ := trusted(dfd, true); !ok {
		return nil
	}
	fd, err := unix.Openat(dfd, entryName(key), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	ok, size := trusted(fd, false)
	if !ok {
		return nil
	}
	b := make([]byte, size)
	n, err := unix.Pread(fd, b, 0)
	if err != nil || int64(n) != size {
		return nil
	}
	p, err := decodeEntry(key, b)
	if err != nil {
		return nil
	}
	return p
}

// writeCache stores p under key; failures only cost a later recompile.
func writeCache(dir string, key []byte, p *Program) {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) >= maxEntries {
		for _, e := range ents {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	tmp, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return
	}
	_, werr := tmp.Write(encodeEntry(key, p))
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), filepath.Join(dir, entryName(key))) != nil {
		os.Remove(tmp.Name())
	}
}
