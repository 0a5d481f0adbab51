// Command spec is the first floor of the bench's RSS row (d): a Go program
// that does nothing but read a bundle's config.json into the runtime
// spec's types with encoding/json, as every runtime in Go must. Its peak
// RSS is the least any Go runtime process can have on this machine.
//
//	spec BUNDLE
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: spec BUNDLE")
		os.Exit(2)
	}
	b, err := os.ReadFile(filepath.Join(os.Args[1], "config.json"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil || s.Process == nil {
		fmt.Fprintf(os.Stderr, "%s: not a config with a process (%v)\n", os.Args[1], err)
		os.Exit(1)
	}
}
