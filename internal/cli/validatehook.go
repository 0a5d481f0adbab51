package cli

import specs "github.com/opencontainers/runtime-spec/specs-go"

// validateBundle is the check create and run perform before anything is
// created; it is replaced by internal/validate's full check.
var validateBundle func(bundle string) (*specs.Spec, []byte, error)
