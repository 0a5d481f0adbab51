// Package unpack applies OCI image layers (tar streams, plain or compressed
// with gzip, zstd or bzip2) onto a root filesystem directory.
//
// The one rule it never breaks: whatever a layer says, nothing is written,
// changed or removed outside the root filesystem. Every path is resolved
// from an open handle on the root with openat2(RESOLVE_IN_ROOT) (or
// github.com/cyphar/filepath-securejoin's emulation on older kernels), so a
// symlink in the tree is followed as it would be inside the container: an
// absolute link or a chain of ".." stays within the root. The last component
// of an entry is never followed: it is created with O_EXCL/O_NOFOLLOW
// semantics, and anything already there is removed first.
//
// Semantics, in the order they are applied:
//   - names: a leading "/" is dropped (the name is read relative to the
//     root); a name that climbs out with ".." is an error; a "." directory
//     entry is skipped and any other entry type at "." is an error;
//   - whiteouts: ".wh.NAME" removes NAME from the directory below; the opaque
//     marker ".wh..wh..opq" removes everything the directory held before
//     this layer, whether it comes before or after its siblings in the tar;
//     other ".wh..wh." names (AUFS metadata) are skipped; a whiteout of "."
//     or ".." is an error;
//   - duplicates: the last entry of a name wins; a directory merges into an
//     existing directory, anything else replaces what was there (a file
//     replaces a whole directory tree);
//   - metadata: ownership with lchown (when running as root; see
//     [Ownership]), the full mode including setuid, setgid and sticky bits,
//     modification and access times (directories last, so that their
//     children do not change them), and extended attributes, except
//     trusted.overlay.* which would let a layer forge overlayfs metadata;
//     security.capability is kept;
//   - hard links are made to a path already inside the root (never through
//     a link out of it); symlinks are created as they are, never followed
//     while writing; device nodes are created when permitted and skipped
//     with a warning otherwise (for example in a user namespace);
//   - limits: decompressed size, entry count and name length
//     ([Options]); uid and gid above 2^31-1 are refused instead of being
//     truncated into another id (uid 2^33 must not become root).
//
// Implicit parent directories (named by an entry but absent from the layer)
// are created with mode 0755 filtered by the umask, owned by the caller.
package unpack
