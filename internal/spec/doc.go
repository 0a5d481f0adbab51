// Package spec loads an OCI runtime configuration (config.json) with errors
// that carry the file, line and column, and writes the defaults that
// `hako spec` produces (the same defaults as `runc spec`, optionally
// rootless). It knows nothing about running containers.
package spec
