//go:build hako_embed_seccomp

package seccomp

import _ "embed" // the helper binary, see embedded.go

// Written by `make build` (gitignored): the stripped hako-seccomp and the
// hex SHA-256 of its bytes.
var (
	//go:embed embedded/hako-seccomp
	embeddedBin string
	//go:embed embedded/hako-seccomp.sha256
	embeddedDigest string
)
