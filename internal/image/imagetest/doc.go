// Package imagetest builds what image tests need without the internet: a
// busybox image made in Go from Debian's /bin/busybox (a two-platform
// index, two layers, whiteouts), and an in-process registry
// (go-containerregistry's pkg/registry on httptest, 127.0.0.1 only) behind
// basic auth or the Bearer token flow. For tests only.
package imagetest
