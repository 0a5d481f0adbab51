// Package hooks runs OCI lifecycle hooks: each hook's path is executed with
// its args and env, the container's state JSON on stdin, and an optional
// timeout after which it is killed. A failing hook is reported with its
// lifecycle name, index and path, and the tail of its stderr.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-dev/hako/internal/timerslack"
)

// Error is a failed hook.
type Error struct {
	Stage string // "createRuntime", "poststart", ...
	Index int
	Path  string
	Err   error
	Out   string
}

// Error starts with runc's words, which tools grep for, then says which
// field it is and why it failed.
func (e *Error) Error() string {
	s := fmt.Sprintf("error running %s hook #%d: hooks.%s[%d] %q: %v", e.Stage, e.Index, e.Stage, e.Index, e.Path, e.Err)
	if e.Out != "" {
		s += ": " + e.Out
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// RunAll executes every hook of one stage in order, whatever fails, and
// returns the failures: poststart and poststop hooks, whose failures the
// runtime only warns about (runtime-spec, lifecycle).
func RunAll(stage string, hs []specs.Hook, state []byte) []error {
	var errs []error
	for i, h := range hs {
		if err := runOne(h, state); err != nil {
			errs = append(errs, &Error{Stage: stage, Index: i, Path: h.Path, Err: err.err, Out: err.out})
		}
	}
	return errs
}

// Run executes the hooks of one stage in order and stops at the first failure.
func Run(stage string, hs []specs.Hook, state []byte) error {
	for i, h := range hs {
		if err := runOne(h, state); err != nil {
			return &Error{Stage: stage, Index: i, Path: h.Path, Err: err.err, Out: err.out}
		}
	}
	return nil
}

type hookErr struct {
	err error
	out string
}

func runOne(h specs.Hook, state []byte) *hookErr {
	ctx := context.Background()
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return &hookErr{err: fmt.Errorf("timeout must be positive, got %d", *h.Timeout)}
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	} else {
		cmd.Args = []string{h.Path}
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(state)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	// A hook gets the timer slack hako was started with.
	err := timerslack.Fork(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %ds and was killed", *h.Timeout)
	} else if errors.Is(err, exec.ErrNotFound) {
		err = fmt.Errorf("no such file or directory")
	}
	s := strings.TrimSpace(out.String())
	if len(s) > 512 {
		s = "…" + s[len(s)-512:]
	}
	return &hookErr{err: err, out: s}
}
