package unpack

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzApply feeds arbitrary bytes to Apply: it may fail, but must neither
// panic nor change anything beside the root filesystem.
func FuzzApply(f *testing.F) {
	for _, c := range hostileCorpus {
		if b, err := os.ReadFile(corpusPath(c.name)); err == nil {
			f.Add(b)
		}
	}
	f.Add(tarOf(f, file("a/b", "x"), symlink("l", "../.."), file("l/c", "y"), file("a/.wh..wh..opq", "")))
	f.Fuzz(func(t *testing.T, layer []byte) {
		top := t.TempDir()
		rootfs := filepath.Join(top, "rootfs")
		canary := filepath.Join(top, "canary")
		os.Mkdir(rootfs, 0o755)
		os.Mkdir(canary, 0o755)
		os.WriteFile(filepath.Join(canary, "sentinel"), []byte("host"), 0o644)
		before := snapshot(t, canary)
		Apply(context.Background(), rootfs, bytes.NewReader(layer), Options{MaxBytes: 1 << 20, MaxEntries: 1000})
		if got := snapshot(t, canary); got != before {
			t.Fatalf("ESCAPE: canary changed:\n%s", got)
		}
		if es, _ := os.ReadDir(top); len(es) != 2 {
			t.Fatalf("ESCAPE: %s holds %d entries", top, len(es))
		}
	})
}
