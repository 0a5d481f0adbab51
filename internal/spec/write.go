package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Write writes s as indented JSON to path, replacing it atomically.
func Write(path string, s *specs.Spec) error {
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteNew writes s to path unless a file is already there (as `runc spec`).
func WriteNew(path string, s *specs.Spec) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: file exists; remove it first or write the spec into another --bundle", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return Write(path, s)
}
