// Package image is hako's image store and the glue to
// github.com/google/go-containerregistry: pulling from registries, importing
// `docker save` and `docker export` archives and OCI image layouts, listing
// and removing images.
//
// The store is an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// at the image root (default /var/lib/hako): blobs/sha256/<hex>, index.json
// and oci-layout, so that other tools (umoci, skopeo's oci: transport) read
// it directly. Every image in index.json is a single-platform image
// manifest whose annotation org.opencontainers.image.ref.name holds the
// full reference it was pulled or imported as (registry, repository and tag
// or digest); an image imported without a name has no annotation and is
// known by its digest.
//
// Content addressing is enforced on the way in: every blob is written to a
// temporary file, its digest and size checked against what the manifest
// says, and only then renamed into place, so a blob present in the store is
// a verified one and is never fetched again. Digests are parsed (hex only)
// before any path is built from them.
//
// Concurrency: index.json is replaced atomically under an exclusive lock
// (.index.lock); commands that add blobs or read them hold a shared lock on
// .lock, and garbage collection after `hako rmi` holds it exclusively, so
// that it never deletes the blobs of an image being pulled or bundled.
//
// go-containerregistry's mutate.Extract is never used to build a root
// filesystem: it keeps the first of duplicate entries and passes names it
// should reject. Unpacking is internal/unpack's job.
package image
