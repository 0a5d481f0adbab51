package helperbin

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "hako-x")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)

	t.Setenv("HAKO_X", exe)
	if p, err := Find("hako-x", "HAKO_X"); err != nil || p != exe {
		t.Errorf("from $HAKO_X: %q, %v", p, err)
	}
	for path, why := range map[string]string{plain: "is not executable", dir: "is a directory", filepath.Join(dir, "nope"): "does not exist"} {
		t.Setenv("HAKO_X", path)
		_, err := Find("hako-x", "HAKO_X")
		var nf *NotFound
		if !errors.As(err, &nf) || !strings.HasPrefix(err.Error(), "hako-x, but $HAKO_X="+path+" "+why) {
			t.Errorf("$HAKO_X=%s: %v", path, err)
		}
	}
	t.Setenv("HAKO_X", "")
	t.Setenv("PATH", dir)
	if p, err := Find("hako-x", "HAKO_X"); err != nil || p != exe {
		t.Errorf("from $PATH: %q, %v", p, err)
	}
	t.Setenv("PATH", "/nonexistent")
	_, err := Find("hako-x", "HAKO_X")
	if err == nil || !strings.HasPrefix(err.Error(), "hako-x, which was not found: $HAKO_X is not set") || !strings.Contains(err.Error(), "hint: build it with `make build`") {
		t.Errorf("nowhere: %v", err)
	}
}
