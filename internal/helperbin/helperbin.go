// Package helperbin finds hako's helper binaries (hako-image, hako-seccomp)
// the way git finds git-remote-https: a path given in the environment,
// else next to the running executable, else in $PATH. `make build`
// installs hako-image next to hako; hako-seccomp it also embeds in hako,
// which internal/seccomp tries before looking here.
//
// This package is a leaf: it imports only the standard library.
package helperbin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// NotFound says where Find looked. Its Error starts with the helper's
// name, so that callers say what it is for before it: "pull needs the
// image helper " + err.
type NotFound struct {
	Name string // the helper, e.g. "hako-seccomp"
	Env  string // the variable that names it, e.g. "HAKO_SECCOMP_BINARY"
	// EnvPath and EnvErr: $Env was set to EnvPath, which cannot run
	// (EnvErr says why: "does not exist", "is not executable").
	EnvPath string
	EnvErr  error
	// NextTo is the path next to the running executable that was tried.
	NextTo string
}

func (e *NotFound) Error() string {
	if e.EnvErr != nil {
		return fmt.Sprintf("%s, but $%s=%s %v — hint: point it at a built %s", e.Name, e.Env, e.EnvPath, e.EnvErr, e.Name)
	}
	return fmt.Sprintf("%[1]s, which was not found: $%[2]s is not set, there is no %[3]s, and no %[1]s in $PATH — "+
		"hint: build it with `make build`, which installs bin/%[1]s next to bin/hako (or set $%[2]s to its path)", e.Name, e.Env, e.NextTo)
}

// Find locates the helper name: $env if set (it must then be
// executable), else next to the running executable, else in $PATH. The
// error is a *NotFound.
func Find(name, env string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if err := CheckExecutable(p); err != nil {
			return "", &NotFound{Name: name, Env: env, EnvPath: p, EnvErr: err}
		}
		return p, nil
	}
	nextTo := "next to hako (os.Executable failed)"
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), name)
		if CheckExecutable(p) == nil {
			return p, nil
		}
		nextTo = p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", &NotFound{Name: name, Env: env, NextTo: nextTo}
}

// CheckExecutable says why p cannot be run, as a phrase ("does not
// exist"), or nil.
func CheckExecutable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return errors.New("does not exist")
	case err != nil:
		return fmt.Errorf("cannot be read: %w", err)
	case fi.IsDir():
		return errors.New("is a directory")
	case fi.Mode().Perm()&0o111 == 0:
		return errors.New("is not executable")
	}
	return nil
}
