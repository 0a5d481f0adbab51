package seccomp

import "github.com/opencontainers/runtime-spec/specs-go"

// ProfileKey is the profile's part of the cache key.
func ProfileKey(s *specs.LinuxSeccomp) []byte { return appendProfile(nil, s) }

var (
	EncodeEntry = encodeEntry
	DecodeEntry = decodeEntry
)

var (
	SealedMemfd = sealedMemfd
	CopyFromExe = copyFromExe
)

// SetEmbedded makes bin, with digest, the helper embedded in hako until
// the test ends.
func SetEmbedded(t interface{ Cleanup(func()) }, bin, digest string) {
	oldBin, oldDigest := embeddedBin, embeddedDigest
	embeddedBin, embeddedDigest = bin, digest
	t.Cleanup(func() { embeddedBin, embeddedDigest = oldBin, oldDigest })
}
