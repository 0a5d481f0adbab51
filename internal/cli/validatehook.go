package cli

// validateBundle is the check create and run perform before anything is
// created; it is replaced by internal/validate's full check.
var validateBundle func(bundle string) error
