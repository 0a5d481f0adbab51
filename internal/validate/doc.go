// Package validate checks an OCI runtime configuration (config.json) before
// anything runs, and reports every problem at once, each pointing at the
// exact place in the file:
//
//	config.json:12:5: process.args[0]: "shh": executable file not found in $PATH (searched /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin inside the rootfs) — hint: did you mean "sh"? [config.md#configProcess]
//
// A problem (FieldError) names the file, the line and column, the field as a
// JSON path (process.args[0], linux.namespaces[2].path,
// linux.sysctl["net.ipv4.ip_forward"]), what is wrong, how to fix it, and the
// rule it comes from: a section of the OCI runtime specification
// (config.md#configProcess is the anchor configProcess in config.md of
// github.com/opencontainers/runtime-spec), or RFC 8259 for JSON syntax, or a
// kernel interface where the spec is silent.
//
// The checks run in four layers, each only when the previous one could read
// what it needs:
//
//  1. JSON syntax, by a small position-tracking parser of our own (jsonscan.go)
//     that accepts exactly what encoding/json accepts and explains the usual
//     mistakes (trailing comma, missing comma, comments, single quotes,
//     unquoted keys, leading zeros).
//  2. Types and names, by walking the parsed tree next to the Go types of
//     github.com/opencontainers/runtime-spec/specs-go (types.go): wrong types
//     are errors; unknown fields are warnings (the spec says runtimes MUST
//     ignore them) with "did you mean" for near misses.
//  3. Semantic rules of config.md and config-linux.md that can be checked
//     statically (check_*.go).
//  4. Checks against the bundle: the root filesystem (process.args[0], cwd,
//     user name, resolved inside the rootfs with filepath-securejoin so that
//     no symlink ever leads to the host) and the host (bind mount sources,
//     namespace paths, hook paths). Data with an empty bundle directory skips
//     this layer.
//
// Positions: lines and columns are 1-based. A column counts characters
// (Unicode code points), so a tab counts as one column, like the Go compiler
// and most editors' "go to line:column" do for ASCII; a multi-byte character
// also counts as one. A problem about a field that is missing points at the
// object that should hold it.
//
// The package is a leaf: it imports no hako package except logging.
package validate
