// Package stage names the steps of a container's setup that only Go can
// do, as the compiler (internal/spawn) writes them into a setup program
// and the Go runner (internal/goinit) runs them: the ids of sysprog's
// Stage ops and the payloads they carry. It is the only vocabulary the
// two sides share besides package sysprog.
//
// This package is a leaf: it imports no other hako package.
package stage

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Stage ids.
const (
	// Hooks runs OCI hooks inside the container's namespaces
	// (createContainer, startContainer): argument 0 is a Hooks payload as
	// JSON, argument 1 its length.
	Hooks = iota + 1
	// WaitStart waits for `hako start`: argument 0 is the exec fifo, an
	// O_PATH fd, reopened for writing through /proc/self/fd (which blocks
	// until start opens the other end); one byte is written and the
	// fifo stays open until the execve closes it.
	WaitStart
	// CopyUp fills a new tmpfs with what the image has where it goes
	// (tmpcopyup): argument 0 is a directory fd on the image's
	// directory, argument 1 the new, still detached, mount.
	CopyUp
)

// HooksPayload is what a Hooks stage runs.
type HooksPayload struct {
	Name  string          `json:"name"` // "createContainer", "startContainer"
	Hooks []specs.Hook    `json:"hooks"`
	State json.RawMessage `json:"state"` // the OCI state the hooks read on stdin
}
