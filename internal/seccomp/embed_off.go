//go:build !hako_embed_seccomp

package seccomp

// Without the tag hako_embed_seccomp (a plain go build, go test) hako has
// no helper of its own and finds one on disk.
var embeddedBin, embeddedDigest string
