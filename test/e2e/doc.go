// Package e2e drives the built hako binary through its command line, as
// containerd, podman and people do, against real containers on this host.
// Every test needs root; `go test -short` skips them.
package e2e
