package seccomp

import "github.com/opencontainers/runtime-spec/specs-go"

// ProfileKey is the profile's part of the cache key.
func ProfileKey(s *specs.LinuxSeccomp) []byte { return appendProfile(nil, s) }

var (
	EncodeEntry = encodeEntry
	DecodeEntry = decodeEntry
)
