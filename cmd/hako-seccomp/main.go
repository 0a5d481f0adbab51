// Command hako-seccomp is the helper that compiles seccomp profiles with
// libseccomp for hako, which is pure Go and does not link libseccomp (see
// internal/seccomp for the protocol and the cache, internal/libseccomp for
// the compiler). It reads one request as JSON on stdin and writes one
// response as JSON on stdout:
//
//	{"op": "compile", "profile": {linux.seccomp}}  ->  {"filter": BASE64, "unknown": [...]} or {"error": "..."}
//	{"op": "names", "profile": {linux.seccomp}}    ->  {"unknown": [...]}
//	{"op": "version"}                              ->  {"version": "2.5.4"}
//
// A problem with the profile is an answer; a malformed request makes it
// exit 2 with a message on stderr.
//
// `make build` embeds it, stripped, in hako, which runs it from a sealed
// memfd (internal/seccomp); it closes every descriptor but stdio that it
// inherited before its Go runtime starts (closefds.go).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/hako-dev/hako/internal/libseccomp"
	"github.com/hako-dev/hako/internal/seccomp"
)

func main() {
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "%s: takes no arguments; hako runs it with a request on stdin (see internal/seccomp)\n", seccomp.Helper)
		os.Exit(2)
	}
	in, err := io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	if err != nil {
		fail("reading the request: %v", err)
	}
	var req seccomp.Request
	if err := json.Unmarshal(in, &req); err != nil {
		fail("the request is not JSON of a seccomp.Request: %v", err)
	}
	var resp seccomp.Response
	switch req.Op {
	case seccomp.OpVersion:
		major, minor, micro := libseccomp.Version()
		resp.Version = fmt.Sprintf("%d.%d.%d", major, minor, micro)
	case seccomp.OpNames, seccomp.OpCompile:
		if req.Profile == nil {
			fail("%q needs a profile", req.Op)
		}
		resp.Unknown = convert(libseccomp.Unknown(req.Profile))
		if req.Op == seccomp.OpCompile {
			prog, err := libseccomp.Compile(req.Profile)
			if err != nil {
				resp = seccomp.Response{Error: err.Error()}
			} else {
				resp.Filter = seccomp.FilterBytes(prog)
			}
		}
	default:
		fail("unknown op %q: expected compile, names or version", req.Op)
	}
	out, err := json.Marshal(resp)
	if err != nil {
		fail("%v", err)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		fail("writing the response: %v", err)
	}
}

func convert(ns []libseccomp.Name) []seccomp.Name {
	var out []seccomp.Name
	for _, n := range ns {
		out = append(out, seccomp.Name{Field: n.Field, Name: n.Name, Elsewhere: n.Elsewhere})
	}
	return out
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, seccomp.Helper+": "+format+"\n", a...)
	os.Exit(2)
}
