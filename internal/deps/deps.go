//go:build tools

// Package deps pins the chosen dependencies in go.mod until code imports them.
package deps

import (
	_ "github.com/containerd/console"
	_ "github.com/containerd/go-runc"
	_ "github.com/cyphar/filepath-securejoin"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/moby/sys/capability"
	_ "github.com/moby/sys/mountinfo"
	_ "github.com/opencontainers/cgroups"
	_ "github.com/opencontainers/runtime-spec/specs-go"
	_ "github.com/seccomp/libseccomp-golang"
	_ "github.com/spf13/cobra"
	_ "github.com/vbauerster/mpb/v8"
	_ "golang.org/x/sys/unix"
	_ "golang.org/x/term"
)
